import { type Clock, JobConfirmation, type PendingJob, systemClock } from '@runner-core/core';
import { FakeClock, ScriptedNetwork } from '@runner-core/core/testing';
import type { BenchOptions } from './bench-options.js';
import { benchInfo, benchPayloads } from './bench-payloads.js';
import { settledHeapBytes } from './gc-meter.js';

/** What holding pending jobs costs while they wait to be confirmed. */
export interface HeldJobFigures {
  readonly jobs: number;
  /** Heap per held job beyond its payload (handle, keep-alive loop, prepare timer), on a `FakeClock`. */
  readonly heapBytesFakeClock: number;
  /** The same on `systemClock` (Node timers), as production holds jobs. */
  readonly heapBytesSystemClock: number;
  /** On the `FakeClock` again, after every job's first keep-alive answered: what a job holds between keep-alives. */
  readonly heapBytesAfterKeepAlive: number;
  readonly timersPerJob: number;
  /** One keep-alive round of every held job on the `FakeClock` (`clock.advance(interval)`), in ms. */
  readonly fakeClockRoundMs: number;
  readonly keepAlivesPerJobInRound: number;
  /** Confirming every held job afterwards (stopping its loop and timer), in ms. */
  readonly fakeClockConfirmAllMs: number;
}

const KEEP_ALIVE_INTERVAL_MS = 30_000;

/** Holds `count` jobs on `clock`; returns the handles and the heap they added (payloads already allocated). */
async function hold(
  count: number,
  clock: Clock,
  network: ScriptedNetwork,
): Promise<{ readonly pending: PendingJob[]; readonly heapBefore: number; readonly heapBytesPerJob: number }> {
  const jobs = benchPayloads(count);
  const confirmation = new JobConfirmation(
    { network, clock },
    { info: benchInfo, keepAliveIntervalMs: KEEP_ALIVE_INTERVAL_MS },
  );
  const before = settledHeapBytes();
  const pending = jobs.map((job) => confirmation.receive(job));
  // Lets every keep-alive loop and prepare timer reach its first sleep.
  await new Promise((resolve) => setImmediate(resolve));
  const after = settledHeapBytes();
  return { pending, heapBefore: before, heapBytesPerJob: (after - before) / count };
}

export async function benchHeldJobs(options: BenchOptions['held']): Promise<HeldJobFigures> {
  const count = options.jobs;

  const clock = new FakeClock();
  const network = new ScriptedNetwork(() => clock.now());
  const onFakeClock = await hold(count, clock, network);
  const timersPerJob = clock.pendingTimers / count;
  // The jitter is ±10 %: advancing 110 % of the interval fires every job's first keep-alive exactly once.
  const roundStarted = performance.now();
  await clock.advance(KEEP_ALIVE_INTERVAL_MS * 1.1);
  const fakeClockRoundMs = performance.now() - roundStarted;
  const keepAlivesPerJobInRound = network.calls.length / count;
  // The scripted network's call log is the bench's, not the jobs': emptied before the heap is read.
  network.calls.length = 0;
  const heapBytesAfterKeepAlive = (settledHeapBytes() - onFakeClock.heapBefore) / count;
  const confirmStarted = performance.now();
  await clock.run(Promise.all(onFakeClock.pending.map((job) => job.confirm())), count * 10);
  const fakeClockConfirmAllMs = performance.now() - confirmStarted;

  const systemNetwork = new ScriptedNetwork();
  const onSystemClock = await hold(count, systemClock, systemNetwork);
  // Confirming stops every real timer, so none keeps the process alive or fires during later sections.
  await Promise.all(onSystemClock.pending.map((job) => job.confirm()));

  return {
    jobs: count,
    heapBytesFakeClock: onFakeClock.heapBytesPerJob,
    heapBytesSystemClock: onSystemClock.heapBytesPerJob,
    heapBytesAfterKeepAlive,
    timersPerJob,
    fakeClockRoundMs,
    keepAlivesPerJobInRound,
    fakeClockConfirmAllMs,
  };
}
