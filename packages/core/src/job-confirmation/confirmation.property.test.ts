import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import type { JobPayload } from '../job/job.types.js';
import {
  MalformedResponseError,
  ResponseTooLargeError,
  TransportError,
  UnexpectedStatusError,
} from '../network/network.errors.js';
import type { JobStatus, RunnerStatusResult, ServerWait, UpdateJobResult } from '../network/network.types.js';
import type { RunnerEvent } from '../observer/observer.port.js';
import { defaultRetryPolicy, type RetryPolicy } from '../retry/retry-policy.js';
import { ServerGate } from '../retry/server-gate.js';
import { FakeClock } from '../testing/fake-clock.js';
import { type NamedProperty, violations } from '../testing/named-properties.js';
import { jobAnswer, type ScriptedCall, ScriptedNetwork } from '../testing/scripted-network.js';
import { decodeJobPayload } from '../wire/job-payload-decoding.js';
import {
  type ConfirmationOutcome,
  type ConfirmPolicy,
  isRunnable,
  type StrategyChoice,
  type StrategyName,
} from './confirmation.types.js';
import { JobConfirmation } from './job-confirmation.js';

/*
 * JobConfirmation against a server whose answers are random sequences (docs/design.md §2): every kind of result with
 * random `Job-Status`, waits and update intervals, interleaved with transport and other network faults, each after a
 * random latency; random options, policy, strategy, probe, preparation time, and declines that may race a
 * confirmation on the wire. The test keeps its own record of what the server answered and when, and checks the
 * outcome, the events and every request against the rules of §2, not against the code's own bookkeeping.
 */

const NUM_RUNS = 800;
/** Far more than any run needs (one operation retries for at most a window, at least ~50 ms apart). */
const MAX_REQUESTS = 20_000;
const SEED = 20_260_101;

// -- the server's answers ---------------------------------------------------------------------------------------------

type ResultKind =
  | 'succeeded'
  | 'accepted'
  | 'trace-invalid'
  | 'aborted'
  | 'conflict'
  | 'rejected'
  | 'retryable'
  | 'failed'
  | 'unsupported';

/**
 * The waits a server sends, in the wire's resolution: `Retry-After` in whole seconds or as an HTTP date, and
 * `RateLimit-ResetTime` as an HTTP date (whole seconds). Offsets are from the moment of the answer; negative ones lie
 * in the past (they must not count), some lie hours ahead.
 */
interface WaitSpec {
  readonly retryAfter: { readonly seconds: number } | { readonly dateInMs: number } | undefined;
  readonly rateLimitResetInMs: number | undefined;
}

interface ResultSpec {
  readonly type: 'result';
  readonly kind: ResultKind;
  readonly retryStatus: number;
  readonly failStatus: number;
  readonly reason: 'forbidden' | 'not-found';
  readonly jobStatus: JobStatus | undefined;
  readonly updateIntervalMs: number | undefined;
  readonly wait: WaitSpec | undefined;
  readonly latencyMs: number;
}

type AnswerSpec =
  | ResultSpec
  | { readonly type: 'transport'; readonly sent: boolean; readonly latencyMs: number }
  | { readonly type: 'fault'; readonly fault: 'malformed' | 'status' | 'too-large'; readonly latencyMs: number };

const latencyArb = fc.oneof(
  { weight: 4, arbitrary: fc.constant(0) },
  { weight: 1, arbitrary: fc.integer({ min: 1, max: 8_000 }) },
);

const offsetArb = fc.oneof(
  fc.integer({ min: -120_000, max: -1 }),
  fc.integer({ min: 0, max: 150_000 }),
  fc.integer({ min: 3_600_000, max: 86_400_000 }),
);

const waitArb: fc.Arbitrary<WaitSpec | undefined> = fc.option(
  fc.record({
    retryAfter: fc.option(
      fc.oneof(
        fc.record({ seconds: fc.oneof(fc.integer({ min: 0, max: 150 }), fc.integer({ min: 3_600, max: 86_400 })) }),
        fc.record({ dateInMs: offsetArb }),
      ),
      { nil: undefined },
    ),
    rateLimitResetInMs: fc.option(offsetArb, { nil: undefined }),
  }),
  { nil: undefined, freq: 2 },
);

