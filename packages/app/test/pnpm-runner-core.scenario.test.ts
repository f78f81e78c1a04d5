import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, utimesSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { FakeGitLab, FakeGitLabServer } from '@runner-core/adapter-fake';
import { afterEach, describe, expect, it } from 'vitest';
import { eventually } from './support/jobs.js';

// `pnpm runner-core …` at the repository root, as the README tells a newcomer to type it: pnpm, `.pnpmfile.cjs`
// and `scripts/runner-core.mjs` included. What reaches the terminal must be the CLI's alone.

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
const buildStamp = join(repoRoot, 'node_modules/.cache/runner-core/last-build');
const buildNotice = 'runner-core: building (tsc -b packages/app)';
const TOKEN = 'glrt-pnpmScenarioFakeTok3n';

interface PnpmRun {
  readonly child: ChildProcess;
  readonly stdout: () => string;
  readonly stderr: () => string;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

const running = new Set<PnpmRun>();

/** Spawns `pnpm runner-core ...args` at the repository root, in a process group of its own (as a terminal would). */
function pnpmRunnerCore(args: readonly string[]): PnpmRun {
  const child = spawn('pnpm', ['runner-core', ...args], {
    cwd: repoRoot,
    detached: true,
    env: {
      PATH: process.env.PATH ?? '/usr/bin:/bin',
      HOME: process.env.HOME ?? '/tmp',
      XDG_STATE_HOME: mkdtempSync(join(tmpdir(), 'runner-core-pnpm-state-')),
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
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolveExit) => {
    child.once('close', (code, signal) => {
      running.delete(run);
      resolveExit({ code, signal });
    });
  });
  const run: PnpmRun = { child, stdout: () => out, stderr: () => err, exited };
  running.add(run);
  return run;
}

async function toEnd(args: readonly string[]) {
  const run = pnpmRunnerCore(args);
  const { code, signal } = await run.exited;
  return { code, signal, stdout: run.stdout(), stderr: run.stderr() };
}

let server: FakeGitLabServer | undefined;
afterEach(async () => {
  // A test that failed half-way leaves no process behind: two SIGTERMs, which pnpm forwards to the CLI (the second
  // aborts its jobs), then SIGKILL to pnpm's process group.
  await Promise.all(
    [...running].map(async (run) => {
      run.child.kill('SIGTERM');
      run.child.kill('SIGTERM');
      const ended = await Promise.race([run.exited.then(() => true), sleep(5_000).then(() => false)]);
      if (!ended && run.child.pid !== undefined) process.kill(-run.child.pid, 'SIGKILL');
    }),
  );
  running.clear();
  await server?.close();
  server = undefined;
});

async function serve() {
  const gitlab = new FakeGitLab({ profile: 'two-phase', runnerToken: TOKEN });
  server = await FakeGitLabServer.start({ gitlab });
  return { gitlab, url: server.url };
}

describe('pnpm runner-core (spawned through pnpm at the repository root)', () => {
  it('with --json, stdout is NDJSON only: no pnpm banner, no echoed command line, no token anywhere', async () => {
    const { gitlab, url } = await serve();
    const { id } = gitlab.enqueueJob({ script: ['echo "through pnpm"'] });
    const result = await toEnd(['run', '--once', '--json', '--url', url, '--token', TOKEN, '--check-interval', '50ms']);
    expect(result.code).toBe(0);
    expect(gitlab.jobStatus(id)).toBe('success');
    const lines = result.stdout.split('\n');
    expect(lines.pop()).toBe('');
    expect(lines.length).toBeGreaterThan(0);
    for (const line of lines) expect(() => JSON.parse(line), line).not.toThrow();
    expect(lines.map((line) => (JSON.parse(line) as { event: string }).event)).toContain('job.finished');
    expect(result.stdout).not.toContain(TOKEN);
    expect(result.stderr).not.toContain(TOKEN);
    expect(result.stdout).not.toContain('runner-core-monorepo');
  }, 60_000);

  it("exits with the CLI's own code: 2 and its one line for an unknown flag, nothing from pnpm", async () => {
    const result = await toEnd(['run', '--bogus', '--token', TOKEN]);
    expect(result.code).toBe(2);
    expect(result.stdout).toBe('');
    const lines = result.stderr.split('\n').filter((line) => line !== '' && !line.startsWith(buildNotice));
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^runner-core: --bogus: unknown flag/);
    expect(result.stderr).not.toContain('ELIFECYCLE');
    expect(result.stderr).not.toContain(TOKEN);
  }, 60_000);

  it('builds only when the build is older than the sources: the call after a build runs no tsc', async () => {
    // An old stamp stands for "sources changed since the last build" without touching anyone's source file.
    const first = await toEnd(['--version']);
    expect(first.code).toBe(0);
    utimesSync(buildStamp, new Date(0), new Date(0));
    const rebuilt = await toEnd(['--version']);
    expect(rebuilt).toMatchObject({ code: 0, stdout: first.stdout });
    expect(rebuilt.stderr).toContain(buildNotice);
    const next = await toEnd(['--version']);
    expect(next).toEqual({ code: 0, signal: null, stdout: first.stdout, stderr: '' });
    expect(next.stdout).toMatch(/^runner-core \d+\.\d+\.\d+\n$/);
  }, 120_000);

  it.each([
    [
      'Ctrl-C (SIGINT to the whole process group, as a terminal sends it)',
      (run: PnpmRun) => process.kill(-run.child.pid!, 'SIGINT'),
    ],
    ['SIGTERM to pnpm alone', (run: PnpmRun) => run.child.kill('SIGTERM')],
  ])(
    "%s reaches the CLI once; the job finishes and the exit code is the CLI's",
    async (_what, signal) => {
      const { gitlab, url } = await serve();
      const { id } = gitlab.enqueueJob({ script: ['sleep 1', 'echo "after the signal"'] });
      const run = pnpmRunnerCore(['run', '--json', '--url', url, '--token', TOKEN, '--check-interval', '50ms']);
      await eventually(() => gitlab.jobStatus(id) === 'running', 30_000, 'the job to run');
      signal(run);
      const { code, signal: killedBy } = await run.exited;
      // One signal stops polling and lets the job finish; a second would abort it (and pnpm itself would exit 130).
      expect({ code, killedBy }, run.stderr()).toEqual({ code: 0, killedBy: null });
      expect(gitlab.jobStatus(id), gitlab.traceText(id)).toBe('success');
      expect(run.stderr().match(/no new jobs; jobs in flight finish/g)).toHaveLength(1);
      expect(run.stderr()).not.toContain('aborting jobs in flight');
    },
    60_000,
  );
});
