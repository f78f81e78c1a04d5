import {
  JobConfirmation,
  MalformedResponseError,
  noDelayRetryPolicy,
  runnerInfo,
  silentLogger,
  TransportError,
} from '@runner-core/core';
import {
  aJobPayload,
  aRequestJobResult,
  FakeClock,
  runnerCredentials,
  ScriptedNetwork,
} from '@runner-core/core/testing';
import { jobPayloadToWire } from '@runner-core/core/wire';
import { describe, expect, it } from 'vitest';
import { EventRecorder } from '../src/logging/event-observers.js';
import { RunLoop } from '../src/runner/run-loop.js';
import { eventNames } from './support/jobs.js';
import { inMemoryScene, ScriptedExecutor } from './support/scene.js';

/** Time, on the fake clock, for loops to make progress without waiting on anything real. */
const SETTLE = 1;

describe('run --once against the in-memory fake GitLab', () => {
  it('confirms a two-phase job, runs it, ships the trace and reports success', async () => {
    const scene = inMemoryScene({ config: { probe: true } });
    const { id } = scene.gitlab.enqueueJob({ name: 'build' });
    const summary = await scene.clock.run(scene.loop({ once: true }).run());

    expect(summary).toMatchObject({ ended: 'once', exitCode: 0 });
    expect(summary.reports[0]?.outcome).toMatchObject({ kind: 'confirmed', mode: 'two-phase', strategy: 'state-put' });
    expect(scene.gitlab.job(id)).toMatchObject({ status: 'success', runnerManager: 's_0123456789ab' });
    expect(scene.gitlab.traceText(id)).toBe('hello from the test executor\n');
    expect(scene.gitlab.requestsFor(id).map((request) => `${request.operation} ${request.state ?? ''}`.trim())).toEqual(
      ['update-job pending', 'update-job running', 'patch-trace', 'update-job success'],
    );
    expect(eventNames(scene.recorder.events)).toEqual([
      'job.received',
      'keep-alive.sent',
      'keep-alive.answered',
      'confirm.attempt',
      'confirm.answered',
      'job.outcome',
      'job.finished',
    ]);
    expect(scene.recorder.of('job.finished')[0]).toMatchObject({ jobId: id, state: 'success' });
  });

  it('runs a legacy job after the touch, and a runner-status job over POST /runner_status', async () => {
    for (const profile of ['legacy', 'runner-status'] as const) {
      const scene = inMemoryScene({ profile });
      const { id } = scene.gitlab.enqueueJob();
      const summary = await scene.clock.run(scene.loop({ once: true }).run());
      expect(summary.reports[0]?.outcome).toMatchObject({
        kind: 'confirmed',
        strategy: profile === 'legacy' ? 'state-put' : 'runner-status',
      });
      expect(scene.gitlab.jobStatus(id)).toBe('success');
    }
  });

  it('reports a failed script with failure_reason and exit_code', async () => {
    const scene = inMemoryScene({
      executor: { result: { kind: 'failed', failureReason: 'script_failure', exitCode: 3 } },
    });
    const { id } = scene.gitlab.enqueueJob();
    await scene.clock.run(scene.loop({ once: true }).run());
    expect(scene.gitlab.job(id)).toMatchObject({ status: 'failed', failureReason: 'script_failure', exitCode: 3 });
    expect(scene.recorder.of('job.finished')[0]).toMatchObject({ state: 'failed', exitCode: 3 });
  });

  it('exits 0 without a job when none is queued', async () => {
    const scene = inMemoryScene();
    const summary = await scene.clock.run(scene.loop({ once: true }).run());
    expect(summary).toEqual({ reports: [], ended: 'once', exitCode: 0 });
    expect(scene.gitlab.requests().map((request) => request.operation)).toEqual(['request-job']);
  });

  it('exits 1 with a clear event when GitLab refuses the runner token (403)', async () => {
    const scene = inMemoryScene();
    const summary = await scene.clock.run(
      scene.loop({ once: true, credentials: runnerCredentials({ systemId: 's_0123456789ab' }) }).run(),
    );
    expect(summary).toMatchObject({ ended: 'unhealthy', exitCode: 1 });
    expect(scene.recorder.of('runner.unhealthy')[0]?.reason).toMatch(/refused the runner token \(403 Forbidden\)/);
  });

  it('never runs a job GitLab did not confirm, and sends no final update for it', async () => {
    const scene = inMemoryScene({ config: { keepAliveMs: 1_000 } });
    const { id } = scene.gitlab.enqueueJob();
    const running = scene.loop({
      once: true,
      prepare: async (pending) => {
        scene.gitlab.takeByOtherManager(pending.id);
        await scene.clock.sleep(10_000, pending.signal);
      },
    });
    const summary = await scene.clock.run(running.run());
    expect(summary.reports[0]?.outcome.kind).toBe('conflict');
    expect(scene.executor.jobs).toEqual([]);
    expect(scene.gitlab.requestsFor(id).filter((request) => request.state === 'failed')).toEqual([]);
  });

  it('declines a job whose preparation fails (legacy: one PUT failed/runner_system_failure)', async () => {
    const scene = inMemoryScene({ profile: 'legacy' });
    const { id } = scene.gitlab.enqueueJob();
    const summary = await scene.clock.run(
      scene
        .loop({
          once: true,
          prepare: () => Promise.reject(new Error('no VM available')),
        })
        .run(),
    );
    expect(summary.reports[0]?.outcome).toMatchObject({ kind: 'declined', detail: 'preparation failed' });
    expect(scene.executor.jobs).toEqual([]);
    expect(scene.gitlab.job(id)).toMatchObject({ status: 'failed', failureReason: 'runner_system_failure' });
  });

  it('releases an invalid payload and exits 1', async () => {
    const scene = inMemoryScene({ profile: 'legacy' });
    const { id } = scene.gitlab.enqueueJob();
    scene.gitlab.inject('request-job', {
      status: 201,
      headers: { 'Content-Type': 'application/json' },
      body: { ...jobPayloadToWire(scene.gitlab.payload(id)), variables: 'not a list' },
    });
    const summary = await scene.clock.run(scene.loop({ once: true }).run());
    expect(summary).toMatchObject({ exitCode: 1, reports: [{ outcome: { kind: 'invalid' } }] });
    expect(scene.recorder.of('job.released')).toHaveLength(1);
  });
});