function answerArb(kinds: readonly ResultKind[]): fc.Arbitrary<AnswerSpec> {
  const result: fc.Arbitrary<AnswerSpec> = fc.record({
    type: fc.constant('result' as const),
    // NOTE: mostly 200s and transient faults, so runs get far enough to hold, retry, fall back and race a decline.
    kind: fc.oneof(
      { weight: 3, arbitrary: fc.constant<ResultKind>('succeeded') },
      { weight: 1, arbitrary: fc.constant<ResultKind>('retryable') },
      { weight: 2, arbitrary: fc.constantFrom(...kinds) },
    ),
    retryStatus: fc.constantFrom(408, 429, 500, 502, 503, 504, 512, 599),
    failStatus: fc.constantFrom(401, 405, 422, 501, 505),
    reason: fc.constantFrom('forbidden' as const, 'not-found' as const),
    jobStatus: fc.oneof(
      { weight: 8, arbitrary: fc.constantFrom<JobStatus | undefined>(undefined, 'pending', 'running') },
      { weight: 1, arbitrary: fc.constantFrom<JobStatus | undefined>('canceling', 'canceled', 'failed') },
    ),
    // NOTE: X-GitLab-Trace-Update-Interval comes in whole seconds; a confirmation has no use for it but must not trip.
    updateIntervalMs: fc.option(
      fc.integer({ min: -5, max: 900 }).map((seconds) => seconds * 1_000),
      { nil: undefined },
    ),
    wait: waitArb,
    latencyMs: latencyArb,
  });
  const transport: fc.Arbitrary<AnswerSpec> = fc.record({
    type: fc.constant('transport' as const),
    sent: fc.boolean(),
    latencyMs: latencyArb,
  });
  const fault: fc.Arbitrary<AnswerSpec> = fc.record({
    type: fc.constant('fault' as const),
    fault: fc.constantFrom('malformed' as const, 'status' as const, 'too-large' as const),
    latencyMs: latencyArb,
  });
  return fc.oneof(
    { weight: 6, arbitrary: result },
    { weight: 2, arbitrary: transport },
    { weight: 1, arbitrary: fault },
  );
}

const UPDATE_KINDS: readonly ResultKind[] = [
  'succeeded',
  'accepted',
  'trace-invalid',
  'aborted',
  'conflict',
  'rejected',
  'retryable',
  'failed',
];
// NOTE: only the runner-status route can be missing; a PUT /jobs/:id never answers `unsupported`.
const STATUS_KINDS: readonly ResultKind[] = [...UPDATE_KINDS, 'unsupported'];

/** The answer a real classifier would build: `Job-Status: canceled/failed` outranks the status, `unsupported` has none. */
function resultOf(spec: ResultSpec, now: number): RunnerStatusResult {
  const jobStatus = spec.kind === 'unsupported' ? undefined : spec.jobStatus;
  const wait = serverWaitOf(spec.wait, now);
  const hints = {
    ...(jobStatus === undefined ? {} : { jobStatus }),
    ...(spec.updateIntervalMs === undefined ? {} : { updateIntervalMs: spec.updateIntervalMs }),
    ...(wait === undefined ? {} : { wait }),
  };
  if (jobStatus === 'canceled') return jobAnswer('aborted', { reason: 'job-canceled' }, hints);
  if (jobStatus === 'failed') return jobAnswer('aborted', { reason: 'job-failed' }, hints);
  switch (spec.kind) {
    case 'aborted':
      return jobAnswer('aborted', { reason: spec.reason }, hints);
    case 'retryable':
      return jobAnswer('retryable', { status: spec.retryStatus }, hints);
    case 'failed':
      return jobAnswer('failed', { status: spec.failStatus }, hints);
    case 'succeeded':
    case 'accepted':
    case 'trace-invalid':
    case 'conflict':
    case 'rejected':
    case 'unsupported':
      return jobAnswer(spec.kind, {}, hints);
  }
}

function serverWaitOf(spec: WaitSpec | undefined, now: number): ServerWait | undefined {
  if (spec === undefined) return undefined;
  const httpDate = (offsetMs: number): number => Math.floor((now + offsetMs) / 1_000) * 1_000;
  const { retryAfter, rateLimitResetInMs } = spec;
  return {
    ...(retryAfter === undefined
      ? {}
      : { retryAfterAt: 'seconds' in retryAfter ? now + retryAfter.seconds * 1_000 : httpDate(retryAfter.dateInMs) }),
    ...(rateLimitResetInMs === undefined ? {} : { rateLimitResetAt: httpDate(rateLimitResetInMs) }),
  };
}

function faultOf(spec: Exclude<AnswerSpec, ResultSpec>): Error {
  if (spec.type === 'transport')
    return new TransportError(spec.sent ? 'socket hang up' : 'connect ECONNREFUSED', spec.sent);
  switch (spec.fault) {
    case 'malformed':
      return new MalformedResponseError('answer body is not JSON');
    case 'status':
      return new UnexpectedStatusError('redirect to another origin refused', 302);
    case 'too-large':
      return new ResponseTooLargeError('answer over 65536 bytes', 65_536);
  }
}

// -- what the rules of §2 make of an answer ---------------------------------------------------------------------------

/** The row of the §2 table an answer hits (first match wins), written from the design, not from the code. */
type Step = 'gone' | 'canceling' | 'conflict' | 'rejected' | 'transient' | 'unsupported' | 'unexpected' | 'ok';

function stepOf(answer: RunnerStatusResult | Error): Step {
  if (answer instanceof TransportError) return 'transient';
  if (answer instanceof Error) return 'unexpected';
  if (answer.kind === 'aborted') return 'gone';
  if (answer.cancelRequested) return 'canceling';
  switch (answer.kind) {
    case 'succeeded':
      return 'ok';
    case 'conflict':
      return 'conflict';
    case 'rejected':
      return 'rejected';
    case 'retryable':
      return 'transient';
    case 'unsupported':
      return 'unsupported';
    case 'accepted':
    case 'trace-invalid':
    case 'failed':
      return 'unexpected';
  }
}

