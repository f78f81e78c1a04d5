import { describe, expect, test } from 'vitest';
import type { JobPayload } from '../job/job.types.js';
import { MalformedResponseError, TransportError } from '../network/network.errors.js';
import type { RunnerStatusResult, UpdateJobResult } from '../network/network.types.js';
import type { RunnerEvent } from '../observer/observer.port.js';
import { ServerGate } from '../retry/server-gate.js';
import { Secret } from '../secret/secret.js';
import { FakeClock } from '../testing/fake-clock.js';
import { jobAnswer, type Scripted, ScriptedNetwork, sentState as sentStateOf } from '../testing/scripted-network.js';
import { decodeJobPayload } from '../wire/job-payload-decoding.js';
import type { ConfirmationOutcome, JobConfirmationOptions, StrategyName } from './confirmation.types.js';
import { JobConfirmation } from './job-confirmation.js';

const JOB_TOKEN = 'glcbt-64_secretjobtoken';

function aJob(id = 42, features: Record<string, unknown> = {}): JobPayload {
  return decodeJobPayload({
    id,
    token: `${JOB_TOKEN}-${id}`,
    git_info: { repo_url: `https://gitlab-ci-token:${JOB_TOKEN}-${id}@gitlab.example.com/acme/demo.git` },
    variables: [{ key: 'SECRET', value: 'masked-value-123', masked: true }],
    features,
  });
}

function setup(options: JobConfirmationOptions = {}) {
  const clock = new FakeClock();
  const network = new ScriptedNetwork(() => clock.now());
  const events: RunnerEvent[] = [];
  const gate = new ServerGate(clock);
  const confirmation = new JobConfirmation(
    { network, clock, gate, observer: { notify: (event) => events.push(event) } },
    { random: () => 0.5, ...options },
  );
  return { clock, network, events, confirmation, gate };
}

/** A job whose payload makes `auto` pick the given strategy. */
const jobFor = (strategy: StrategyName, id = 42): JobPayload =>
  aJob(id, strategy === 'runner-status' ? { job_status: true } : {});

/** Queues confirmation-call answers on the endpoint the strategy uses. */
function script(network: ScriptedNetwork, strategy: StrategyName, ...answers: Scripted<RunnerStatusResult>[]): void {
  if (strategy === 'runner-status') network.onRunnerStatus(...answers);
  else network.onUpdateJob(...(answers as Scripted<UpdateJobResult>[]));
}

const verb = (strategy: StrategyName): string => (strategy === 'runner-status' ? 'POST' : 'PUT');

function expectNotRunnable(outcome: ConfirmationOutcome): void {
  expect(outcome.kind).not.toBe('confirmed');
  expect(outcome.kind).not.toBe('skipped');
  expect('job' in outcome).toBe(false);
}