describe('running jobs', () => {
  it('aborts the executor when GitLab says canceling, and reports failed/job_canceled once', async () => {
    const scene = inMemoryScene({ profile: 'legacy', executor: { durationMs: 60_000 } });
    const { id } = scene.gitlab.enqueueJob();
    const run = scene.loop({ once: true }).run();
    await scene.clock.advance(SETTLE);
    expect(scene.executor.running).toBe(1);
    scene.gitlab.cancelJob(id);
    const summary = await scene.clock.run(run);
    expect(summary.reports[0]?.execution).toMatchObject({
      stopped: 'canceled',
      result: { kind: 'failed', failureReason: 'job_canceled' },
      finalUpdate: { kind: 'reported' },
    });
    expect(scene.executor.aborted).toBe(1);
    const finals = scene.gitlab.requestsFor(id).filter((request) => request.state === 'failed');
    expect(finals.map((request) => (request.body as { failure_reason?: string }).failure_reason)).toEqual([
      'job_canceled',
    ]);
    expect(scene.gitlab.jobStatus(id)).toBe('canceled');
  });

  it('stops a job GitLab dropped (403 on the trace) and reports nothing', async () => {
    const scene = inMemoryScene({ executor: { durationMs: 60_000 } });
    const { id } = scene.gitlab.enqueueJob();
    scene.gitlab.inject('patch-trace', { status: 403 }, { jobId: id });
    const summary = await scene.clock.run(scene.loop({ once: true }).run());
    expect(summary.reports[0]?.execution).toMatchObject({ stopped: 'gone', finalUpdate: { kind: 'gone' } });
    expect(
      scene.gitlab.requestsFor(id).filter((request) => request.state === 'success' || request.state === 'failed'),
    ).toEqual([]);
    expect(scene.recorder.of('job.finished')).toEqual([]);
  });

  it('repeats the final update after 202, waiting the interval GitLab asked for', async () => {
    const scene = inMemoryScene({ executor: { durationMs: 2_000 } });
    const { id } = scene.gitlab.enqueueJob();
    const run = scene.loop({ once: true }).run();
    await scene.clock.advance(SETTLE);
    expect(scene.executor.running).toBe(1);
    // Scripted once the job is confirmed, so the 202 answers the final update.
    scene.gitlab.inject(
      'update-job',
      { status: 202, headers: { 'X-GitLab-Trace-Update-Interval': '4' } },
      { jobId: id },
    );
    await scene.clock.run(run);
    const finals = scene.gitlab.requestsFor(id).filter((request) => request.state === 'success');
    expect(finals.map((request) => request.answer)).toMatchObject([{ status: 202 }, { status: 200 }]);
    expect((finals[1]?.at ?? 0) - (finals[0]?.at ?? 0)).toBe(4_000);
    expect(scene.gitlab.jobStatus(id)).toBe('success');
  });

  it('runs at most --concurrency jobs at once, and asks again at once after a job', async () => {
    const scene = inMemoryScene({ executor: { durationMs: 5_000 } });
    const ids = [1, 2, 3, 4, 5].map(() => scene.gitlab.enqueueJob().id);
    const loop = scene.loop({ concurrency: 2, checkIntervalMs: 60_000 });
    const run = loop.run();
    await scene.clock.advance(SETTLE);
    expect(scene.executor.running).toBe(2);
    await scene.clock.advance(20_000);
    expect(ids.map((id) => scene.gitlab.jobStatus(id))).toEqual(Array(5).fill('success'));
    loop.stop();
    const summary = await scene.clock.run(run);
    expect(scene.executor.maxRunning).toBe(2);
    expect(summary.reports).toHaveLength(5);
    expect(summary.ended).toBe('stopped');
  });
});