/** When the server asked every call to wait until: `RateLimit-ResetTime` if ahead, else `Retry-After` if ahead. */
function holdOf(answer: RunnerStatusResult | Error, now: number): number | undefined {
  if (answer instanceof Error || answer.kind !== 'retryable' || answer.wait === undefined) return undefined;
  const { rateLimitResetAt, retryAfterAt } = answer.wait;
  if (rateLimitResetAt !== undefined && rateLimitResetAt > now) return rateLimitResetAt;
  if (retryAfterAt !== undefined && retryAfterAt > now) return retryAfterAt;
  return undefined;
}

type Role = 'keep-alive' | 'confirm' | 'release' | 'other';

function roleOf(call: ScriptedCall): Role {
  const state =
    call.method === 'updateJob' ? call.input.state : call.method === 'postRunnerStatus' ? call.input.status : '';
  if (state === 'pending') return 'keep-alive';
  if (state === 'running') return 'confirm';
  if (state === 'failed' && call.method === 'updateJob') return 'release';
  return 'other';
}

/**
 * One request and the answer it got, as the server saw them. The orders share one counter with the embedder's decline
 * and the outcome's report, so they tell what came first within one instant of fake time.
 */
interface Exchange {
  readonly role: Role;
  readonly endpoint: 'PUT' | 'POST';
  readonly failureReason: string | undefined;
  readonly at: number;
  readonly sentOrder: number;
  readonly answer: RunnerStatusResult | Error;
  readonly step: Step;
  /** The answer was a 400 (a keep-alive so answered means the server is not holding the job). */
  readonly rejected: boolean;
  /** No answer, or a status worth retrying: what a release tries again after, whatever `Job-Status` says. */
  readonly retryable: boolean;
  readonly hold: number | undefined;
  readonly landedAt: number;
  readonly landedOrder: number;
}

// -- the scenario -----------------------------------------------------------------------------------------------------

type Embedder =
  | { readonly kind: 'immediate' }
  | {
      readonly kind: 'prepare';
      readonly prepareMs: number;
      readonly action: 'confirm' | 'decline';
      /** After `confirm()`, a decline this much later (it may land while the confirmation is on the wire). */
      readonly declineAfterMs: number | undefined;
    };

interface Scenario {
  readonly confirm: ConfirmPolicy;
  readonly strategy: StrategyChoice;
  readonly jobStatusFeature: boolean;
  readonly probe: boolean;
  readonly ackWindowMs: number;
  readonly keepAliveIntervalMs: number;
  readonly deadlineMarginMs: number;
  readonly prepareTimeoutMs: number;
  readonly releaseTimeoutMs: number;
  readonly retry: RetryPolicy;
  readonly scoutIntervalMs: number;
  readonly lastTryLeadMs: number;
  readonly embedder: Embedder;
  readonly updateAnswers: readonly AnswerSpec[];
  readonly updateTail: AnswerSpec;
  readonly statusAnswers: readonly AnswerSpec[];
  readonly statusTail: AnswerSpec;
  readonly seed: number;
}

const scenarioArb: fc.Arbitrary<Scenario> = fc.record({
  confirm: fc.constantFrom<ConfirmPolicy>('auto', 'auto', 'always', 'when-requested', 'off'),
  strategy: fc.constantFrom<StrategyChoice>('auto', 'state-put', 'runner-status'),
  jobStatusFeature: fc.boolean(),
  probe: fc.boolean(),
  // NOTE: with a window of at least 20 s and a margin of at most 5 s every combination passes the options' check.
  ackWindowMs: fc.integer({ min: 20_000, max: 180_000 }),
  keepAliveIntervalMs: fc.integer({ min: 5_000, max: 90_000 }),
  deadlineMarginMs: fc.integer({ min: 0, max: 5_000 }),
  prepareTimeoutMs: fc.integer({ min: 5_000, max: 900_000 }),
  releaseTimeoutMs: fc.integer({ min: 1_000, max: 60_000 }),
  retry: fc.oneof(
    fc.constant(defaultRetryPolicy),
    fc.record({
      // NOTE: a policy whose backoff rounds down to 0 ms retries in a hot loop by the embedder's choice; not that.
      initialMs: fc.integer({ min: 50, max: 2_000 }),
      factor: fc.double({ min: 1.5, max: 3, noNaN: true }),
      maxMs: fc.integer({ min: 100, max: 60_000 }),
    }),
  ),
  scoutIntervalMs: fc.integer({ min: 200, max: 5_000 }),
  lastTryLeadMs: fc.integer({ min: 100, max: 2_000 }),
  embedder: fc.oneof(
    { weight: 1, arbitrary: fc.constant<Embedder>({ kind: 'immediate' }) },
    {
      weight: 3,
      arbitrary: fc.record({
        kind: fc.constant('prepare' as const),
        prepareMs: fc.oneof(
          fc.integer({ min: 0, max: 5_000 }),
          fc.integer({ min: 0, max: 200_000 }),
          fc.integer({ min: 0, max: 1_000_000 }),
        ),
        action: fc.constantFrom('confirm' as const, 'confirm' as const, 'decline' as const),
        declineAfterMs: fc.option(fc.oneof(fc.integer({ min: 0, max: 50 }), fc.integer({ min: 0, max: 10_000 })), {
          nil: undefined,
        }),
      }),
    },
  ),
  updateAnswers: fc.array(answerArb(UPDATE_KINDS), { maxLength: 30 }),
  updateTail: answerArb(UPDATE_KINDS),
  statusAnswers: fc.array(answerArb(STATUS_KINDS), { maxLength: 20 }),
  statusTail: answerArb(STATUS_KINDS),
  seed: fc.integer(),
});

