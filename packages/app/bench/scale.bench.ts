import { monitorEventLoopDelay } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { HttpNetwork } from '@runner-core/adapter-http';
import {
  JobConfirmation,
  type JobPayload,
  type Observer,
  type PendingJob,
  type RunnerEvent,
  Secret,
  ServerGate,
  systemClock,
} from '@runner-core/core';
import type { BenchOptions, ScaleCadence } from './bench-options.js';
import { benchInfo } from './bench-payloads.js';
import { ChildServer } from './child-server.js';
import { settledHeapBytes } from './gc-meter.js';
import { percentile } from './stats.js';

/** One runner process holding many pending jobs against the fake GitLab over HTTP, on the real clock. */
export interface ScaleFigures {
  readonly jobs: number;
  readonly keepAliveIntervalMs: number;
  readonly ackWindowMs: number;
  readonly deadlineMarginMs: number;
  readonly serverAckWindowMs: number;
  /** Handing every job out (16 job requests in flight), in ms. */
  readonly handOutMs: number;
  readonly holdMs: number;
  /** Jobs that settled (gone, unreachable…) while held: none should. */
  readonly settledWhileHeld: number;
  /** The keep-alives per second the held jobs ask for (jobs ÷ interval). */
  readonly demandPerSec: number;
  /** Keep-alives answered per second while every job was held (after they were all received). */
  readonly requestsPerSec: number;
  /** From a keep-alive's sending to its answer, while held (queueing for one of the 100 sockets included). */
  readonly keepAliveP50Ms: number;
  readonly keepAliveP99Ms: number;
  readonly loopDelayP50Ms: number;
  readonly loopDelayP99Ms: number;
  readonly loopDelayMaxMs: number;
  /** Share of one core this process (the runner) and the fake GitLab's process used while holding, in %. */
  readonly runnerCpuPercent: number;
  readonly serverCpuPercent: number;
  /** Peak RSS of this process while holding. */
  readonly rssMb: number;
  /** Heap in use at the end of the hold, and after a full collection (what is really live). */
  readonly heapUsedMb: number;
  readonly liveHeapMb: number;
  /** Keep-alive answers by kind, over the whole run. */
  readonly keepAliveAnswers: Readonly<Record<string, number>>;
  /** Retries scheduled, by operation and cause (the part of the reason before its wait rule). */
  readonly retries: Readonly<Record<string, number>>;
  /** Confirming every held job at the end (all at once), in ms, and how they came out. */
  readonly confirmAllMs: number;
  readonly outcomes: Readonly<Record<string, number>>;
}

/**
 * The fake's window is GitLab's default: jobs handed out first must not lapse while the rest are fetched, so what
 * the hold measures is the runner's load, not a race against the hand-out.
 */
const SERVER_ACK_WINDOW_MS = 120_000;
const HAND_OUT_CONCURRENCY = 16;
/** How often a batch of jobs is received while they are spread over one interval, in ms. */
const SPREAD_TICK_MS = 10;
/** How often the event-loop delay is sampled, in ms. */
const LOOP_SAMPLE_MS = 10;

/** Node's histogram records the whole sampling interval; what the loop added is the part beyond it. */
function loopDelayMs(recordedNs: number): number {
  return Math.max(0, recordedNs / 1e6 - LOOP_SAMPLE_MS);
}

function count(tally: Record<string, number>, key: string): void {
  tally[key] = (tally[key] ?? 0) + 1;
}

/** One scale run per cadence, each against a fake GitLab of its own. */
export async function benchScale(options: BenchOptions['scale']): Promise<ScaleFigures[]> {
  const figures: ScaleFigures[] = [];
  for (const cadence of options.cadences) figures.push(await scaleRun(options.jobs, cadence));
  return figures;
}