describe('shutdown', () => {
  it('first signal: no new job requests; the job in flight finishes and is reported', async () => {
    const scene = inMemoryScene({ executor: { durationMs: 10_000 } });
    const first = scene.gitlab.enqueueJob().id;
    const second = scene.gitlab.enqueueJob().id;
    const loop = scene.loop({ concurrency: 1 });
    const run = loop.run();
    await scene.clock.advance(SETTLE);
    loop.stop();
    const summary = await scene.clock.run(run);
    expect(summary.ended).toBe('stopped');
    expect(scene.gitlab.jobStatus(first)).toBe('success');
    expect(scene.gitlab.jobStatus(second)).toBe('pending');
    expect(scene.gitlab.requests('request-job')).toHaveLength(1);
  });

  it('second signal: pending jobs are declined, running jobs failed as runner_system_failure', async () => {
    const scene = inMemoryScene({ profile: 'legacy', executor: { durationMs: 60_000 } });
    const running = scene.gitlab.enqueueJob().id;
    const preparing = scene.gitlab.enqueueJob().id;
    const loop = scene.loop({
      concurrency: 2,
      prepare: async (pending) => {
        if (pending.id === preparing) await scene.clock.sleep(60_000, pending.signal);
      },
    });
    const run = loop.run();
    await scene.clock.advance(SETTLE);
    expect(scene.executor.running).toBe(1);
    loop.stop();
    loop.abort();
    const summary = await scene.clock.run(run);
    const byJob = new Map(summary.reports.map((report) => [report.jobId, report]));
    expect(byJob.get(running)?.execution).toMatchObject({
      stopped: 'shutdown',
      result: { kind: 'failed', failureReason: 'runner_system_failure' },
      finalUpdate: { kind: 'reported' },
    });
    expect(byJob.get(preparing)?.outcome.kind).toBe('declined');
    expect(scene.gitlab.job(running)).toMatchObject({ status: 'failed', failureReason: 'runner_system_failure' });
    // A legacy job may already run server-side: the decline releases it.
    expect(scene.gitlab.job(preparing)).toMatchObject({ status: 'failed', failureReason: 'runner_system_failure' });
  });
});