describe.each<StrategyName>(['state-put', 'runner-status'])('confirmation answers with strategy %s', (strategy) => {
  // docs/design.md §2, "Answers and outcomes": first matching row wins.
  const rows: ReadonlyArray<{
    readonly name: string;
    readonly answers: Scripted<RunnerStatusResult>[];
    readonly outcome: ConfirmationOutcome['kind'];
    readonly finalUpdate?: string;
  }> = [
    { name: '403', answers: [jobAnswer('aborted', { reason: 'forbidden' })], outcome: 'gone' },
    {
      name: '404 with Job-Status',
      answers: [jobAnswer('aborted', { reason: 'not-found' }, { jobStatus: 'pending' })],
      outcome: 'gone',
    },
    {
      name: 'Job-Status: canceled',
      answers: [jobAnswer('aborted', { reason: 'job-canceled' }, { jobStatus: 'canceled' })],
      outcome: 'gone',
    },
    {
      name: 'Job-Status: failed',
      answers: [jobAnswer('aborted', { reason: 'job-failed' }, { jobStatus: 'failed' })],
      outcome: 'gone',
    },
    {
      name: '200 + Job-Status: canceling',
      answers: [jobAnswer('succeeded', {}, { jobStatus: 'canceling' })],
      outcome: 'canceled',
      finalUpdate: 'PUT failed',
    },
    {
      name: '409 + Job-Status: canceling (canceling outranks conflict)',
      answers: [jobAnswer('conflict', {}, { jobStatus: 'canceling' })],
      outcome: 'canceled',
      finalUpdate: 'PUT failed',
    },
    { name: '409', answers: [jobAnswer('conflict')], outcome: 'conflict' },
    { name: '400', answers: [jobAnswer('rejected', {}, { jobStatus: 'running' })], outcome: 'rejected' },
    { name: '422 (another status)', answers: [jobAnswer('failed', { status: 422 })], outcome: 'unexpected' },
    { name: '202 (not a confirmation answer)', answers: [jobAnswer('accepted')], outcome: 'unexpected' },
    { name: '412 (not a confirmation answer)', answers: [jobAnswer('trace-invalid')], outcome: 'unexpected' },
    { name: '200', answers: [jobAnswer('succeeded', {}, { jobStatus: 'running' })], outcome: 'confirmed' },
  ];

  test.each(rows)('$name → $outcome', async ({ answers, outcome, finalUpdate }) => {
    const { clock, network, confirmation } = setup();
    script(network, strategy, ...answers);
    const result = await clock.run(confirmation.confirm(jobFor(strategy)));

    expect(result.kind).toBe(outcome);
    expect(result.strategy).toBe(strategy);
    expect(result.attempts).toBe(1);
    expect(network.jobCalls()).toEqual([`${verb(strategy)} running`, ...(finalUpdate ? [finalUpdate] : [])]);
    if (finalUpdate) {
      const final = network.calls.at(-1);
      expect(final?.method === 'updateJob' && final.input.failureReason).toBe('job_canceled');
    }
    if (outcome === 'confirmed') {
      expect(result.kind === 'confirmed' && result.job.id).toBe(42);
    } else {
      expectNotRunnable(result);
    }
  });

  test('503 three times, then 200 → confirmed after 4 attempts, backoff within the deadline', async () => {
    const { clock, network, confirmation, events } = setup();
    const unavailable = jobAnswer('retryable', { status: 503 });
    script(network, strategy, unavailable, unavailable, unavailable, jobAnswer('succeeded'));
    const started = clock.now();
    const result = await clock.run(confirmation.confirm(jobFor(strategy)));

    expect(result.kind).toBe('confirmed');
    expect(result.attempts).toBe(4);
    // Full jitter with random() = 0.5: 50 ms, 100 ms, 200 ms.
    expect(clock.now() - started).toBe(350);
    expect(
      events.filter((event) => event.event === 'retry.scheduled').map((event) => 'waitMs' in event && event.waitMs),
    ).toEqual([50, 100, 200]);
  });

  test('a connection reset, then 200 → confirmed (confirmations are idempotent, so network errors are retried)', async () => {
    const { clock, network, confirmation } = setup();
    script(network, strategy, new TransportError('socket hang up', true), jobAnswer('succeeded'));
    const result = await clock.run(confirmation.confirm(jobFor(strategy)));
    expect(result.kind).toBe('confirmed');
    expect(result.attempts).toBe(2);
  });

  test.each([
    { header: 'Retry-After in seconds', wait: (now: number) => ({ retryAfterAt: now + 7_000 }), waited: 7_000 },
    { header: 'Retry-After as an HTTP date', wait: (now: number) => ({ retryAfterAt: now + 12_000 }), waited: 12_000 },
    {
      header: 'RateLimit-ResetTime (wins over Retry-After)',
      wait: (now: number) => ({ rateLimitResetAt: now + 3_000, retryAfterAt: now + 60_000 }),
      waited: 3_000,
    },
    {
      header: 'a reset time in the past (→ backoff)',
      wait: (now: number) => ({ rateLimitResetAt: now - 1_000 }),
      waited: 50,
    },
  ])('429 with $header waits that long, then confirms', async ({ wait, waited }) => {
    const { clock, network, confirmation } = setup();
    script(
      network,
      strategy,
      (call) => jobAnswer('retryable', { status: 429 }, { wait: wait(call.at) }),
      jobAnswer('succeeded'),
    );
    const started = clock.now();
    const result = await clock.run(confirmation.confirm(jobFor(strategy)));
    expect(result.kind).toBe('confirmed');
    expect(clock.now() - started).toBe(waited);
  });

  test('a server that never answers → unreachable after a last try before the deadline (ack window − 5 s); the job is released', async () => {
    const { clock, network, confirmation } = setup();
    script(network, strategy, ...Array.from({ length: 500 }, () => new TransportError('connect ETIMEDOUT', true)));
    const started = clock.now();
    const result = await clock.run(confirmation.confirm(jobFor(strategy)));

    expect(result).toMatchObject({ kind: 'unreachable', mode: 'unknown' });
    const confirmations = network.calls.filter((call) => sentStateOf(call) === 'running');
    const lastTry = (confirmations.at(-1)?.at ?? 0) - started;
    expect(lastTry).toBeLessThan(115_000);
    expect(lastTry).toBeGreaterThanOrEqual(112_000);
    // Mode unknown: the job may be running server-side, so it is released (retried until GitLab answers).
    expect(network.jobCalls().at(-1)).toBe('PUT failed');
    expect(result.kind === 'unreachable' && result.release).toEqual({
      failureReason: 'runner_system_failure',
      delivered: strategy === 'runner-status',
    });
  });
});

