import { crc32 } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { sendFinalState } from '../job-session/final-update.js';
import { silentLogger } from '../logger/logger.port.js';
import { TransportError } from '../network/network.errors.js';
import { runnerInfo } from '../network/runner-info.js';
import type { RunnerEvent } from '../observer/observer.port.js';
import { defaultRetryPolicy, noDelayRetryPolicy } from '../retry/retry-policy.js';
import { ServerGate } from '../retry/server-gate.js';
import { anUpdateResult, aPatchTraceResult, jobCredentials } from '../testing/builders.js';
import { FakeClock } from '../testing/fake-clock.js';
import { type ScriptedCall, ScriptedNetwork } from '../testing/scripted-network.js';
import { TraceShipper, type TraceStopReason } from './trace-shipper.js';

function setup(options: { maxPatchBytes?: number; intervalMs?: number } = {}) {
  const clock = new FakeClock();
  const network = new ScriptedNetwork(() => clock.now());
  const job = jobCredentials({ id: 7 });
  const stops: TraceStopReason[] = [];
  const trace = new TraceShipper({
    network,
    clock,
    logger: silentLogger,
    job,
    info: runnerInfo(),
    intervalMs: options.intervalMs ?? 1_000,
    random: () => 0.5,
    ...(options.maxPatchBytes === undefined ? {} : { maxPatchBytes: options.maxPatchBytes }),
    onStop: (reason) => stops.push(reason),
  });
  return { clock, network, job, stops, trace };
}

/** A shipper that only buffers, with an output limit of `limit` bytes. */
const limitedTo = (limit: number): TraceShipper =>
  new TraceShipper({
    network: new ScriptedNetwork(),
    clock: new FakeClock(),
    logger: silentLogger,
    job: jobCredentials(),
    info: runnerInfo(),
    outputLimitBytes: limit,
    onStop: () => {},
  });

type PatchCall = Extract<ScriptedCall, { method: 'patchTrace' }>;
const patches = (network: ScriptedNetwork): PatchCall[] =>
  network.calls.filter((call): call is PatchCall => call.method === 'patchTrace');
const patchText = (call: PatchCall): string => Buffer.from(call.input.content).toString('utf8');