/** A small seeded generator (mulberry32), so the product's jitter is part of the reproducible scenario. */
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

const JOB_ID = 4_242;
const JOB_TOKEN = 'glcbt-64_propertytokenXYZ';
const MASKED = 'masked-value-property';

function aJob(jobStatusFeature: boolean): JobPayload {
  return decodeJobPayload({
    id: JOB_ID,
    token: JOB_TOKEN,
    git_info: { repo_url: `https://gitlab-ci-token:${JOB_TOKEN}@gitlab.example.com/acme/demo.git` },
    variables: [{ key: 'SECRET', value: MASKED, masked: true }],
    features: jobStatusFeature ? { job_status: true } : {},
  });
}

interface Run {
  readonly scenario: Scenario;
  readonly outcome: ConfirmationOutcome;
  readonly sameOutcome: boolean;
  readonly exchanges: readonly Exchange[];
  readonly events: readonly RunnerEvent[];
  readonly receivedAt: number;
  readonly settledAt: number;
  readonly settledOrder: number;
  readonly declineOrder: number | undefined;
}

/** Whether the policy confirms this job at all (docs/design.md §2, "When to confirm"). */
function confirms(scenario: Scenario): boolean {
  if (scenario.confirm === 'off') return false;
  return scenario.confirm !== 'when-requested' || scenario.jobStatusFeature;
}

/** The strategy the policy picks for this job. */
function plannedStrategy(scenario: Scenario): StrategyName {
  if (scenario.strategy !== 'auto') return scenario.strategy;
  if (scenario.confirm === 'always') return 'state-put';
  return scenario.jobStatusFeature ? 'runner-status' : 'state-put';
}

async function play(scenario: Scenario): Promise<Run> {
  const clock = new FakeClock();
  const network = new ScriptedNetwork(() => clock.now());
  const exchanges: Exchange[] = [];
  let order = 0;
  let requests = 0;
  const answering =
    (queue: AnswerSpec[], tail: AnswerSpec) =>
    async (call: ScriptedCall): Promise<RunnerStatusResult | Error> => {
      const spec = queue.shift() ?? tail;
      const sentOrder = ++order;
      requests += 1;
      if (spec.latencyMs > 0) await clock.sleep(spec.latencyMs);
      const now = clock.now();
      const answer = spec.type === 'result' ? resultOf(spec, now) : faultOf(spec);
      exchanges.push({
        role: roleOf(call),
        endpoint: call.method === 'postRunnerStatus' ? 'POST' : 'PUT',
        failureReason: call.method === 'updateJob' ? call.input.failureReason : undefined,
        at: call.at,
        sentOrder,
        answer,
        step: stepOf(answer),
        rejected: !(answer instanceof Error) && answer.kind === 'rejected',
        retryable: answer instanceof TransportError || (!(answer instanceof Error) && answer.kind === 'retryable'),
        hold: holdOf(answer, now),
        landedAt: now,
        landedOrder: ++order,
      });
      return answer;
    };
  const updates = answering([...scenario.updateAnswers], scenario.updateTail);
  const statuses = answering([...scenario.statusAnswers], scenario.statusTail);
  // NOTE: a PUT answer must be an UpdateJobResult; the update queue never holds `unsupported`, so the cast is sound.
  const update = updates as (call: ScriptedCall) => Promise<UpdateJobResult | Error>;
  // NOTE: never the ScriptedNetwork's own default answer: a runaway run must show as one, not end in a 200.
  network.onUpdateJob(...Array.from({ length: MAX_REQUESTS + 1 }, () => update));
  network.onRunnerStatus(...Array.from({ length: MAX_REQUESTS + 1 }, () => statuses));

  const events: RunnerEvent[] = [];
  let settledAt = Number.NaN;
  let settledOrder = Number.NaN;
  const observer = {
    notify: (event: RunnerEvent): void => {
      events.push(event);
      if (event.event === 'job.outcome' && Number.isNaN(settledAt)) {
        settledAt = clock.now();
        settledOrder = ++order;
      }
    },
  };
  const random = seededRandom(scenario.seed);
  const gate = new ServerGate(clock, {
    scoutIntervalMs: scenario.scoutIntervalMs,
    lastTryLeadMs: scenario.lastTryLeadMs,
    random,
  });
  const confirmation = new JobConfirmation(
    { network, clock, gate, observer },
    {
      confirm: scenario.confirm,
      strategy: scenario.strategy,
      probe: scenario.probe,
      ackWindowMs: scenario.ackWindowMs,
      keepAliveIntervalMs: scenario.keepAliveIntervalMs,
      deadlineMarginMs: scenario.deadlineMarginMs,
      prepareTimeoutMs: scenario.prepareTimeoutMs,
      releaseTimeoutMs: scenario.releaseTimeoutMs,
      retry: scenario.retry,
      random,
    },
  );
  const job = aJob(scenario.jobStatusFeature);
  const receivedAt = clock.now();
  let declineOrder: number | undefined;
  let sameOutcome = true;
  const embedder = async (): Promise<ConfirmationOutcome> => {
    const plan = scenario.embedder;
    if (plan.kind === 'immediate') return confirmation.confirm(job, receivedAt);
    const pending = confirmation.receive(job, receivedAt);
    await clock.sleep(plan.prepareMs);
    if (plan.action === 'decline') {
      declineOrder ??= ++order;
      const declined = await pending.decline();
      sameOutcome = declined === (await pending.outcome);
      return declined;
    }
    const confirming = pending.confirm();
    if (plan.declineAfterMs !== undefined) {
      await clock.sleep(plan.declineAfterMs);
      declineOrder ??= ++order;
      void pending.decline('the runner is shutting down');
    }
    const outcome = await confirming;
    sameOutcome = outcome === (await pending.outcome);
    return outcome;
  };
  const outcome = await clock.run(embedder(), 50_000);
  // Long enough for any stray keep-alive, prepare timer or retry to show itself.
  await clock.advance(2 * (scenario.prepareTimeoutMs + scenario.ackWindowMs + scenario.releaseTimeoutMs));
  if (requests > MAX_REQUESTS) throw new Error(`${requests} requests: a retry loop without end`);
  return {
    scenario,
    outcome,
    sameOutcome,
    exchanges,
    events,
    receivedAt,
    settledAt,
    settledOrder,
    declineOrder,
  };
}