describe('keep-alives while the embedder prepares', () => {
  test('keep-alives hold a job past the 120 s window; the confirmation then succeeds (mode two-phase)', async () => {
    const { clock, network, confirmation, events } = setup();
    const pending = confirmation.receive(aJob());
    await clock.advance(300_000);
    expect(network.jobCalls().every((call) => call === 'PUT pending')).toBe(true);
    // 30 s ± 10 % jitter (random() = 0.5 → exactly 30 s): 10 keep-alives in 300 s.
    expect(network.jobCalls()).toHaveLength(10);
    expect(pending.mode).toBe('two-phase');

    const result = await clock.run(pending.confirm());
    expect(result).toMatchObject({ kind: 'confirmed', mode: 'two-phase', attempts: 1, elapsedMs: 300_000 });
    expect(events.filter((event) => event.event === 'keep-alive.answered')).toHaveLength(10);
  });

  test('the keep-alive interval is jittered ±10 % and never more than a third of the ack window', async () => {
    const { clock, network, confirmation } = setup({
      keepAliveIntervalMs: 90_000,
      ackWindowMs: 60_000,
      random: () => 0.99,
    });
    confirmation.receive(aJob());
    await clock.advance(20_000);
    expect(network.jobCalls()).toEqual(['PUT pending']);
    expect(network.calls[0]?.at).toBe(clock.now());
  });

  test.each([
    { random: 0, interval: 27_000 },
    { random: 0.5, interval: 30_000 },
    { random: 0.999999, interval: 33_000 },
  ])('with random() = $random the first keep-alive goes out after $interval ms', async ({ random, interval }) => {
    const { clock, network, confirmation } = setup({ random: () => random });
    const started = clock.now();
    confirmation.receive(aJob());
    await clock.advance(interval - 1);
    expect(network.calls).toHaveLength(0);
    await clock.advance(1);
    expect(network.calls.map((call) => call.at - started)).toEqual([interval]);
  });

  test('a keep-alive answered 400 means legacy: keep-alives stop, the job still confirms', async () => {
    const { clock, network, confirmation } = setup();
    network.onUpdateJob(jobAnswer('rejected', {}, { jobStatus: 'running' }));
    const pending = confirmation.receive(aJob());
    await clock.advance(120_000);
    expect(network.jobCalls()).toEqual(['PUT pending']);
    expect(pending.mode).toBe('legacy');
    const result = await clock.run(pending.confirm());
    expect(result).toMatchObject({ kind: 'confirmed', mode: 'legacy' });
  });

  test.each([
    {
      name: '403',
      answer: jobAnswer('aborted', { reason: 'forbidden' }, { jobStatus: 'pending' }),
      outcome: 'gone',
      calls: ['PUT pending'],
    },
    {
      name: 'canceling',
      answer: jobAnswer('succeeded', {}, { jobStatus: 'canceling' }),
      outcome: 'canceled',
      calls: ['PUT pending', 'PUT failed'],
    },
    { name: '409', answer: jobAnswer('conflict'), outcome: 'conflict', calls: ['PUT pending'] },
  ])(
    'a keep-alive answered $name settles the job as $outcome and aborts the preparation',
    async ({ answer, outcome, calls }) => {
      const { clock, network, confirmation } = setup();
      network.onUpdateJob(answer);
      const pending = confirmation.receive(aJob());
      await clock.advance(31_000);
      expect(pending.signal.aborted).toBe(true);
      const result = await clock.run(pending.confirm());
      expect(result.kind).toBe(outcome);
      expectNotRunnable(result);
      expect(network.jobCalls()).toEqual(calls);
    },
  );

  test('a keep-alive that settles the job is reported before the outcome it caused', async () => {
    const { clock, network, confirmation, events } = setup();
    network.onUpdateJob(jobAnswer('conflict'));
    confirmation.receive(aJob());
    await clock.advance(31_000);
    expect(events.map((event) => event.event)).toEqual([
      'job.received',
      'keep-alive.sent',
      'keep-alive.answered',
      'job.outcome',
    ]);
  });

  test('keep-alives failing until the window closes → unreachable; in mode two-phase nothing is released', async () => {
    const { clock, network, confirmation } = setup();
    network.onUpdateJob(
      jobAnswer('succeeded'),
      ...Array.from({ length: 1_000 }, () => new TransportError('connect ECONNREFUSED', false)),
    );
    const pending = confirmation.receive(aJob());
    const result = await clock.run(pending.outcome);
    expect(result).toMatchObject({ kind: 'unreachable', mode: 'two-phase', attempts: 0 });
    expect(result.kind === 'unreachable' && result.detail).toMatch(/keep-alive/);
    // The last keep-alive answered 200 at 30 s, so the deadline is 30 s + 120 s − 5 s; the last try comes a second
    // before it.
    expect(clock.now()).toBe(1_767_225_600_000 + 30_000 + 115_000 - 1_000);
    expect(network.jobCalls().every((call) => call === 'PUT pending')).toBe(true);
    expect(pending.signal.aborted).toBe(true);
  });

  test('a confirmation that may have landed, then no answer until the deadline → unreachable; released even in two-phase (soak D3)', async () => {
    const { clock, network, confirmation } = setup({ probe: true });
    // The probe's keep-alive says two-phase; the confirmation's answer is lost after GitLab acted, then nothing answers.
    network.onUpdateJob(
      jobAnswer('succeeded'),
      ...Array.from({ length: 1_000 }, () => new TransportError('socket hang up', true)),
    );
    const pending = confirmation.receive(aJob());
    const result = await clock.run(pending.confirm());
    expect(result).toMatchObject({ kind: 'unreachable', mode: 'two-phase' });
    // GitLab may run the job: it is failed, not left running until the stuck-job timeout.
    expect(network.jobCalls()).toContain('PUT failed');
    expect(result.kind === 'unreachable' && result.release?.failureReason).toBe('runner_system_failure');
  });

  test('a confirmation that certainly never left, then a decline: nothing is released in two-phase', async () => {
    const { clock, network, confirmation } = setup({ probe: true });
    network.onUpdateJob(jobAnswer('succeeded'), new TransportError('connect ECONNREFUSED', false));
    const pending = confirmation.receive(aJob());
    const confirming = pending.confirm();
    await clock.advance(1);
    await pending.decline('shutting down');
    expect(await clock.run(confirming)).toMatchObject({ kind: 'declined', mode: 'two-phase' });
    expect(network.jobCalls()).not.toContain('PUT failed');
  });

  test('a keep-alive answered 400 + Job-Status: canceling: canceled, and mode legacy (the server was not holding it)', async () => {
    const { clock, network, confirmation } = setup();
    network.onUpdateJob(jobAnswer('rejected', {}, { jobStatus: 'canceling' }));
    const pending = confirmation.receive(aJob());
    await clock.advance(31_000);
    expect(await pending.outcome).toMatchObject({ kind: 'canceled', mode: 'legacy' });
    expect(network.jobCalls()).toEqual(['PUT pending', 'PUT failed']);
  });

  test('probe sends one keep-alive before confirming, so the mode is known', async () => {
    const { clock, network, confirmation } = setup({ probe: true });
    const result = await clock.run(confirmation.confirm(aJob()));
    expect(network.jobCalls()).toEqual(['PUT pending', 'PUT running']);
    expect(result).toMatchObject({ kind: 'confirmed', mode: 'two-phase', attempts: 1 });
  });

  test('without probe the happy path is one request and the mode is unknown', async () => {
    const { clock, network, confirmation } = setup();
    const result = await clock.run(confirmation.confirm(aJob()));
    expect(network.calls).toHaveLength(1);
    expect(result).toMatchObject({ kind: 'confirmed', mode: 'unknown' });
  });

  test('a confirmation called during a keep-alive waits for its answer', async () => {
    const { clock, network, confirmation } = setup();
    let answerKeepAlive: (result: UpdateJobResult) => void = () => {};
    network.onUpdateJob(() => new Promise<UpdateJobResult>((resolve) => (answerKeepAlive = resolve)));
    const pending = confirmation.receive(aJob());
    await clock.advance(30_000);
    const confirming = pending.confirm();
    await clock.advance(0);
    expect(network.jobCalls()).toEqual(['PUT pending']);
    answerKeepAlive(jobAnswer('aborted', { reason: 'forbidden' }));
    const result = await clock.run(confirming);
    expect(result.kind).toBe('gone');
    expect(network.jobCalls()).toEqual(['PUT pending']);
  });
});