describe('TraceShipper', () => {
  it('sends unsent bytes every interval, in patches of at most maxPatchBytes', async () => {
    const { clock, network, trace } = setup({ maxPatchBytes: 4 });
    trace.start();
    trace.write('hello ');
    trace.write(Buffer.from('world'));
    expect(patches(network)).toHaveLength(0);
    await clock.advance(3_000);
    expect(patches(network).map((call) => [call.input.offset, patchText(call)])).toEqual([
      [0, 'hell'],
      [4, 'o wo'],
      [8, 'rld'],
    ]);
    expect(trace.sentBytes).toBe(11);
    await trace.stop();
    expect(clock.pendingTimers).toBe(0);
  });

  it('continues from the server offset after a range mismatch (416)', async () => {
    const { clock, network, trace } = setup();
    network.onPatchTrace(aPatchTraceResult('range-mismatch', { offset: 2 }));
    trace.write('abcdef');
    expect(await trace.flushAll(clock.now() + 60_000)).toBe('sent');
    expect(patches(network).map((call) => [call.input.offset, patchText(call)])).toEqual([
      [0, 'abcdef'],
      [2, 'cdef'],
    ]);
  });

  it('retries a transient failure through the gate within the tick, keeping the bytes until GitLab takes them', async () => {
    const { clock, network, trace } = setup();
    network.onPatchTrace(new TransportError('connection reset', true), aPatchTraceResult('retryable'));
    trace.start();
    trace.write('abc');
    await clock.advance(1_000);
    expect(trace.sentBytes).toBe(0);
    await clock.advance(200);
    expect(trace.sentBytes).toBe(3);
    expect(patches(network).map((call) => call.input.offset)).toEqual([0, 0, 0]);
    await trace.stop();
  });

  it('asks the job to stop when GitLab says canceling, and for good when the job is gone', async () => {
    const { clock, network, stops, trace } = setup();
    network.onPatchTrace(
      aPatchTraceResult('succeeded', { offset: 1, cancelRequested: true, jobStatus: 'canceling' }),
      aPatchTraceResult('aborted', { jobStatus: 'canceled' }),
    );
    trace.write('a');
    await trace.flushAll(clock.now() + 60_000);
    expect(stops).toEqual(['cancel-requested']);
    trace.write('b');
    expect(await trace.flushAll(clock.now() + 60_000)).toBe('gone');
    expect(stops).toEqual(['cancel-requested', 'gone']);
    expect(trace.stopReason).toBe('gone');
    trace.write('c');
    await trace.flushAll(clock.now() + 60_000);
    expect(patches(network)).toHaveLength(2);
  });

  it('applies the update interval GitLab sets', async () => {
    const { clock, network, trace } = setup();
    network.onPatchTrace(aPatchTraceResult('succeeded', { offset: 1, updateIntervalMs: 5_000 }));
    trace.start();
    trace.write('a');
    await clock.advance(1_000);
    expect(trace.intervalMs).toBe(5_000);
    trace.write('b');
    await clock.advance(4_000);
    expect(patches(network)).toHaveLength(1);
    await clock.advance(1_000);
    expect(patches(network)).toHaveLength(2);
    await trace.stop();
  });

  it('touches the job with PUT running when nothing was sent for 30 s', async () => {
    const { clock, network, trace, stops } = setup();
    network.onUpdateJob(anUpdateResult('succeeded'), anUpdateResult('aborted', { reason: 'not-found' }));
    trace.start();
    await clock.advance(30_000);
    expect(network.jobCalls()).toEqual(['PUT running']);
    const touch = network.calls.find((call) => call.method === 'updateJob');
    expect(touch?.method === 'updateJob' && touch.input.output).toEqual({ checksum: 'crc32:00000000', bytesize: 0 });
    await clock.advance(30_000);
    expect(stops).toEqual(['gone']);
    await trace.stop();
  });

  it('computes the crc32 checksum of the whole trace', () => {
    const { trace } = setup();
    trace.write('hello ');
    trace.write('world');
    expect(trace.checksum).toBe(`crc32:${crc32('hello world').toString(16).padStart(8, '0')}`);
    expect(trace.bytesize).toBe(11);
  });

  it('drops output beyond the limit with one notice', () => {
    const trace = limitedTo(10);
    trace.write('0123456789abc');
    trace.write('more');
    expect(trace.content.toString()).toBe('0123456789\nWARNING: job output exceeded 10 bytes; the rest is not shown\n');
  });
});

