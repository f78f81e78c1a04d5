import { createInMemoryNetwork, FakeGitLab } from '@runner-core/adapter-fake';
import { type ConfirmationOutcome, JobConfirmation, type JobPayload, Secret, ServerGate } from '@runner-core/core';
import type { InjectedAnswer } from '@runner-core/core/simulation';
import { FakeClock } from '@runner-core/core/testing';
import type { BenchOptions } from './bench-options.js';
import { benchInfo } from './bench-payloads.js';

/** One outage scenario on the fake clock. */
export interface OutageFigures {
  readonly outageMs: number;
  /** The `Retry-After` GitLab sends with each 503, in seconds; `undefined` for none. */
  readonly retryAfterSeconds: number | undefined;
  readonly jobs: number;
  /** Confirmation `PUT`s that reached GitLab while it answered 503, per job. */
  readonly requestsPerJobDuringOutage: number;
  /** Every `PUT` per job, from the hand-out until the last outcome. */
  readonly requestsPerJobTotal: number;
  /** From GitLab's recovery until the last job was confirmed, in fake ms; `NaN` when none was. */
  readonly recoveryMs: number;
  readonly outcomes: Readonly<Record<string, number>>;
}

/**
 * A seeded generator (mulberry32) for the backoff jitter: the outage figures hang on a few random waits, and a fixed
 * seed makes two runs of the same code print the same figures.
 */
function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let mixed = Math.imul(state ^ (state >>> 15), 1 | state);
    mixed = (mixed + Math.imul(mixed ^ (mixed >>> 7), 61 | mixed)) ^ mixed;
    return ((mixed ^ (mixed >>> 14)) >>> 0) / 4_294_967_296;
  };
}

/** The `Retry-After` of the second variant: a round figure a load balancer in maintenance mode might send. */
const RETRY_AFTER_SECONDS = 10;

/**
 * `jobs` jobs handed out at once, then GitLab answers every `PUT /jobs/:id` with 503 for `outageMs` and recovers;
 * each job is confirmed from the start of the outage through one shared `ServerGate`, as the app wires it.
 */
async function outage(jobs: number, outageMs: number, retryAfterSeconds: number | undefined): Promise<OutageFigures> {
  const clock = new FakeClock();
  const gitlab = new FakeGitLab({ profile: 'two-phase', clock, requestLogLimit: 1_000_000, autoExpiry: true });
  const network = createInMemoryNetwork({ gitlab });
  const gate = new ServerGate(clock);
  const confirmation = new JobConfirmation({ network, clock, gate }, { info: benchInfo, random: seededRandom(9) });
  const credentials = { token: new Secret(gitlab.runnerToken), systemId: 's_bench0000001' };

  const payloads: JobPayload[] = [];
  for (let index = 0; index < jobs; index++) gitlab.enqueueJob();
  for (let index = 0; index < jobs; index++) {
    const answer = await network.requestJob({ credentials, info: benchInfo });
    if (answer.kind !== 'job') throw new Error(`bench: expected a job, got ${answer.kind}`);
    payloads.push(answer.job);
  }
  const handedOutAt = clock.now();
  const recoversAt = handedOutAt + outageMs;
  const unavailable: InjectedAnswer =
    retryAfterSeconds === undefined
      ? { status: 503 }
      : { status: 503, headers: { 'Retry-After': String(retryAfterSeconds) } };
  // Injections are counted, not timed: more than can ever be consumed, dropped at the moment GitLab recovers.
  gitlab.inject('update-job', unavailable, { times: Number.MAX_SAFE_INTEGER });

  const outcomes = Promise.all(payloads.map((job) => confirmation.confirm(job, handedOutAt)));
  await clock.advance(outageMs);
  gitlab.clearInjections();
  const settled: ConfirmationOutcome[] = await clock.run(outcomes, 10_000_000);

  const updates = gitlab.requests('update-job');
  const tally: Record<string, number> = {};
  let lastConfirmedAt = Number.NEGATIVE_INFINITY;
  for (const outcome of settled) {
    tally[outcome.kind] = (tally[outcome.kind] ?? 0) + 1;
    if (outcome.kind === 'confirmed') lastConfirmedAt = Math.max(lastConfirmedAt, handedOutAt + outcome.elapsedMs);
  }
  return {
    outageMs,
    retryAfterSeconds,
    jobs,
    requestsPerJobDuringOutage: updates.filter((request) => request.at < recoversAt).length / jobs,
    requestsPerJobTotal: updates.length / jobs,
    recoveryMs: Number.isFinite(lastConfirmedAt) ? lastConfirmedAt - recoversAt : Number.NaN,
    outcomes: tally,
  };
}

/** 60 s and 90 s outages, each without and with `Retry-After`. */
export async function benchOutages(options: BenchOptions['outage']): Promise<OutageFigures[]> {
  const figures: OutageFigures[] = [];
  for (const outageMs of [60_000, 90_000]) {
    for (const retryAfter of [undefined, RETRY_AFTER_SECONDS])
      figures.push(await outage(options.jobs, outageMs, retryAfter));
  }
  return figures;
}