describe('decline and the prepare timeout', () => {
  test('in mode two-phase a decline sends nothing: the window lapses and GitLab retries the job elsewhere', async () => {
    const { clock, network, confirmation } = setup();
    const pending = confirmation.receive(aJob());
    await clock.advance(30_000);
    const result = await clock.run(pending.decline());
    expect(result).toMatchObject({ kind: 'declined', mode: 'two-phase' });
    expect(network.jobCalls()).toEqual(['PUT pending']);
    await clock.advance(300_000);
    expect(network.jobCalls()).toEqual(['PUT pending']);
  });

  test.each(['unknown', 'legacy'] as const)(
    'in mode %s a decline releases the job with runner_system_failure',
    async (mode) => {
      const { clock, network, confirmation } = setup();
      if (mode === 'legacy') network.onUpdateJob(jobAnswer('rejected', {}, { jobStatus: 'running' }));
      const pending = confirmation.receive(aJob());
      if (mode === 'legacy') await clock.advance(30_000);
      const result = await clock.run(pending.decline());
      expect(result).toMatchObject({ kind: 'declined', mode });
      const release = network.calls.at(-1);
      expect(release?.method === 'updateJob' && [release.input.state, release.input.failureReason]).toEqual([
        'failed',
        'runner_system_failure',
      ]);
    },
  );

  test('a job neither confirmed nor declined within prepareTimeout is declined', async () => {
    const { clock, network, confirmation } = setup({ prepareTimeoutMs: 100_000 });
    const pending = confirmation.receive(aJob());
    await clock.advance(100_000);
    const result = await pending.outcome;
    expect(result).toMatchObject({ kind: 'declined', mode: 'two-phase' });
    expect(result.kind === 'declined' && result.detail).toMatch(/prepare timeout/);
    expect(network.jobCalls()).toEqual(['PUT pending', 'PUT pending', 'PUT pending']);
  });

  test('confirm after a decline returns the declined outcome and sends nothing more', async () => {
    const { clock, network, confirmation } = setup();
    const pending = confirmation.receive(aJob());
    const declined = await clock.run(pending.decline());
    const confirmed = await clock.run(pending.confirm());
    expect(confirmed).toBe(declined);
    expect(network.jobCalls()).toEqual(['PUT failed']);
  });
});

