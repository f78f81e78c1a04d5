import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import type { JobOperation } from '../observer/observer.port.js';
import { FakeClock } from '../testing/fake-clock.js';
import { type NamedProperty, violations } from '../testing/named-properties.js';
import { type Attempt, type GatedResult, gatedCall } from './gated-call.js';
import { defaultRetryPolicy, type RetryPolicy } from './retry-policy.js';
import { type GateCaller, type GateEntry, ServerGate } from './server-gate.js';

/*
 * The ServerGate and gatedCall with many callers against a GitLab that is down for a random while, then up
 * (docs/design.md §2 "Retries", §2b "Every call goes through the gate"): callers start at random times with random
 * deadlines, some past already, some aborted, some without a last try (as trace patches are); the server answers each
 * request after a random latency, while down with a transient fault and maybe a Retry-After. The test records every
 * request and checks the gate's promises from the record.
 */

const NUM_RUNS = 3_000;
const SEED = 20_260_103;

interface CallerSpec {
  readonly startMs: number;
  /** From start to deadline; negative: the deadline passed before the call began. */
  readonly spanMs: number;
  readonly firstTryPastDeadline: boolean;
  readonly lastTry: boolean;
  /** From start to an abort of the call's signal. */
  readonly abortAfterMs: number | undefined;
  readonly operation: JobOperation;
}

interface Scenario {
  readonly callers: readonly CallerSpec[];
  readonly downForMs: number;
  /** The server's Retry-After on every failure, in seconds. */
  readonly retryAfterSeconds: number | undefined;
  readonly latenciesMs: readonly number[];
  readonly scoutIntervalMs: number;
  readonly lastTryLeadMs: number;
  readonly retry: RetryPolicy;
  readonly seed: number;
}

const callerArb: fc.Arbitrary<CallerSpec> = fc.record({
  startMs: fc.oneof(fc.integer({ min: 0, max: 2_000 }), fc.integer({ min: 0, max: 150_000 })),
  spanMs: fc.oneof(
    { weight: 1, arbitrary: fc.integer({ min: -5_000, max: 100 }) },
    { weight: 6, arbitrary: fc.integer({ min: 0, max: 150_000 }) },
  ),
  firstTryPastDeadline: fc.boolean(),
  lastTry: fc.oneof({ weight: 4, arbitrary: fc.constant(true) }, { weight: 1, arbitrary: fc.constant(false) }),
  abortAfterMs: fc.option(fc.integer({ min: 0, max: 150_000 }), { nil: undefined, freq: 5 }),
  operation: fc.constantFrom<JobOperation>('keep-alive', 'confirm', 'release', 'trace-patch', 'touch', 'final-update'),
});

const scenarioArb: fc.Arbitrary<Scenario> = fc.record({
  callers: fc.array(callerArb, { minLength: 1, maxLength: 8 }),
  downForMs: fc.oneof(fc.integer({ min: 0, max: 5_000 }), fc.integer({ min: 0, max: 200_000 })),
  retryAfterSeconds: fc.option(fc.oneof(fc.integer({ min: 1, max: 5 }), fc.integer({ min: 20, max: 300 })), {
    nil: undefined,
  }),
  latenciesMs: fc.array(
    fc.oneof({ weight: 3, arbitrary: fc.constant(0) }, { weight: 1, arbitrary: fc.integer({ min: 1, max: 1_500 }) }),
    { minLength: 1, maxLength: 16 },
  ),
  scoutIntervalMs: fc.oneof(fc.constant(2_000), fc.integer({ min: 200, max: 5_000 })),
  lastTryLeadMs: fc.oneof(fc.constant(1_000), fc.integer({ min: 100, max: 3_000 })),
  retry: fc.oneof(
    fc.constant(defaultRetryPolicy),
    fc.record({
      initialMs: fc.integer({ min: 50, max: 2_000 }),
      factor: fc.double({ min: 1.5, max: 3, noNaN: true }),
      maxMs: fc.integer({ min: 100, max: 60_000 }),
    }),
  ),
  seed: fc.integer(),
});

/** A small seeded generator (mulberry32), so the jitter is part of the reproducible scenario. */
function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

/** The gate, telling which entry each caller's next request went out on. */
class WatchedGate extends ServerGate {
  readonly entries = new Map<GateCaller, GateEntry>();

  override async enter(caller: GateCaller, deadline: number, signal?: AbortSignal, lastTry = true): Promise<GateEntry> {
    const entry = await super.enter(caller, deadline, signal, lastTry);
    this.entries.set(caller, entry);
    return entry;
  }
}

interface Request {
  readonly caller: number;
  readonly attempt: number;
  /** `late`: a first try past (or at) its deadline, sent without asking the gate. */
  readonly entry: GateEntry | 'late';
  readonly at: number;
  readonly landedAt: number;
  /** Order of sending and of landing, across all callers (several happen at one instant). */
  readonly sentSeq: number;
  readonly landedSeq: number;
  readonly failed: boolean;
  /** The Retry-After the failure carried, as an absolute time. */
  readonly holdUntil: number | undefined;
}