// -- the properties ---------------------------------------------------------------------------------------------------

/** Each returns a description of the violation, or `undefined`. */
type Property = NamedProperty<Run>;

/** The mode the keep-alives' answers told, counting those answered before `order` (§2 "Mode"). */
function modeBefore(run: Run, order: number): 'two-phase' | 'legacy' | 'unknown' {
  let mode: 'two-phase' | 'legacy' | 'unknown' = 'unknown';
  for (const exchange of run.exchanges) {
    if (exchange.role !== 'keep-alive' || exchange.landedOrder > order) continue;
    if (exchange.step === 'ok') mode = 'two-phase';
    if (exchange.rejected) mode = 'legacy';
  }
  return mode;
}

const beforeSettled = (run: Run): Exchange[] => run.exchanges.filter((e) => e.sentOrder < run.settledOrder);

/** Release tries grouped into releases: a try after a transient answer with the same reason is the same release. */
function releases(exchanges: readonly Exchange[]): Exchange[][] {
  const groups: Exchange[][] = [];
  for (const exchange of exchanges) {
    if (exchange.role !== 'release') continue;
    const current = groups.at(-1);
    const previous = current?.at(-1);
    if (current !== undefined && previous?.retryable === true && previous.failureReason === exchange.failureReason)
      current.push(exchange);
    else groups.push([exchange]);
  }
  return groups;
}

/** The answers whose row a decline during the confirmation overrides: see the DEFECT tests at the end. */
/** Whether a confirmation's answer left open that it landed (no answer after it was sent, or a 5xx but 503). */
function leftOpen(exchange: Exchange): boolean {
  if (exchange.role !== 'confirm' || exchange.step !== 'transient') return false;
  const { answer } = exchange;
  if (answer instanceof TransportError) return answer.sent;
  if (answer instanceof Error) return false;
  return !(answer.kind === 'retryable' && (answer.status === 429 || answer.status === 503));
}

/** After these exchanges, whether a confirmation may have landed: a later decisive answer settles the question. */
function confirmationLeftOpen(exchanges: readonly Exchange[]): boolean {
  let open = false;
  const confirms = exchanges.filter((e) => e.role === 'confirm').sort((a, b) => a.landedOrder - b.landedOrder);
  for (const exchange of confirms) {
    if (exchange.step !== 'transient') open = false;
    else if (leftOpen(exchange)) open = true;
  }
  return open;
}