describe('policies', () => {
  test.each([
    { confirm: 'off', features: {}, expected: 'skipped', strategy: 'none', calls: [] },
    { confirm: 'off', features: { job_status: true }, expected: 'skipped', strategy: 'none', calls: [] },
    { confirm: 'when-requested', features: {}, expected: 'skipped', strategy: 'none', calls: [] },
    {
      confirm: 'when-requested',
      features: { job_status: true },
      expected: 'confirmed',
      strategy: 'runner-status',
      calls: ['POST running'],
    },
    { confirm: 'auto', features: {}, expected: 'confirmed', strategy: 'state-put', calls: ['PUT running'] },
    {
      confirm: 'auto',
      features: { job_status: true },
      expected: 'confirmed',
      strategy: 'runner-status',
      calls: ['POST running'],
    },
    {
      confirm: 'always',
      features: { job_status: true },
      expected: 'confirmed',
      strategy: 'state-put',
      calls: ['PUT running'],
    },
    { confirm: 'always', features: {}, expected: 'confirmed', strategy: 'state-put', calls: ['PUT running'] },
  ] as const)(
    'confirm=$confirm, features=$features → $expected with $strategy',
    async ({ confirm, features, expected, strategy, calls }) => {
      const { clock, network, confirmation } = setup({ confirm });
      const pending = confirmation.receive(aJob(42, features));
      await clock.advance(60_000);
      const result = await clock.run(pending.confirm());
      expect(result).toMatchObject({ kind: expected, strategy });
      expect(network.jobCalls().filter((call) => !call.endsWith('pending'))).toEqual(calls);
      if (expected === 'skipped') expect(network.calls).toHaveLength(0);
      expect(result.kind === 'confirmed' || result.kind === 'skipped' ? result.job.confirmation : undefined).toBe(
        expected,
      );
    },
  );

  test.each([
    { strategy: 'runner-status', features: {}, calls: ['POST running'] },
    { strategy: 'state-put', features: { job_status: true }, calls: ['PUT running'] },
  ] as const)(
    'an explicit strategy $strategy wins over the payload under auto',
    async ({ strategy, features, calls }) => {
      const { clock, network, confirmation } = setup({ strategy });
      await clock.run(confirmation.confirm(aJob(42, features)));
      expect(network.jobCalls()).toEqual(calls);
    },
  );

  test('runner-status answered 404/405 by the route falls back to state-put, and the server is remembered', async () => {
    const { clock, network, confirmation, events } = setup({ strategy: 'runner-status' });
    network.onRunnerStatus(jobAnswer('unsupported'));
    const first = await clock.run(confirmation.confirm(aJob(1)));
    const second = await clock.run(confirmation.confirm(aJob(2)));
    expect(first).toMatchObject({ kind: 'confirmed', strategy: 'state-put', attempts: 2 });
    expect(second).toMatchObject({ kind: 'confirmed', strategy: 'state-put', attempts: 1 });
    expect(network.jobCalls()).toEqual(['POST running', 'PUT running', 'PUT running']);
    expect(events.filter((event) => event.event === 'strategy.fallback')).toHaveLength(1);
  });

  test('bad options are refused with a message naming the option', () => {
    const clock = new FakeClock();
    const network = new ScriptedNetwork();
    expect(() => new JobConfirmation({ network, clock }, { keepAliveIntervalMs: 0 })).toThrow(/keepAliveIntervalMs/);
    expect(() => new JobConfirmation({ network, clock }, { deadlineMarginMs: 200_000 })).toThrow(/deadlineMarginMs/);
    // A 6 s window with the default 5 s margin: the deadline (1 s) comes before the first keep-alive (2 s).
    expect(() => new JobConfirmation({ network, clock }, { ackWindowMs: 6_000 })).toThrow(
      /the deadline would come before the next keep-alive/,
    );
    expect(
      () => new JobConfirmation({ network, clock }, { ackWindowMs: 6_000, deadlineMarginMs: 1_000 }),
    ).not.toThrow();
    // @ts-expect-error: an unknown policy must not type-check either
    expect(() => new JobConfirmation({ network, clock }, { confirm: 'sometimes' })).toThrow(/confirm: expected one of/);
  });
});

