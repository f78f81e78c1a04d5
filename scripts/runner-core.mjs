#!/usr/bin/env node
// `pnpm runner-core …`: the runner-core command line of this checkout, built first only when it needs to be.
//
// The build runs (`tsc -b packages/app`, which builds what the app references) only when an output the CLI needs is
// missing, or a source it is built from (packages/{core,adapter-fake,adapter-http,app}/src, their package.json and
// tsconfig.json, tsconfig.base.json) changed since the last build this launcher ran. tsc's output goes to stderr, so
// stdout stays the CLI's own (pure NDJSON with `--json`). A failed build runs nothing and exits 1.
//
// A signal during the build stops tsc and then this process, by that signal. The CLI then runs in this very process
// (no child in between): signals reach it directly, and the exit code is its own. `.pnpmfile.cjs` is what makes
// `pnpm runner-core …` start this file without pnpm's banner or exit code.
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { constants } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const packages = ['core', 'adapter-fake', 'adapter-http', 'app'];
const main = join(root, 'packages/app/dist/src/main.js');
const outputs = [main, ...packages.slice(0, 3).map((name) => join(root, 'packages', name, 'dist/src/index.js'))];
// NOTE: a stamp of the launcher's own rather than tsc's .tsbuildinfo: tsc -b writes its build info even when the build
// fails, and a failed build must be retried on the next call, not taken for a good one.
const stamp = join(root, 'node_modules/.cache/runner-core/last-build');
const SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGQUIT'];

/** The newest modification time under `path` (files and folders: a deleted file changes its folder's time). */
function newest(path) {
  let stats;
  try {
    stats = statSync(path);
  } catch {
    return 0;
  }
  let time = stats.mtimeMs;
  if (stats.isDirectory()) {
    for (const entry of readdirSync(path)) time = Math.max(time, newest(join(path, entry)));
  }
  return time;
}

/** `tsc -b packages/app`, its output on stderr; a signal this process gets meanwhile goes to tsc and is reported. */
function runTsc(tsc) {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [tsc, '-b', 'packages/app'], { cwd: root, stdio: ['ignore', 2, 2] });
    let stoppedBy;
    const forward = (signal) => {
      stoppedBy = signal;
      child.kill(signal);
    };
    for (const signal of SIGNALS) process.on(signal, forward);
    const done = (result) => {
      for (const signal of SIGNALS) process.off(signal, forward);
      resolve({ ...result, stoppedBy });
    };
    child.once('error', (error) => done({ error, status: null, signal: null }));
    child.once('exit', (status, signal) => done({ status, signal }));
  });
}

function buildIsCurrent() {
  if (!outputs.every((path) => existsSync(path))) return false;
  const built = newest(stamp);
  if (built === 0) return false;
  const inputs = [
    join(root, 'tsconfig.base.json'),
    ...packages.flatMap((name) => ['src', 'package.json', 'tsconfig.json'].map((p) => join(root, 'packages', name, p))),
  ];
  return inputs.every((path) => newest(path) <= built);
}

if (!buildIsCurrent()) {
  const tsc = join(root, 'node_modules/typescript/bin/tsc');
  if (!existsSync(tsc)) {
    process.stderr.write('runner-core: TypeScript is not installed here; run `pnpm install` first\n');
    process.exit(1);
  }
  process.stderr.write('runner-core: building (tsc -b packages/app): the build is missing or older than the sources\n');
  // NOTE: the time the build started, not ended: a source saved while tsc runs is newer than the stamp.
  const started = new Date();
  const build = await runTsc(tsc);
  if (build.stoppedBy !== undefined) {
    process.kill(process.pid, build.stoppedBy);
    process.exit(128 + (constants.signals[build.stoppedBy] ?? 0));
  }
  if (build.status !== 0 || !outputs.every((path) => existsSync(path))) {
    const how = build.error?.message ?? (build.signal ? `signal ${build.signal}` : `exit code ${build.status}`);
    process.stderr.write(`runner-core: the build failed (${how}); nothing was run\n`);
    process.exit(1);
  }
  mkdirSync(dirname(stamp), { recursive: true });
  writeFileSync(stamp, `${started.toISOString()}\n`);
  utimesSync(stamp, started, started);
}

// The bin reads process.argv.slice(2): this file's own arguments, exactly as given.
await import(pathToFileURL(main).href);
