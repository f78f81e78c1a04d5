import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FakeGitLab, InMemoryNetwork } from '@runner-core/adapter-fake';
import {
  type ConfirmedJob,
  type ExecutionContext,
  type Executor,
  JobConfirmation,
  noDelayRetryPolicy,
  nullObserver,
  RunLoop,
  runnerInfo,
  Secret,
  silentLogger,
  systemClock,
} from '@runner-core/core';
import { FakeClock, runnerCredentials } from '@runner-core/core/testing';
import { describe, expect, it } from 'vitest';
import { ShellExecutor } from '../src/executors/shell-executor.js';
import { eventually } from './support/jobs.js';

/*
 * A cancel clicked in GitLab, end to end with a real bash (docs/gitlab-protocol.md §6.5): the runner learns of it at
 * the next trace tick, stops the job's whole process tree within the grace period, runs the after_script with
 * CI_JOB_STATUS=canceled, and reports the final state. The runner's time is a fake clock, moved by the test; only
 * the job's processes run in real time, and the clock waits for them while they wind down.
 */

/** Whether a process still runs: a zombie (killed, not yet reaped by whoever adopted it) does not. */
const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  const stat = existsSync(`/proc/${pid}/stat`) ? readFileSync(`/proc/${pid}/stat`, 'utf8') : '';
  return !/^\d+ \(.*\) Z/.test(stat);
};

describe('a job canceled in GitLab while the shell runs it', () => {
  it('is stopped, process tree and all, then its after_script runs and the final state goes out', {
    timeout: 30_000,
  }, async () => {
    const clock = new FakeClock();
    const marks = mkdtempSync(join(tmpdir(), 'runner-core-cancel-'));
    // Someone watches the job: GitLab asks for trace updates every 3 s.
    const gitlab = new FakeGitLab({ profile: 'two-phase', clock, traceUpdateIntervalSeconds: 3 });
    const { id } = gitlab.enqueueJob({
      script: [`echo $$ > ${marks}/shell`, `sleep 300 & echo $! > ${marks}/child`, 'echo started', 'wait'],
      afterScript: ['echo "after_script status=$CI_JOB_STATUS"'],
    });
    const network = new InMemoryNetwork({ gitlab, clock });
    // NOTE: the executor's own timers (kill grace, after_script bound) run on real time, the runner's on the fake one.
    const shell = new ShellExecutor({ killGraceMs: 2_000, clock: systemClock });
    let stopping = false;
    let running = false;
    const executor: Executor = {
      async execute(job: ConfirmedJob, context: ExecutionContext) {
        running = true;
        context.signal.addEventListener('abort', () => {
          stopping = true;
        });
        try {
          return await shell.execute(job, context);
        } finally {
          running = false;
        }
      },
    };
    // Once the runner stops the job, the fake clock waits while the job's processes wind down.
    clock.holdWhile(() => stopping && running);
    const info = runnerInfo();
    const loop = new RunLoop(
      {
        network,
        clock,
        confirmation: new JobConfirmation({ network, clock }, { info, retry: noDelayRetryPolicy }),
        executor,
        observer: nullObserver,
        logger: silentLogger,
      },
      {
        credentials: runnerCredentials({ token: new Secret(gitlab.runnerToken) }),
        info,
        once: true,
        retry: noDelayRetryPolicy,
        random: () => 0.5,
      },
    );
    const run = loop.run();
    // Fake time for the job request and the confirmation; then the job's bash starts in real time.
    for (let step = 0; step < 100 && !running; step++) await clock.advance(100);
    expect(running).toBe(true);
    await eventually(() => existsSync(join(marks, 'child')), 10_000, 'the job to start its child process');
    const shellPid = Number(readFileSync(join(marks, 'shell'), 'utf8'));
    const childPid = Number(readFileSync(join(marks, 'child'), 'utf8'));
    expect(alive(childPid)).toBe(true);

    gitlab.cancelJob(id);
    // The next trace tick (3 s) carries the job's output and learns of the cancel from `Job-Status: canceling`.
    await clock.advance(3_000);
    expect(running).toBe(false);
    expect(alive(shellPid)).toBe(false);
    // The whole process group got the signal: the background child goes too, within the grace period.
    await eventually(() => !alive(childPid), 2_000, 'the background child to stop');

    const summary = await clock.run(run);
    expect(summary.exitCode).toBe(0);
    expect(summary.reports[0]?.execution).toMatchObject({ stopped: 'canceled', finalUpdate: { kind: 'reported' } });
    expect(gitlab.job(id).status).toBe('canceled');
    const trace = gitlab.traceText(id);
    expect(trace).toContain('started\n');
    expect(trace).toContain('after_script status=canceled\n');
  });
});