describe('the server gate', () => {
  test('while the server fails, one call (the scout) goes out at a time, every 1–2 s; when it answers, every waiting job confirms at once', async () => {
    const { clock, network, confirmation } = setup({ retry: { initialMs: 1_000, factor: 2, maxMs: 8_000 } });
    let inFlight = 0;
    let maxInFlightWhileFailing = 0;
    let healthy = false;
    const answer = async (): Promise<UpdateJobResult> => {
      inFlight += 1;
      if (!healthy) maxInFlightWhileFailing = Math.max(maxInFlightWhileFailing, inFlight);
      await clock.sleep(10);
      inFlight -= 1;
      return healthy ? jobAnswer('succeeded') : jobAnswer('retryable', { status: 503 });
    };
    network.onUpdateJob(...Array.from({ length: 200 }, () => answer));
    // The first answer fails, so the server is failing before the rest go out.
    const first = confirmation.confirm(aJob(1));
    await clock.advance(15);
    const rest = Array.from({ length: 9 }, (_, index) => confirmation.confirm(aJob(index + 2)));
    await clock.advance(20_000);
    expect(maxInFlightWhileFailing).toBe(1);
    // Only the scout goes out, its pauses growing with the backoff but never past the scout interval (2 s).
    const gaps = network.calls.slice(1).map((call, index) => call.at - (network.calls[index]?.at ?? 0));
    expect(Math.max(...gaps)).toBeLessThanOrEqual(2_000 + 10);
    expect(network.calls.length).toBeGreaterThanOrEqual(20_000 / 2_000);
    expect(network.calls.length).toBeLessThanOrEqual(20_000 / 500);

    healthy = true;
    const outcomes = await clock.run(Promise.all([first, ...rest]));
    expect(outcomes.map((outcome) => outcome.kind)).toEqual(Array.from({ length: 10 }, () => 'confirmed'));
  });

  test('a Retry-After holds every call to the server until then', async () => {
    const { clock, network, confirmation } = setup();
    network.onUpdateJob((call) =>
      jobAnswer('retryable', { status: 429 }, { wait: { retryAfterAt: call.at + 10_000 } }),
    );
    const first = confirmation.confirm(aJob(1));
    await clock.advance(1);
    const second = confirmation.confirm(aJob(2));
    await clock.advance(9_000);
    expect(network.calls).toHaveLength(1);
    const outcomes = await clock.run(Promise.all([first, second]));
    expect(outcomes.map((outcome) => outcome.kind)).toEqual(['confirmed', 'confirmed']);
    expect(network.calls.slice(1).every((call) => call.at >= network.calls[0]!.at + 10_000)).toBe(true);
  });
});