describe('sendFinalState', () => {
  function finalSetup() {
    const context = setup();
    const deps = {
      network: context.network,
      clock: context.clock,
      logger: silentLogger,
      info: runnerInfo(),
      retry: noDelayRetryPolicy,
      random: () => 0.5,
      gate: new ServerGate(context.clock),
    };
    return { ...context, deps };
  }

  it('flushes the trace, then PUTs the state with checksum and size', async () => {
    const { deps, network, job, trace } = finalSetup();
    trace.write('done\n');
    const result = await sendFinalState(deps, job, trace, {
      kind: 'failed',
      failureReason: 'script_failure',
      exitCode: 2,
    });
    expect(result).toEqual({ kind: 'reported', attempts: 1 });
    expect(network.calls.map((call) => call.method)).toEqual(['patchTrace', 'updateJob']);
    const put = network.calls[1];
    expect(put?.method === 'updateJob' && put.input).toMatchObject({
      state: 'failed',
      failureReason: 'script_failure',
      exitCode: 2,
      output: { checksum: trace.checksum, bytesize: 5 },
    });
  });

  it('waits the interval after 202 and repeats', async () => {
    const { deps, network, job, trace, clock } = finalSetup();
    network.onUpdateJob(anUpdateResult('accepted', { updateIntervalMs: 2_000 }), anUpdateResult('accepted'));
    const started = clock.now();
    const result = await clock.run(sendFinalState(deps, job, trace, { kind: 'success' }));
    expect(result).toEqual({ kind: 'reported', attempts: 3 });
    expect(network.jobCalls()).toEqual(['PUT success', 'PUT success', 'PUT success']);
    // 2 s as GitLab asked, then the trace interval GitLab set (2 s) again.
    expect(clock.now() - started).toBe(4_000);
  });

  it('goes back to the 3 s interval when the final update starts, whatever GitLab set while the job ran', async () => {
    const { deps, network, job, trace, clock } = finalSetup();
    trace.applyHints({ updateIntervalMs: 10_000, cancelRequested: false });
    network.onUpdateJob(anUpdateResult('trace-invalid'));
    const started = clock.now();
    expect(await clock.run(sendFinalState(deps, job, trace, { kind: 'success' }))).toMatchObject({ kind: 'reported' });
    expect(trace.intervalMs).toBe(3_000);
    expect(clock.now() - started).toBe(3_000);
  });

  it('resends the whole trace after 412, one interval later', async () => {
    const { deps, network, job, trace, clock } = finalSetup();
    network.onUpdateJob(anUpdateResult('trace-invalid'));
    trace.write('abc');
    const result = await clock.run(sendFinalState(deps, job, trace, { kind: 'success' }));
    expect(result.kind).toBe('reported');
    expect(patches(network).map((call) => call.input.offset)).toEqual([0, 0]);
  });

  it('retries transient failures with the retry policy and Retry-After', async () => {
    const { deps, network, job, trace, clock } = finalSetup();
    const retryAfterAt = clock.now() + 7_000;
    network.onUpdateJob(
      new TransportError('connection refused', false),
      anUpdateResult('retryable', { status: 429, wait: { retryAfterAt } }),
    );
    const result = await clock.run(sendFinalState(deps, job, trace, { kind: 'success' }));
    expect(result).toEqual({ kind: 'reported', attempts: 3 });
    expect(clock.now()).toBe(retryAfterAt);
  });

  it('gives up when its time is up, not after a count of failures', async () => {
    const { deps, network, job, trace, clock } = finalSetup();
    network.onUpdateJob(...Array.from({ length: 500 }, () => anUpdateResult('retryable')));
    const started = clock.now();
    const withBackoff = { ...deps, retry: defaultRetryPolicy };
    const result = await clock.run(sendFinalState(withBackoff, job, trace, { kind: 'success' }, { timeoutMs: 20_000 }));
    expect(result).toMatchObject({ kind: 'not-reported' });
    expect(clock.now() - started).toBeLessThanOrEqual(20_000);
    expect(clock.now() - started).toBeGreaterThanOrEqual(18_000);
  });

  it.each([
    ['aborted (403)', anUpdateResult('aborted', { reason: 'forbidden' }), 'gone'],
    ['aborted (404)', anUpdateResult('aborted', { reason: 'not-found' }), 'gone'],
    ['Job-Status: failed', anUpdateResult('aborted', { reason: 'job-failed', jobStatus: 'failed' }), 'reported'],
    ['Job-Status: canceled', anUpdateResult('aborted', { reason: 'job-canceled', jobStatus: 'canceled' }), 'reported'],
    ['rejected', anUpdateResult('rejected'), 'not-reported'],
    ['conflict', anUpdateResult('conflict'), 'not-reported'],
  ] as const)('stops on %s', async (_name, answer, kind) => {
    const { deps, network, job, trace } = finalSetup();
    network.onUpdateJob(answer);
    expect((await sendFinalState(deps, job, trace, { kind: 'success' })).kind).toBe(kind);
    expect(network.jobCalls()).toHaveLength(1);
  });

  it('reports nothing once the trace says the job is gone', async () => {
    const { deps, network, job, trace } = finalSetup();
    network.onPatchTrace(aPatchTraceResult('aborted'));
    trace.write('x');
    expect(await sendFinalState(deps, job, trace, { kind: 'success' })).toEqual({ kind: 'gone', attempts: 0 });
    expect(network.jobCalls()).toEqual([]);
  });
});