const properties: Record<string, Property> = {
  'the outcome promise and the handle agree': (run) =>
    run.sameOutcome ? undefined : 'confirm()/decline() resolved to another outcome than pending.outcome',

  'exactly one job.outcome event, matching the outcome': (run) => {
    const outcomes = run.events.filter((event) => event.event === 'job.outcome');
    if (outcomes.length !== 1) return `${outcomes.length} job.outcome events`;
    const [event] = outcomes;
    const { outcome } = run;
    if (
      event?.event !== 'job.outcome' ||
      event.outcome !== outcome.kind ||
      event.mode !== outcome.mode ||
      event.strategy !== outcome.strategy ||
      event.attempts !== outcome.attempts
    )
      return `event ${JSON.stringify(event)} does not match outcome ${outcome.kind}/${outcome.mode}`;
    return undefined;
  },

  'a ConfirmedJob comes only with confirmed or skipped': (run) => {
    const { outcome } = run;
    const runnableKind = outcome.kind === 'confirmed' || outcome.kind === 'skipped';
    if (isRunnable(outcome) !== runnableKind) return `isRunnable says ${isRunnable(outcome)} for ${outcome.kind}`;
    if ('job' in outcome !== runnableKind) return `${outcome.kind} ${runnableKind ? 'lacks' : 'carries'} a job`;
    if (isRunnable(outcome) && (outcome.job.confirmation !== outcome.kind || outcome.job.id !== JOB_ID))
      return `the job of a ${outcome.kind} outcome says ${outcome.job.confirmation} for job ${outcome.job.id}`;
    return undefined;
  },

  'skipped exactly when the policy does not confirm a job the embedder would run; no keep-alive then': (run) => {
    const { scenario, outcome } = run;
    const plan = scenario.embedder;
    const wouldRun =
      plan.kind === 'immediate' || (plan.action === 'confirm' && plan.prepareMs < scenario.prepareTimeoutMs);
    if (outcome.kind === 'skipped' && confirms(scenario)) return `skipped under confirm=${scenario.confirm}`;
    if (!confirms(scenario) && wouldRun && outcome.kind !== 'skipped')
      return `${outcome.kind} under confirm=${scenario.confirm}`;
    if (outcome.kind === 'skipped' && run.exchanges.length > 0) return `${run.exchanges.length} requests, skipped`;
    if (!confirms(scenario) && run.exchanges.some((e) => e.role !== 'release'))
      return 'a keep-alive or confirmation for a job the policy does not confirm';
    const first = run.exchanges.find((e) => e.role === 'keep-alive' || e.role === 'confirm');
    const expected = plannedStrategy(run.scenario) === 'runner-status' ? 'POST' : 'PUT';
    if (first !== undefined && first.endpoint !== expected) return `first call ${first.endpoint}, expected ${expected}`;
    return undefined;
  },

  'confirmed only after a 200 without canceling to the last confirmation, and no decline before it landed': (run) => {
    if (run.outcome.kind !== 'confirmed') return undefined;
    const sent = beforeSettled(run);
    const last = sent.filter((e) => e.role === 'confirm').at(-1);
    if (last === undefined) return 'confirmed without a confirmation request';
    if (last.step !== 'ok') return `confirmed after a confirmation answered ${last.step}`;
    if (sent.at(-1) !== last) return 'confirmed although the last request was not the confirmation';
    if (run.declineOrder !== undefined && run.declineOrder < last.landedOrder)
      return 'confirmed although the decline came before the answer landed';
    return undefined;
  },

  'the outcome mode is the one the keep-alives told': (run) => {
    const mode = modeBefore(run, run.settledOrder);
    return run.outcome.mode === mode ? undefined : `outcome mode ${run.outcome.mode}, keep-alives told ${mode}`;
  },

  'no release in mode two-phase but after canceling, for a confirmation that landed after a decline, or one that may have landed':
    (run) => {
      for (const release of run.exchanges.filter((e) => e.role === 'release')) {
        if (modeBefore(run, release.sentOrder) !== 'two-phase') continue;
        const earlier = run.exchanges.filter((e) => e.landedOrder < release.sentOrder);
        const afterCanceling =
          release.failureReason === 'job_canceled' &&
          earlier.some((e) => e.role !== 'release' && e.step === 'canceling');
        const confirmedAfterDecline =
          release.failureReason === 'runner_system_failure' &&
          run.declineOrder !== undefined &&
          earlier.some((e) => e.role === 'confirm' && e.step === 'ok' && e.landedOrder > (run.declineOrder ?? 0));
        // NOTE: a confirmation whose answer left open whether it landed (soak D3): GitLab may run the job.
        const mayHaveLanded = release.failureReason === 'runner_system_failure' && confirmationLeftOpen(earlier);
        if (!afterCanceling && !confirmedAfterDecline && !mayHaveLanded)
          return `PUT failed/${release.failureReason} at +${release.at - run.receivedAt} ms in mode two-phase`;
      }
      return undefined;
    },

  'at most one release per decision, retried only after transient failures, within its budget': (run) => {
    const groups = releases(run.exchanges);
    if (groups.length > 1)
      return `${groups.length} releases: ${groups.map((group) => `${group[0]?.failureReason}×${group.length}`).join(', ')}`;
    const [group] = groups;
    const { outcome } = run;
    const release = 'release' in outcome ? outcome.release : undefined;
    if (group === undefined) {
      // NOTE: a release the gate closed on (the server's wait runs past its budget) sends nothing: undelivered.
      return release === undefined || !release.delivered ? undefined : 'a release delivered without a request';
    }
    const first = group[0]!;
    const last = group.at(-1)!;
    if (release === undefined) return `PUT failed/${first.failureReason} sent, the ${outcome.kind} outcome has none`;
    if (release.failureReason !== first.failureReason)
      return `release ${first.failureReason} sent, outcome says ${release.failureReason}`;
    if (release.delivered === last.retryable)
      return `release delivered=${release.delivered} after a last answer ${last.step}`;
    if (last.at - first.at > run.scenario.releaseTimeoutMs)
      return `release tried for ${last.at - first.at} ms, budget ${run.scenario.releaseTimeoutMs} ms`;
    return undefined;
  },

  'nothing is sent after the outcome settled but the retried release': (run) => {
    const after = run.exchanges.filter((e) => e.sentOrder > run.settledOrder);
    const allowed = releases(run.exchanges).flatMap((group) => group.slice(1));
    const stray = after.find((e) => !allowed.includes(e));
    return stray === undefined
      ? undefined
      : `${stray.endpoint} ${stray.role} at +${stray.at - run.settledAt} ms after the ${run.outcome.kind} outcome`;
  },

  'after gone or conflict nothing more is sent; after canceling only the job_canceled release': (run) => {
    const decisive = run.exchanges.find(
      (e) =>
        e.role !== 'release' &&
        e.sentOrder < run.settledOrder &&
        (e.step === 'gone' || e.step === 'conflict' || e.step === 'canceling'),
    );
    if (decisive === undefined) return undefined;
    const later = run.exchanges.filter((e) => e.sentOrder > decisive.landedOrder);
    const expected = decisive.step === 'canceling' ? 'canceled' : decisive.step;
    if (run.outcome.kind !== expected)
      return `outcome ${run.outcome.kind} after a ${decisive.role} answered ${expected}`;
    if (decisive.step !== 'canceling')
      return later.length === 0 ? undefined : `${later.length} requests after ${decisive.step}`;
    if (later.some((e) => e.role !== 'release' || e.failureReason !== 'job_canceled'))
      return `after canceling: ${later.map((e) => `${e.endpoint} ${e.role}/${e.failureReason ?? ''}`).join(', ')}`;
    if (releases(later).length !== 1 && !(run.outcome.kind === 'canceled' && run.outcome.release?.delivered === false))
      return `${releases(later).length} job_canceled releases after canceling`;
    return undefined;
  },

  'no silence longer than the ack window while the job is held': (run) => {
    const { ackWindowMs } = run.scenario;
    const sent = beforeSettled(run);
    const held = run.scenario.embedder.kind === 'prepare' && confirms(run.scenario);
    let quietFrom = held ? run.receivedAt : sent[0]?.at;
    let keepAlivesStopped = false;
    let hold = Number.NEGATIVE_INFINITY;
    const check = (at: number, next: Exchange | undefined): string | undefined => {
      if (quietFrom === undefined || at - quietFrom <= ackWindowMs) return undefined;
      // NOTE: after a 400 or an answer of no meaning to a keep-alive the server is not holding the job for us (§2).
      if (keepAlivesStopped) return undefined;
      // NOTE: a server's wait past the deadline ends the operation; the release then goes out when the wait ends.
      if (next?.role === 'release' && next.at <= hold) return undefined;
      return `${at - quietFrom} ms without a request (window ${ackWindowMs} ms) before +${at - run.receivedAt} ms`;
    };
    for (const exchange of sent) {
      const violation = check(exchange.at, exchange);
      if (violation !== undefined) return violation;
      // NOTE: from the first release on the job is given up, not held; the release has a budget of its own.
      if (exchange.role === 'release') return undefined;
      quietFrom = Math.max(quietFrom ?? exchange.landedAt, exchange.landedAt);
      if (exchange.role === 'keep-alive' && (exchange.step === 'rejected' || exchange.step === 'unexpected'))
        keepAlivesStopped = true;
      if (exchange.role === 'keep-alive' && exchange.rejected) keepAlivesStopped = true;
      if (exchange.hold !== undefined) hold = Math.max(hold, exchange.hold);
    }
    return check(run.settledAt, undefined);
  },

  'events and the outcome never carry the job token or a masked value': (run) => {
    const printed = JSON.stringify(run.events) + JSON.stringify(run.outcome) + String(run.outcome);
    for (const secret of [JOB_TOKEN, MASKED]) if (printed.includes(secret)) return `found ${secret}`;
    return undefined;
  },
};