describe('invalid payloads', () => {
  test('a malformed payload whose id and token are readable is released and reported invalid', async () => {
    const { clock, network, confirmation } = setup();
    const error = new MalformedResponseError('job payload field steps: expected a list', {
      id: 7,
      token: new Secret(JOB_TOKEN),
    });
    const result = await clock.run(confirmation.releaseInvalid(error));
    expect(result).toMatchObject({ kind: 'invalid', jobId: 7 });
    expect(network.jobCalls()).toEqual(['PUT failed']);
  });

  test('an unreadable payload is reported invalid without a request', async () => {
    const { clock, network, confirmation } = setup();
    const result = await clock.run(confirmation.releaseInvalid(new MalformedResponseError('body is not JSON')));
    expect(result).toMatchObject({ kind: 'invalid', jobId: 0 });
    expect(network.calls).toHaveLength(0);
  });
});

test('events never contain the job token, the repo URL or a masked variable', async () => {
  const { clock, network, confirmation, events } = setup({ probe: true });
  network.onUpdateJob(
    jobAnswer('retryable', { status: 503 }),
    jobAnswer('succeeded'),
    jobAnswer('succeeded', {}, { jobStatus: 'canceling' }),
  );
  const pending = confirmation.receive(aJob());
  await clock.advance(31_000);
  const outcome = await clock.run(pending.confirm());
  const printed = JSON.stringify({ events, outcome }) + String(outcome) + JSON.stringify(network.calls);
  expect(events.length).toBeGreaterThan(4);
  expect(printed).not.toContain(JOB_TOKEN);
  expect(printed).not.toContain('masked-value-123');
});