async function scaleRun(jobs: number, cadence: ScaleCadence): Promise<ScaleFigures> {
  const { keepAliveIntervalMs, ackWindowMs, deadlineMarginMs, holdMs: plannedHoldMs } = cadence;
  const server = await ChildServer.start('fake-gitlab-child.js', [String(SERVER_ACK_WINDOW_MS)]);
  const network = new HttpNetwork({ url: server.url, env: {} });
  try {
    await server.enqueue(jobs);
    const keepAliveAnswers: Record<string, number> = {};
    const retries: Record<string, number> = {};
    let answered = 0;
    let measuring = false;
    const sentAt = new Map<number, number>();
    const keepAliveLatencies: number[] = [];
    const observer: Observer = {
      notify(event: RunnerEvent) {
        if (event.event === 'retry.scheduled') count(retries, `${event.operation}: ${event.reason.split(';')[0]}`);
        if (event.event === 'keep-alive.sent') sentAt.set(event.jobId, performance.now());
        if (event.event !== 'keep-alive.answered') return;
        answered += 1;
        count(keepAliveAnswers, event.answer);
        const sent = sentAt.get(event.jobId);
        if (measuring && sent !== undefined) keepAliveLatencies.push(performance.now() - sent);
      },
    };
    const confirmation = new JobConfirmation(
      { network, clock: systemClock, gate: new ServerGate(systemClock), observer },
      { info: benchInfo, keepAliveIntervalMs, ackWindowMs, deadlineMarginMs },
    );
    const credentials = { token: new Secret(server.runnerToken ?? ''), systemId: 's_bench0000001' };

    // Every job is fetched before any is held: fetching while holding would make the hand-out queue behind the
    // keep-alives for the same 100 sockets, and the run take minutes instead of seconds.
    const payloads: JobPayload[] = [];
    const handOutStarted = performance.now();
    let requested = 0;
    const fetcher = async (): Promise<void> => {
      while (requested < jobs) {
        requested += 1;
        const answer = await network.requestJob({ credentials, info: benchInfo });
        if (answer.kind !== 'job') throw new Error(`bench: expected a job, got ${answer.kind}`);
        payloads.push(answer.job);
      }
    };
    await Promise.all(Array.from({ length: HAND_OUT_CONCURRENCY }, fetcher));
    const handOutMs = performance.now() - handOutStarted;

    const delay = monitorEventLoopDelay({ resolution: LOOP_SAMPLE_MS });
    let rss = process.memoryUsage().rss;
    const sampler = setInterval(() => {
      rss = Math.max(rss, process.memoryUsage().rss);
    }, 250);
    // Jobs are received evenly over one keep-alive interval, as a runner in its steady state holds them: their
    // keep-alives are spread over the interval instead of all falling due in the same few milliseconds.
    const held: PendingJob[] = [];
    let settledWhileHeld = 0;
    let holding = true;
    const perTick = Math.ceil(payloads.length / (keepAliveIntervalMs / SPREAD_TICK_MS));
    for (let next = 0; next < payloads.length; next += perTick) {
      for (const job of payloads.slice(next, next + perTick)) {
        const pending = confirmation.receive(job);
        void pending.outcome.then(() => {
          if (holding) settledWhileHeld += 1;
        });
        held.push(pending);
      }
      await sleep(SPREAD_TICK_MS);
    }

    const serverBefore = await server.counts();
    const cpuBefore = process.cpuUsage();
    const answeredBefore = answered;
    measuring = true;
    delay.enable();
    const holdStarted = performance.now();
    await sleep(plannedHoldMs);
    const holdMs = performance.now() - holdStarted;
    holding = false;
    measuring = false;
    delay.disable();
    const cpu = process.cpuUsage(cpuBefore);
    clearInterval(sampler);
    const requestsPerSec = (answered - answeredBefore) / (holdMs / 1000);
    const heapUsed = process.memoryUsage().heapUsed;
    // NOTE: the child answers once its backlog lets it, so its CPU window runs a little longer than the hold.
    const serverAfter = await server.counts();
    const serverWallMs = performance.now() - holdStarted;
    const liveHeap = settledHeapBytes();

    const confirmStarted = performance.now();
    const settled = await Promise.all(held.map((job) => job.confirm()));
    const confirmAllMs = performance.now() - confirmStarted;
    const outcomes: Record<string, number> = {};
    for (const outcome of settled) count(outcomes, outcome.kind);

    return {
      jobs,
      keepAliveIntervalMs,
      ackWindowMs,
      deadlineMarginMs,
      serverAckWindowMs: SERVER_ACK_WINDOW_MS,
      handOutMs,
      holdMs,
      settledWhileHeld,
      demandPerSec: jobs / (keepAliveIntervalMs / 1000),
      requestsPerSec,
      keepAliveP50Ms: percentile(keepAliveLatencies, 50),
      keepAliveP99Ms: percentile(keepAliveLatencies, 99),
      loopDelayP50Ms: loopDelayMs(delay.percentile(50)),
      loopDelayP99Ms: loopDelayMs(delay.percentile(99)),
      loopDelayMaxMs: loopDelayMs(delay.max),
      runnerCpuPercent: ((cpu.user + cpu.system) / 1000 / holdMs) * 100,
      serverCpuPercent: ((serverAfter.cpuUs - serverBefore.cpuUs) / 1000 / serverWallMs) * 100,
      rssMb: rss / 2 ** 20,
      heapUsedMb: heapUsed / 2 ** 20,
      liveHeapMb: liveHeap / 2 ** 20,
      keepAliveAnswers,
      retries,
      confirmAllMs,
      outcomes,
    };
  } finally {
    await network.close();
    await server.close();
  }
}