interface Ended {
  readonly start: number;
  readonly deadline: number;
  readonly abortAt: number | undefined;
  readonly end: number;
  readonly result: GatedResult<string>;
}

interface Run {
  readonly scenario: Scenario;
  readonly t0: number;
  readonly upAt: number;
  readonly requests: readonly Request[];
  readonly ended: readonly Ended[];
  readonly maxLatencyMs: number;
}

async function play(scenario: Scenario): Promise<Run> {
  const clock = new FakeClock();
  const t0 = clock.now();
  const upAt = t0 + scenario.downForMs;
  const random = seededRandom(scenario.seed);
  const gate = new WatchedGate(clock, {
    scoutIntervalMs: scenario.scoutIntervalMs,
    lastTryLeadMs: scenario.lastTryLeadMs,
    random,
  });
  const requests: Request[] = [];
  let sent = 0;
  let seq = 0;
  const call = async (index: number, spec: CallerSpec): Promise<Ended> => {
    await clock.sleep(spec.startMs);
    const start = clock.now();
    const deadline = start + spec.spanMs;
    const caller = Symbol(`caller ${index}`);
    const aborter = new AbortController();
    const abortAt = spec.abortAfterMs === undefined ? undefined : start + spec.abortAfterMs;
    if (spec.abortAfterMs !== undefined) void clock.sleep(spec.abortAfterMs).then(() => aborter.abort());
    const result = await gatedCall(
      { clock, gate, retry: scenario.retry, random },
      {
        caller,
        operation: spec.operation,
        jobId: index,
        deadline,
        signal: aborter.signal,
        firstTryPastDeadline: spec.firstTryPastDeadline,
        lastTry: spec.lastTry,
        tryOnce: async (attempt): Promise<Attempt<string>> => {
          const entry = gate.entries.get(caller) ?? 'late';
          gate.entries.delete(caller);
          const at = clock.now();
          const sentSeq = ++seq;
          const latency = scenario.latenciesMs[sent++ % scenario.latenciesMs.length] ?? 0;
          if (latency > 0) await clock.sleep(latency);
          // NOTE: the server's state when the request arrived decides the answer.
          const failed = at < upAt;
          const holdUntil =
            failed && scenario.retryAfterSeconds !== undefined
              ? clock.now() + scenario.retryAfterSeconds * 1_000
              : undefined;
          requests.push({
            caller: index,
            attempt,
            entry,
            at,
            landedAt: clock.now(),
            sentSeq,
            landedSeq: ++seq,
            failed,
            holdUntil,
          });
          if (!failed) return { kind: 'answered', value: 'ok' };
          return {
            kind: 'transient',
            detail: '503 from PUT /jobs/:id',
            ...(holdUntil === undefined ? {} : { wait: { retryAfterAt: holdUntil } }),
          };
        },
      },
    );
    return { start, deadline, abortAt, end: clock.now(), result };
  };
  const ended = await clock.run(Promise.all(scenario.callers.map((spec, index) => call(index, spec))), 100_000);
  return {
    scenario,
    t0,
    upAt,
    requests,
    ended,
    maxLatencyMs: Math.max(0, ...scenario.latenciesMs),
  };
}

// -- the properties ---------------------------------------------------------------------------------------------------

type Property = NamedProperty<Run>;

const isLastTry = (request: Request): boolean => request.entry === 'last-try' || request.entry === 'late';

/**
 * The requests sent while the gate knew the server failing: the last answer to land before them was a failure. A stale
 * failure (of a request sent before an answer that has landed since) counts only with `stale`: the gate once took one
 * for news (found by this property; server-gate.test.ts pins the fix), now it does not.
 */
function sentWhileFailing(run: Run, stale: boolean): Set<Request> {
  const moments = run.requests
    .flatMap((request) => [
      { seq: request.sentSeq, landing: false, request },
      { seq: request.landedSeq, landing: true, request },
    ])
    .sort((a, b) => a.seq - b.seq);
  const sent = new Set<Request>();
  let failing = false;
  let lastAnswerSeq = Number.NEGATIVE_INFINITY;
  for (const { seq, landing, request } of moments) {
    if (!landing) {
      if (failing) sent.add(request);
    } else if (request.failed) {
      failing = stale || lastAnswerSeq < request.sentSeq;
    } else {
      failing = false;
      lastAnswerSeq = seq;
    }
  }
  return sent;
}

/** Two calls that are not last tries in flight at once while the gate knows the server failing, if any. */
function scoutOverlap(run: Run, stale: boolean): string | undefined {
  const failing = sentWhileFailing(run, stale);
  const scouts = run.requests.filter((r) => !isLastTry(r) && failing.has(r)).sort((a, b) => a.sentSeq - b.sentSeq);
  let busyUntil = Number.NEGATIVE_INFINITY;
  let holder: Request | undefined;
  for (const request of scouts) {
    if (request.at < busyUntil && holder !== undefined)
      return `caller ${request.caller} went out at +${request.at - run.t0} ms while caller ${holder.caller}'s call was in flight`;
    if (request.landedAt > busyUntil) {
      busyUntil = request.landedAt;
      holder = request;
    }
  }
  return undefined;
}

