import { describe, expect, it } from 'vitest';
import { JobConfirmation } from '../job-confirmation/job-confirmation.js';
import { silentLogger } from '../logger/logger.port.js';
import { MalformedResponseError, TransportError } from '../network/network.errors.js';
import { runnerInfo } from '../network/runner-info.js';
import { EventRecorder } from '../observer/event-recorder.js';
import { noDelayRetryPolicy } from '../retry/retry-policy.js';
import { aJobPayload, aRequestJobResult, runnerCredentials } from '../testing/builders.js';
import { FakeClock } from '../testing/fake-clock.js';
import { ScriptedExecutor } from '../testing/scripted-executor.js';
import { ScriptedNetwork } from '../testing/scripted-network.js';
import { JobSlots } from './job-slots.js';
import { RunLoop, type RunLoopOptions } from './run-loop.js';

/*
 * The run loop's own rules, against a scripted network. The whole lifecycle against the fake GitLab, over both
 * adapters, is the lifecycle contract suite (testing/lifecycle.contract.ts).
 */

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
    return { clock, network, recorder, loop, confirmation };
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

  it('the first signal aborts a job request in flight (a long poll) at once', async () => {
    const { clock, network, loop } = scripted();
    network.onRequestJob(
      (call) =>
        new Promise((_resolve, reject) => {
          const signal = call.method === 'requestJob' ? call.input.signal : undefined;
          signal?.addEventListener('abort', () => reject(new TransportError('aborted', true)), { once: true });
        }),
    );
    const runner = loop();
    const run = runner.run();
    await clock.advance(1);
    runner.stop();
    const summary = await clock.run(run);
    expect(summary.ended).toBe('stopped');
    expect(network.calls.filter((call) => call.method === 'requestJob')).toHaveLength(1);
  });

  it('job requests pass the server gate: a Retry-After from any call to the server holds them too', async () => {
    const { clock, network, loop, confirmation } = scripted();
    const start = clock.now();
    // Another call got a 429 with Retry-After: 10 and settled.
    const other = Symbol('another call');
    confirmation.gate.failed(other, start + 10_000);
    confirmation.gate.leave(other);
    await clock.run(loop({ once: true }).run());
    expect(network.calls.filter((call) => call.method === 'requestJob').map((call) => call.at - start)).toEqual([
      10_000,
    ]);
  });
});

describe('limits: run-single’s --max-builds and --wait-timeout, and a concurrent limit shared by several runners', () => {
  function setup() {
    const clock = new FakeClock();
    const network = new ScriptedNetwork(() => clock.now());
    const loop = (options: Partial<RunLoopOptions> = {}, executor = new ScriptedExecutor(clock)) =>
      new RunLoop(
        {
          network,
          clock,
          confirmation: new JobConfirmation({ network, clock }),
          executor,
          observer: new EventRecorder(),
          logger: silentLogger,
        },
        {
          credentials: runnerCredentials(),
          info: runnerInfo(),
          checkIntervalMs: 3_000,
          retry: noDelayRetryPolicy,
          ...options,
        },
      );
    return { clock, network, loop };
  }
  const jobs = (count: number) => Array.from({ length: count }, () => aRequestJobResult('job', { job: aJobPayload() }));

  it('ends after maxJobs jobs, waiting for them, without asking for another', async () => {
    const { clock, network, loop } = setup();
    network.onRequestJob(...jobs(3));
    const summary = await clock.run(loop({ maxJobs: 2, concurrency: 2 }).run());
    expect(summary).toMatchObject({ ended: 'max-jobs', exitCode: 0 });
    expect(summary.reports).toHaveLength(2);
    expect(network.calls.filter((call) => call.method === 'requestJob')).toHaveLength(2);
  });

  it('ends when no job came within waitTimeoutMs', async () => {
    const { clock, network, loop } = setup();
    const start = clock.now();
    const summary = await clock.run(loop({ waitTimeoutMs: 10_000 }).run());
    expect(summary).toMatchObject({ ended: 'wait-timeout', exitCode: 0, reports: [] });
    expect(clock.now() - start).toBe(12_000);
    expect(network.calls.filter((call) => call.method === 'requestJob')).toHaveLength(4);
  });

  it('two loops sharing one slot never run two jobs at once, and no job is requested without a free slot', async () => {
    const { clock, network, loop } = setup();
    network.onRequestJob(...jobs(4));
    const slots = new JobSlots(1);
    const executor = new ScriptedExecutor(clock, { durationMs: 10_000 });
    const first = loop({ concurrency: 2, maxJobs: 2, slots }, executor);
    const second = loop({ concurrency: 2, maxJobs: 2, slots }, executor);
    const summaries = await clock.run(Promise.all([first.run(), second.run()]));
    expect(summaries.map((summary) => summary.ended)).toEqual(['max-jobs', 'max-jobs']);
    expect(executor.maxRunning).toBe(1);
    expect(executor.jobs).toHaveLength(4);
    expect(network.calls.filter((call) => call.method === 'requestJob')).toHaveLength(4);
    expect(slots.inUse).toBe(0);
  });

  it('a stopped loop stops waiting for a shared slot', async () => {
    const { clock, loop } = setup();
    const slots = new JobSlots(1);
    const release = await slots.acquire();
    const runner = loop({ slots });
    const run = runner.run();
    await clock.advance(1);
    runner.stop();
    expect((await clock.run(run)).ended).toBe('stopped');
    release?.();
    expect(slots.inUse).toBe(0);
  });
});
