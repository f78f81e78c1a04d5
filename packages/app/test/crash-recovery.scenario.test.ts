import { mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FakeGitLab, FakeGitLabServer } from '@runner-core/adapter-fake';
import { RESTART_NOTICE } from '@runner-core/core';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { buildCli, runToEnd, spawnCli } from './support/cli-process.js';
import { eventually } from './support/jobs.js';

/*
 * Durability with a real kill: the spawned `runner-core run` is killed with SIGKILL (no cleanup, no flush) at a step
 * of a job's life, then started again on the same --state-dir. GitLab (the fake, in this process) must end up with
 * the job's result exactly once (docs/design.md §2b, "Durable state").
 */

beforeAll(() => buildCli(), 180_000);

let server: FakeGitLabServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

async function scene() {
  const gitlab = new FakeGitLab({ profile: 'two-phase' });
  server = await FakeGitLabServer.start({ gitlab });
  const stateDir = mkdtempSync(join(tmpdir(), 'runner-core-crash-state-'));
  const args = ['run', '--once', '--url', server.url, '--state-dir', stateDir, '--check-interval', '50ms'];
  const env = { RUNNER_CORE_TOKEN: gitlab.runnerToken };
  const finals = (id: number) =>
    gitlab.history(id).filter((change) => change.status === 'success' || change.status === 'failed');
  return { gitlab, args, env, finals };
}

/** Kills the runner the hard way, as the OOM killer or a power cut would. */
async function kill(cli: ReturnType<typeof spawnCli>): Promise<void> {
  cli.child.kill('SIGKILL');
  await cli.exited;
}

describe('a runner killed with SIGKILL, then started again on the same state directory', () => {
  it('while the job runs: the job is reported failed (runner_system_failure) with a line saying why', async () => {
    const { gitlab, args, env, finals } = await scene();
    const { id } = gitlab.enqueueJob({ script: ['echo "started"', 'sleep 60'] });
    const first = spawnCli(args, env);
    await eventually(() => gitlab.traceText(id).includes('started'), 15_000, 'the job to start');
    await kill(first);
    expect(gitlab.jobStatus(id)).toBe('running');

    const restarted = await runToEnd(args, env);
    expect(restarted.code).toBe(0);
    expect(gitlab.job(id)).toMatchObject({ status: 'failed', failureReason: 'runner_system_failure' });
    expect(gitlab.traceText(id)).toContain('started');
    expect(gitlab.traceText(id).endsWith(RESTART_NOTICE)).toBe(true);
    expect(finals(id)).toHaveLength(1);
    // The build folder the killed runner left behind is gone.
    expect(readdirSync(tmpdir()).filter((name) => name.startsWith(`runner-core-job-${id}-`))).toEqual([]);
  });

  it('after keeping the final state, before GitLab processed it: the state is delivered once', async () => {
    const { gitlab, args, env, finals } = await scene();
    const { id } = gitlab.enqueueJob({ script: ['echo "the whole log"'] });
    const first = spawnCli(args, env);
    await eventually(() => gitlab.jobStatus(id) === 'running', 15_000, 'the job to be confirmed');
    // The final update reaches the fake but is never processed nor answered.
    gitlab.inject('update-job', { fault: 'timeout' }, { jobId: id, times: 100 });
    await eventually(
      () => gitlab.requestsFor(id).some((request) => request.state === 'success'),
      15_000,
      'the final update to go out',
    );
    await kill(first);
    expect(gitlab.jobStatus(id)).toBe('running');

    gitlab.clearInjections();
    const restarted = await runToEnd(args, env);
    expect(restarted.code).toBe(0);
    expect(gitlab.jobStatus(id)).toBe('success');
    expect(gitlab.traceText(id)).toContain('the whole log');
    expect(finals(id)).toHaveLength(1);
  });

  it('after GitLab took the final state, before the entry was removed: GitLab keeps one result', async () => {
    const { gitlab, args, env, finals } = await scene();
    const { id } = gitlab.enqueueJob({ script: ['echo "done"', 'exit 4'] });
    const first = spawnCli(args, env);
    await eventually(() => gitlab.jobStatus(id) === 'running', 15_000, 'the job to be confirmed');
    // GitLab processes the final update, but its answer is lost: the runner never learns it landed.
    gitlab.inject('update-job', { fault: 'timeout', afterModel: true }, { jobId: id });
    await eventually(() => gitlab.jobStatus(id) === 'failed', 15_000, 'GitLab to take the final state');
    await kill(first);

    const restarted = await runToEnd(args, env);
    expect(restarted.code).toBe(0);
    expect(gitlab.job(id)).toMatchObject({ status: 'failed', failureReason: 'script_failure', exitCode: 4 });
    expect(finals(id)).toHaveLength(1);
    // The resend met a finished job (403: gone) and left the outbox, so a third start sends nothing about it.
    const afterRestart = gitlab.requestsFor(id).length;
    expect(gitlab.requestsFor(id).at(-1)?.answer).toMatchObject({ kind: 'status', status: 403 });
    expect((await runToEnd(args, env)).code).toBe(0);
    expect(gitlab.requestsFor(id)).toHaveLength(afterRestart);
  });
});