describe('never a final state over an unsent trace; outages and server waits', () => {
  function finalSetup() {
    const context = setup();
    const events: RunnerEvent[] = [];
    const deps = {
      network: context.network,
      clock: context.clock,
      logger: silentLogger,
      info: runnerInfo(),
      retry: defaultRetryPolicy,
      random: () => 0.5,
      gate: new ServerGate(context.clock, { random: () => 0.5 }),
      observer: { notify: (event: RunnerEvent) => events.push(event) },
    };
    return { ...context, deps, events };
  }

  it('a trace patch failing at the final flush fails the attempt: the final state waits for the whole trace', async () => {
    const { deps, network, job, trace, clock } = finalSetup();
    network.onPatchTrace(aPatchTraceResult('retryable', { status: 503 }));
    trace.write('the whole log\n');
    const result = await clock.run(sendFinalState(deps, job, trace, { kind: 'success' }));
    expect(result.kind).toBe('reported');
    expect(network.calls.map((call) => call.method)).toEqual(['patchTrace', 'patchTrace', 'updateJob']);
    const put = network.calls[2];
    expect(put?.method === 'updateJob' && put.input.output?.bytesize).toBe(14);
    expect(trace.sentBytes).toBe(14);
  });

  it('keeps trying for at least 9 minutes (gitlab-runner: 10 × 5 tries, back-off up to 60 s), observably', async () => {
    const { deps, network, job, trace, clock, events } = finalSetup();
    network.onUpdateJob(...Array.from({ length: 2_000 }, () => anUpdateResult('retryable', { status: 502 })));
    const started = clock.now();
    const result = await clock.run(sendFinalState(deps, job, trace, { kind: 'success' }), 100_000);
    expect(result.kind).toBe('not-reported');
    expect(clock.now() - started).toBeGreaterThanOrEqual(9 * 60_000);
    expect(clock.now() - started).toBeLessThanOrEqual(11 * 60_000);
    const retries = events.filter((event) => event.event === 'retry.scheduled' && event.operation === 'final-update');
    expect(retries.length).toBeGreaterThan(10);
  });

  it('a patch answered 429 with Retry-After: 60 is not repeated before 60 s', async () => {
    const { clock, network, trace } = setup();
    network.onPatchTrace((call) =>
      aPatchTraceResult('retryable', { status: 429, wait: { retryAfterAt: call.at + 60_000 } }),
    );
    trace.start();
    trace.write('abc');
    await clock.advance(1_000);
    await clock.advance(58_000);
    expect(patches(network)).toHaveLength(1);
    await clock.advance(3_000);
    expect(patches(network)).toHaveLength(2);
    expect((patches(network)[1]?.at ?? 0) - (patches(network)[0]?.at ?? 0)).toBeGreaterThanOrEqual(60_000);
    await trace.stop();
  });

  it('waits at most 15 minutes after a 202, whatever interval GitLab asks for', async () => {
    const { deps, network, job, trace, clock } = finalSetup();
    network.onUpdateJob(anUpdateResult('accepted', { updateIntervalMs: 99_999_000 }));
    const started = clock.now();
    const result = await clock.run(sendFinalState(deps, job, trace, { kind: 'success' }));
    expect(result.kind).toBe('reported');
    expect(clock.now() - started).toBe(15 * 60_000);
  });

  it('a patch answered 404 does not stop the job (docs/gitlab-protocol.md §11 A1): the final state still goes out', async () => {
    const { deps, network, job, trace, clock, stops } = finalSetup();
    network.onPatchTrace(aPatchTraceResult('not-found'));
    trace.write('abc');
    const result = await clock.run(sendFinalState(deps, job, trace, { kind: 'success' }));
    expect(stops).toEqual([]);
    expect(result.kind).toBe('reported');
    expect(network.jobCalls()).toEqual(['PUT success']);
  });

  it('a touch counts only when it succeeded: a failed one is tried again at the next tick (§11 A4)', async () => {
    const { clock, network, trace } = setup();
    network.onUpdateJob(anUpdateResult('retryable', { status: 503 }), anUpdateResult('succeeded'));
    trace.start();
    await clock.advance(30_000);
    expect(network.jobCalls()).toEqual(['PUT running']);
    await clock.advance(1_000);
    expect(network.jobCalls()).toEqual(['PUT running', 'PUT running']);
    await clock.advance(29_000);
    expect(network.jobCalls()).toHaveLength(2);
    await trace.stop();
  });
});