describe('job requests (not idempotent)', () => {
  function scripted() {
    const clock = new FakeClock();
    const network = new ScriptedNetwork(() => clock.now());
    const recorder = new EventRecorder();
    const executor = new ScriptedExecutor(clock);
    const confirmation = new JobConfirmation({ network, clock, observer: recorder });
    const loop = (options: { once?: boolean; maxUnhealthyBackoffMs?: number } = {}) =>
      new RunLoop(
        {
          network,
          clock,
          confirmation,
          executor,
          observer: recorder,
          logger: silentLogger,
        },
        {
          credentials: runnerCredentials(),
          info: runnerInfo(),
          checkIntervalMs: 3_000,
          retry: noDelayRetryPolicy,
          random: () => 0,
          ...options,
        },
      );
    return { clock, network, recorder, loop };
  }

  it('retries only a request that never left (sent: false)', async () => {
    const { clock, network, loop } = scripted();
    network.onRequestJob(new TransportError('connection refused', false), new TransportError('ECONNREFUSED', false));
    const summary = await clock.run(loop({ once: true }).run());
    expect(network.calls.filter((call) => call.method === 'requestJob')).toHaveLength(3);
    expect(summary).toMatchObject({ exitCode: 0, ended: 'once' });
  });

  it('never repeats a request that may have reached GitLab (sent: true)', async () => {
    const { clock, network, loop } = scripted();
    network.onRequestJob(new TransportError('socket hang up', true));
    const summary = await clock.run(loop({ once: true }).run());
    expect(network.calls.filter((call) => call.method === 'requestJob')).toHaveLength(1);
    expect(summary.exitCode).toBe(1);
  });

  it('retries 429 and 503 with the waits GitLab asked for', async () => {
    const { clock, network, loop } = scripted();
    const start = clock.now();
    network.onRequestJob(
      aRequestJobResult('unavailable', { wait: { retryAfterAt: start + 2_000 } }),
      aRequestJobResult('rate-limited', { wait: { rateLimitResetAt: start + 5_000 } }),
    );
    await clock.run(loop({ once: true }).run());
    const times = network.calls.filter((call) => call.method === 'requestJob').map((call) => call.at - start);
    expect(times).toEqual([0, 2_000, 5_000]);
  });

  it('gives up after 5 tries and waits the check interval', async () => {
    const { clock, network, loop } = scripted();
    network.onRequestJob(...Array.from({ length: 5 }, () => aRequestJobResult('unavailable')));
    const summary = await clock.run(loop({ once: true }).run());
    expect(network.calls).toHaveLength(5);
    expect(summary.exitCode).toBe(1);
  });

  it('backs off on 403, doubling from the check interval up to 5 minutes, and says when it is healthy again', async () => {
    const { clock, network, recorder, loop } = scripted();
    network.onRequestJob(...Array.from({ length: 9 }, () => aRequestJobResult('forbidden')));
    const runner = loop();
    const run = runner.run();
    await clock.advance(30 * 60_000);
    runner.stop();
    await clock.run(run);
    expect(recorder.of('runner.unhealthy').map((event) => event.backoffMs)).toEqual([
      3_000, 6_000, 12_000, 24_000, 48_000, 96_000, 192_000, 300_000, 300_000,
    ]);
    expect(recorder.of('runner.healthy')).toHaveLength(1);
  });

  it('treats an unusable payload as invalid without retrying, releasing the job', async () => {
    const { clock, network, loop, recorder } = scripted();
    const payload = aJobPayload();
    network.onRequestJob(new MalformedResponseError('job payload field variables: expected a list', payload));
    const summary = await clock.run(loop({ once: true }).run());
    expect(summary).toMatchObject({ exitCode: 1, reports: [{ jobId: payload.id, outcome: { kind: 'invalid' } }] });
    expect(network.calls.map((call) => call.method)).toEqual(['requestJob', 'updateJob']);
    expect(network.jobCalls(payload.id)).toEqual(['PUT failed']);
    expect(recorder.of('job.outcome')).toHaveLength(1);
  });
});