describe('JobConfirmation over random answer sequences', () => {
  test('every rule of docs/design.md §2 holds whatever the server answers', { timeout: 60_000 }, async () => {
    await fc.assert(
      fc.asyncProperty(scenarioArb, async (scenario) => {
        const run = await play(scenario);
        expect(violations(properties, run)).toEqual([]);
      }),
      { numRuns: NUM_RUNS, seed: SEED },
    );
  });
});

// -- defects the properties found -------------------------------------------------------------------------------------

/** What fast-check shrinks every option to: the smallest window, margin, budgets, default backoff. */
const SHRUNK: Omit<Scenario, 'embedder' | 'updateAnswers' | 'updateTail' | 'statusAnswers' | 'statusTail'> = {
  confirm: 'auto',
  strategy: 'auto',
  jobStatusFeature: false,
  probe: false,
  ackWindowMs: 20_000,
  keepAliveIntervalMs: 5_000,
  deadlineMarginMs: 0,
  prepareTimeoutMs: 5_000,
  releaseTimeoutMs: 1_000,
  retry: defaultRetryPolicy,
  scoutIntervalMs: 200,
  lastTryLeadMs: 100,
  seed: 0,
};

/** A result as fast-check shrinks it: status 408/401, reason forbidden, no hints but those given. */
function shrunkResult(kind: ResultKind, fields: Partial<ResultSpec> = {}): ResultSpec {
  return {
    type: 'result',
    kind,
    retryStatus: 408,
    failStatus: 401,
    reason: 'forbidden',
    jobStatus: undefined,
    updateIntervalMs: undefined,
    wait: undefined,
    latencyMs: 0,
    ...fields,
  };
}