const properties: Record<string, Property> = {
  'every caller ends, answered, exhausted or aborted, by its deadline (or start) plus one latency': (run) => {
    for (const [index, caller] of run.ended.entries()) {
      const { result } = caller;
      if (result.kind === 'aborted' && (caller.abortAt === undefined || caller.abortAt > caller.end))
        return `caller ${index} aborted without an abort`;
      const bound = Math.max(caller.deadline, caller.start) + run.maxLatencyMs;
      if (caller.end > bound) return `caller ${index} ended ${caller.end - bound} ms after its deadline and a latency`;
      if (caller.abortAt !== undefined && caller.end > Math.max(caller.abortAt, caller.start) + run.maxLatencyMs)
        return `caller ${index} ended ${caller.end - caller.abortAt} ms after its abort`;
    }
    return undefined;
  },

  'while the server fails, at most one call that is not a last try is in flight': (run) => scoutOverlap(run, false),

  'no call starts at or after its deadline, but a first try marked firstTryPastDeadline': (run) => {
    for (const request of run.requests) {
      const caller = run.ended[request.caller]!;
      const spec = run.scenario.callers[request.caller]!;
      if (request.at < caller.deadline) continue;
      if (request.attempt === 1 && spec.firstTryPastDeadline) continue;
      return `caller ${request.caller}'s try ${request.attempt} at ${request.at - caller.deadline} ms past its deadline`;
    }
    return undefined;
  },

  'a caller still waiting when the server is back a last-try lead before its deadline is answered': (run) => {
    const { lastTryLeadMs } = run.scenario;
    // NOTE: every failure has landed one latency after the server is back; a Retry-After may hold everyone longer.
    const holdEnd = Math.max(0, ...run.requests.map((r) => r.holdUntil ?? 0));
    const settledUp = Math.max(run.upAt + run.maxLatencyMs, holdEnd);
    for (const [index, caller] of run.ended.entries()) {
      const spec = run.scenario.callers[index]!;
      if (!spec.lastTry) continue;
      if (caller.abortAt !== undefined && caller.abortAt < caller.deadline + run.maxLatencyMs) continue;
      if (Math.max(settledUp, caller.start) >= caller.deadline - lastTryLeadMs) continue;
      if (caller.result.kind !== 'answered')
        return `caller ${index} ${caller.result.kind}, back at +${settledUp - run.t0} ms, deadline +${caller.deadline - run.t0} ms`;
    }
    return undefined;
  },

  'no call starts before a Retry-After the server gave': (run) => {
    // NOTE: gated-call.ts lets a first try past its deadline skip the gate, but not a server's wait: no exception here.
    for (const failure of run.requests) {
      const until = failure.holdUntil;
      if (until === undefined) continue;
      const early = run.requests.find((r) => r.at > failure.landedAt && r.at < until);
      if (early !== undefined)
        return `caller ${early.caller} went out at +${early.at - run.t0} ms, Retry-After until +${until - run.t0} ms`;
    }
    return undefined;
  },

  'during the outage the requests stay within the callers, the scout cadence and each scout’s backoff ramp': (run) => {
    const during = run.requests.filter((r) => r.at < run.upAt);
    if (during.length === 0) return undefined;
    const { scoutIntervalMs, retry, callers, retryAfterSeconds } = run.scenario;
    // NOTE: a backoff capped below the cadence spaces the scout by the backoff alone; no cadence bound then.
    if (retry.maxMs < scoutIntervalMs) return undefined;
    const window = run.upAt - Math.min(...during.map((r) => r.at));
    const pace = Math.min(scoutIntervalMs / 2, retryAfterSeconds === undefined ? Infinity : retryAfterSeconds * 1_000);
    const bound = callers.length * perCallerAllowance(run.scenario) + window / pace;
    return during.length <= bound
      ? undefined
      : `${during.length} requests in ${window} ms of outage, bound ${Math.floor(bound)}`;
  },
};

/**
 * What one caller may add to the scout's cadence (docs/design.md §2b; gated-call.ts, server-gate.ts): its first try
 * (sent before the gate learns of the outage, or past its deadline), its last try, and — when it becomes the scout —
 * the retries whose full-jitter backoff ceiling is still below half the scout interval, plus the short draws full
 * jitter makes from the larger ceilings (about 1 / (1 − 1/factor) of them, the sum of a geometric series), rounded up.
 */
function perCallerAllowance({ retry, scoutIntervalMs }: Scenario): number {
  let ramp = 0;
  while (Math.min(retry.maxMs, retry.initialMs * retry.factor ** ramp) < scoutIntervalMs / 2) ramp += 1;
  const jitter = Math.ceil(1 / (1 - 1 / retry.factor)) + 1;
  return 2 + ramp + jitter;
}

describe('ServerGate and gatedCall with many callers and a GitLab down for a while', () => {
  test('the gate keeps its promises to the server and to every caller', { timeout: 60_000 }, async () => {
    await fc.assert(
      fc.asyncProperty(scenarioArb, async (scenario) => {
        const run = await play(scenario);
        expect(violations(properties, run)).toEqual([]);
      }),
      { numRuns: NUM_RUNS, seed: SEED },
    );
  });
});