describe('a decline during a confirmation (the second signal)', () => {
  test('interrupts a confirmation that is backing off at once; in mode two-phase nothing is sent', async () => {
    const { clock, network, confirmation } = setup({ probe: true });
    network.onUpdateJob(
      jobAnswer('succeeded', {}, { jobStatus: 'pending' }),
      ...Array.from({ length: 50 }, () => jobAnswer('retryable', { status: 503 })),
    );
    const pending = confirmation.receive(aJob());
    const confirming = pending.confirm();
    await clock.advance(5_000);
    const before = network.calls.length;
    const declined = pending.decline('the runner is shutting down');
    await clock.advance(1);
    const outcome = await declined;
    expect(outcome).toMatchObject({ kind: 'declined', mode: 'two-phase', detail: 'the runner is shutting down' });
    expect(await confirming).toBe(outcome);
    expect(network.calls).toHaveLength(before);
    expect(pending.signal.aborted).toBe(true);
  });

  test('in mode unknown it releases the job once', async () => {
    const { clock, network, confirmation } = setup();
    network.onUpdateJob(...Array.from({ length: 50 }, () => jobAnswer('retryable', { status: 503 })));
    const pending = confirmation.receive(aJob());
    void pending.confirm();
    await clock.advance(3_000);
    network.onUpdateJob(jobAnswer('succeeded'));
    const outcome = await clock.run(pending.decline());
    expect(outcome.kind).toBe('declined');
    expect(network.jobCalls().at(-1)).toBe('PUT failed');
  });

  test('a confirmation in flight that lands after the decline is handed back (PUT failed/runner_system_failure)', async () => {
    const { clock, network, confirmation } = setup();
    network.onUpdateJob(async () => {
      await clock.sleep(10_000);
      return jobAnswer('succeeded', {}, { jobStatus: 'running' });
    });
    const pending = confirmation.receive(aJob());
    void pending.confirm();
    await clock.advance(1_000);
    const outcome = await clock.run(pending.decline());
    expect(outcome.kind).toBe('declined');
    const last = network.calls.at(-1);
    expect(last?.method === 'updateJob' && [last.input.state, last.input.failureReason]).toEqual([
      'failed',
      'runner_system_failure',
    ]);
  });
});

test('a cancel at confirmation is released with retries until GitLab takes it', async () => {
  const { clock, network, confirmation } = setup();
  network.onUpdateJob(
    jobAnswer('succeeded', {}, { jobStatus: 'canceling' }),
    jobAnswer('retryable', { status: 503 }),
    new TransportError('socket hang up', true),
    jobAnswer('aborted', { reason: 'job-canceled' }, { jobStatus: 'canceled' }),
  );
  const outcome = await clock.run(confirmation.confirm(aJob()));
  expect(outcome).toMatchObject({ kind: 'canceled', release: { failureReason: 'job_canceled', delivered: true } });
  expect(network.jobCalls()).toEqual(['PUT running', 'PUT failed', 'PUT failed', 'PUT failed']);
});