/** confirm() at once, then decline() on the next timer: the confirmation is then 1 ms on the wire. */
const CONFIRM_THEN_DECLINE: Embedder = { kind: 'prepare', prepareMs: 0, action: 'confirm', declineAfterMs: 0 };

/*
 * FIXED DEFECT (pending-job.ts, PendingJobHandle#confirm, the `#declineReason !== undefined` branch): when the embedder
 * declined while the confirmation was on the wire, every answer but a 200 was handed to `#giveUp()`, which in mode
 * `unknown`/`legacy` sends `PUT state=failed failure_reason=runner_system_failure` and in mode `two-phase` sends nothing.
 * That overrides the answer's row of docs/design.md §2 ("first match wins"): after a 409 it fails a job another runner
 * manager holds; after a 403 or `Job-Status: failed` it updates a job that is gone; after `Job-Status: canceling` it
 * reports runner_system_failure instead of job_canceled, or (two-phase) nothing at all, leaving the job `canceling`.
 * Found by the property 'after gone or conflict nothing more is sent; after canceling only the job_canceled release'
 * (fast-check seed 20260101). The counterexamples stay as tests of the fix.
 */
describe('a decline during the confirmation keeps the answer’s row of the table (found by the properties, fixed)', () => {
  test('a 409 that lands after the decline is a conflict: nothing is released', async () => {
    // Shrunk counterexample, seed 20260101, path 156:1:1:1:1:1:1:1:1:2:1:1:1:4:3:3:3:3:3:3:3:3:3:3:3:3:3:3.
    const run = await play({
      ...SHRUNK,
      jobStatusFeature: true,
      embedder: CONFIRM_THEN_DECLINE,
      updateAnswers: [],
      updateTail: { type: 'transport', sent: false, latencyMs: 0 },
      statusAnswers: [shrunkResult('conflict', { latencyMs: 1 })],
      statusTail: shrunkResult('succeeded'),
    });
    expect(run.exchanges.map((e) => `${e.endpoint} ${e.role} ${e.failureReason ?? ''}`.trim())).toEqual([
      'POST confirm',
    ]);
    expect(run.outcome.kind).toBe('conflict');
  });

  test('a Job-Status: failed that lands after the decline is gone: nothing is released', async () => {
    // Shrunk counterexample, seed 20260101, path 713:1:0:0:0:0:0:0:0:0:1:0:2:1:2:2:2:2:2:2:2:2:2:2:2:2:2:2.
    const run = await play({
      ...SHRUNK,
      embedder: CONFIRM_THEN_DECLINE,
      updateAnswers: [shrunkResult('retryable', { jobStatus: 'failed', latencyMs: 1 })],
      updateTail: { type: 'fault', fault: 'malformed', latencyMs: 0 },
      statusAnswers: [],
      statusTail: shrunkResult('succeeded'),
    });
    expect(run.exchanges.map((e) => `${e.endpoint} ${e.role} ${e.failureReason ?? ''}`.trim())).toEqual([
      'PUT confirm',
    ]);
    expect(run.outcome.kind).toBe('gone');
  });

  test('a Job-Status: canceling that lands after the decline is released as job_canceled', async () => {
    // Shrunk counterexample, seed 20260101, path 833:1:0:1:1:0:0:0:0:0:0:0:0:0:4:3:1:0:2:8:7:7:7:3:3:3:3:3.
    const run = await play({
      ...SHRUNK,
      retry: { initialMs: 50, factor: 1.5, maxMs: 100 },
      seed: -2,
      embedder: { kind: 'prepare', prepareMs: 4_658, action: 'confirm', declineAfterMs: 0 },
      updateAnswers: [
        { type: 'fault', fault: 'malformed', latencyMs: 0 },
        shrunkResult('succeeded', { jobStatus: 'canceling', latencyMs: 1 }),
      ],
      updateTail: { type: 'fault', fault: 'malformed', latencyMs: 1 },
      statusAnswers: [],
      statusTail: { type: 'transport', sent: false, latencyMs: 0 },
    });
    expect(releases(run.exchanges).map((group) => group[0]?.failureReason)).toEqual(['job_canceled']);
    expect(run.outcome.kind).toBe('canceled');
  });

  test('in mode two-phase the same canceling answer is released as job_canceled too', async () => {
    // The counterexample above with a probe answered 200 first, so the mode is two-phase.
    const run = await play({
      ...SHRUNK,
      probe: true,
      embedder: CONFIRM_THEN_DECLINE,
      updateAnswers: [shrunkResult('succeeded'), shrunkResult('succeeded', { jobStatus: 'canceling', latencyMs: 1 })],
      updateTail: { type: 'fault', fault: 'malformed', latencyMs: 0 },
      statusAnswers: [],
      statusTail: shrunkResult('succeeded'),
    });
    expect(run.outcome.mode).toBe('two-phase');
    expect(releases(run.exchanges).map((group) => group[0]?.failureReason)).toEqual(['job_canceled']);
  });
});