describe('the running phase as GitLab expects it', () => {
  it('touches at the update interval GitLab set when it is shorter than 30 s (someone watches the job)', async () => {
    const { clock, network, trace } = setup({ intervalMs: 3_000 });
    network.onPatchTrace(aPatchTraceResult('succeeded', { offset: 6, updateIntervalMs: 3_000 }));
    trace.start();
    trace.write('start\n');
    await clock.advance(3_000);
    expect(patches(network)).toHaveLength(1);
    await clock.advance(3_000);
    // Silent from here on: a touch every 3 s, not every 30 s.
    expect(network.jobCalls()).toEqual(['PUT running']);
    await clock.advance(3_000);
    expect(network.jobCalls()).toEqual(['PUT running', 'PUT running']);
    await trace.stop();
  });

  it('sends one patch per tick while the job runs; the final flush sends the rest', async () => {
    const { clock, network, trace } = setup({ maxPatchBytes: 4 });
    trace.start();
    trace.write('0123456789');
    await clock.advance(1_000);
    expect(patches(network).map((call) => patchText(call))).toEqual(['0123']);
    await clock.advance(1_000);
    expect(patches(network).map((call) => patchText(call))).toEqual(['0123', '4567']);
    await trace.stop();
    expect(await trace.flushAll(clock.now() + 60_000)).toBe('sent');
    expect(patches(network).map((call) => patchText(call))).toEqual(['0123', '4567', '89']);
  });

  it('a tick never sends the first bytes of a character alone; they go with the rest of it', async () => {
    const { clock, network, trace } = setup();
    trace.start();
    trace.write(Buffer.from([0x61, 0xe2]));
    await clock.advance(3_000);
    trace.write(Buffer.from([0x82, 0xac]));
    await clock.advance(3_000);
    expect(patches(network).map((call) => Buffer.from(call.input.content).toString('hex'))).toEqual(['61', 'e282ac']);
    await trace.stop();
  });

  it('the output limit drops a character whose first bytes came in an earlier write', () => {
    const trace = limitedTo(2);
    trace.write(Buffer.from([0x61, 0xe2]));
    trace.write(Buffer.from([0x82, 0xac]));
    expect(trace.content.toString('utf8')).toBe('a\nWARNING: job output exceeded 2 bytes; the rest is not shown\n');
  });

  it('never splits a UTF-8 character at the output limit', () => {
    const trace = limitedTo(10);
    trace.write('12345678€€');
    const text = trace.content.toString('utf8');
    expect(text.startsWith('12345678\n')).toBe(true);
    expect(text).not.toContain('\ufffd');
  });

  it('asks for debug_trace=true on every patch when the job set CI_DEBUG_TRACE', async () => {
    const clock = new FakeClock();
    const network = new ScriptedNetwork(() => clock.now());
    const trace = new TraceShipper({
      network,
      clock,
      logger: silentLogger,
      job: jobCredentials(),
      info: runnerInfo(),
      debugTrace: true,
      onStop: () => {},
    });
    trace.write('x');
    await trace.flushAll(clock.now() + 60_000);
    expect(patches(network).map((call) => call.input.debugTrace)).toEqual([true]);
  });
});
