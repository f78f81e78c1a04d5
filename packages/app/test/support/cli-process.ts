import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../../../..');

/** The built bin, as `pnpm runner-core` runs it. */
export const MAIN = resolve(repoRoot, 'packages/app/dist/src/main.js');

/** Builds the app (and what it references) with `tsc -b`, once per test file. */
export function buildCli(): void {
  const tsc = resolve(repoRoot, 'node_modules/.bin/tsc');
  const build = spawnSync(tsc, ['-b', 'packages/app'], { cwd: repoRoot, encoding: 'utf8' });
  if (!existsSync(MAIN)) {
    throw new Error(`tsc -b packages/app did not produce ${MAIN}:\n${build.stdout}${build.stderr}`);
  }
}

/** A spawned `runner-core` process with its output collected. */
export interface CliProcess {
  readonly child: ChildProcess;
  /** Everything printed so far. */
  readonly stdout: () => string;
  readonly stderr: () => string;
  /** Resolves with the exit code (a signal that killed it counts as 128 + its number). */
  readonly exited: Promise<number>;
}

/**
 * Spawns `node packages/app/dist/src/main.js ...args` with a minimal environment (no `RUNNER_CORE_` variable of the
 * test runner's own leaks in) plus `env`.
 */
export function spawnCli(args: readonly string[], env: Record<string, string> = {}): CliProcess {
  const child = spawn(process.execPath, [MAIN, ...args], {
    env: {
      PATH: process.env.PATH ?? '/usr/bin:/bin',
      HOME: process.env.HOME ?? '/tmp',
      // NOTE: each process gets a state directory of its own, so a test never reads another's outbox (or the home's).
      XDG_STATE_HOME: mkdtempSync(join(tmpdir(), 'runner-core-cli-state-')),
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout?.on('data', (chunk: Buffer) => {
    out += chunk.toString('utf8');
  });
  child.stderr?.on('data', (chunk: Buffer) => {
    err += chunk.toString('utf8');
  });
  const exited = new Promise<number>((resolveExit) => {
    child.once('close', (code, signal) => resolveExit(code ?? (signal === null ? 1 : 128 + 2)));
  });
  return { child, stdout: () => out, stderr: () => err, exited };
}

/** Runs the CLI to its end. */
export async function runToEnd(args: readonly string[], env: Record<string, string> = {}) {
  const cli = spawnCli(args, env);
  const code = await cli.exited;
  return { code, stdout: cli.stdout(), stderr: cli.stderr() };
}
