import { createInMemoryNetwork, FakeGitLab } from '@runner-core/adapter-fake';
import {
  JobConfirmation,
  type JobConfirmationOptions,
  type JobPayload,
  type RunnerEvent,
  runnerInfo,
  Secret,
} from '@runner-core/core';
import type { ServerProfile } from '@runner-core/core/simulation';
import { FakeClock } from '@runner-core/core/testing';
import { describe, expect, test } from 'vitest';

/**
 * JobConfirmation against the fake GitLab's state machine (docs/gitlab-protocol.md §5, §8.6), one profile at a time.
 * Assertions read the server's side: the job's status, its runner manager, its history and the requests it got.
 */
function scene(profile: ServerProfile, options: JobConfirmationOptions = {}) {
  const clock = new FakeClock();
  const gitlab = new FakeGitLab({ profile, clock, random: () => 0.25 });
  const network = createInMemoryNetwork({ gitlab, clock });
  const credentials = { token: new Secret(gitlab.runnerToken), systemId: 's_0123456789ab' };
  const events: RunnerEvent[] = [];
  const confirmation = new JobConfirmation(
    { network, clock, observer: { notify: (event) => events.push(event) } },
    { random: () => 0.5, ...options },
  );
  const handOut = async (): Promise<JobPayload> => {
    gitlab.enqueueJob();
    const answer = await network.requestJob({ credentials, info: runnerInfo() });
    if (answer.kind !== 'job') throw new Error(`expected a job, got ${answer.kind}`);
    return answer.job;
  };
  const sent = (jobId: number): string[] =>
    gitlab
      .requestsFor(jobId)
      .map(
        (request) =>
          `${request.operation} ${request.state ?? ''} → ${request.answer.kind === 'status' ? request.answer.status : request.answer.fault}`,
      );
  return { clock, gitlab, network, confirmation, events, handOut, sent };
}

describe('two-phase server (18.5, flag on)', () => {
  test('keep-alives hold the job pending past the 120 s window; the confirmation starts it', async () => {
    const { clock, gitlab, confirmation, handOut } = scene('two-phase');
    const job = await handOut();
    const pending = confirmation.receive(job);
    await clock.advance(300_000);
    expect(gitlab.job(job.id)).toMatchObject({ status: 'pending', waiting: true });
    expect(gitlab.runExpiry()).toEqual([]);

    const confirmedAt = clock.now();
    const outcome = await clock.run(pending.confirm());
    expect(outcome).toMatchObject({ kind: 'confirmed', mode: 'two-phase', strategy: 'state-put', attempts: 1 });
    expect(gitlab.job(job.id)).toMatchObject({
      status: 'running',
      runnerManager: 's_0123456789ab',
      startedAt: confirmedAt,
    });
  });

  test('a job left without keep-alives outlives its window: GitLab answers 403 and the outcome is gone', async () => {
    const { clock, gitlab, confirmation, handOut, sent } = scene('two-phase');
    const job = await handOut();
    gitlab.lapseAckWindow(job.id);
    const outcome = await clock.run(confirmation.confirm(job));
    expect(outcome).toMatchObject({ kind: 'gone', attempts: 1 });
    expect(sent(job.id)).toEqual(['update-job running → 403']);
    expect(gitlab.runExpiry()).toEqual([job.id]);
    expect(gitlab.job(job.id)).toMatchObject({ status: 'failed', failureReason: 'runner_provisioning_timeout' });
    expect(gitlab.job(job.id).retriedAs).toBeDefined();
  });

  test('declining sends nothing; the window lapses and GitLab retries the job elsewhere', async () => {
    const { clock, gitlab, confirmation, handOut, sent } = scene('two-phase');
    const job = await handOut();
    const pending = confirmation.receive(job);
    await clock.advance(31_000);
    const outcome = await clock.run(pending.decline());
    expect(outcome).toMatchObject({ kind: 'declined', mode: 'two-phase' });
    await clock.advance(200_000);
    gitlab.runExpiry();
    expect(sent(job.id)).toEqual(['update-job pending → 200']);
    expect(gitlab.job(job.id)).toMatchObject({ status: 'failed', failureReason: 'runner_provisioning_timeout' });
    const retry = gitlab.job(job.id).retriedAs;
    expect(retry !== undefined && gitlab.job(retry).status).toBe('pending');
  });

  test('canceled while preparing: the next keep-alive is refused and the job never runs', async () => {
    const { clock, gitlab, confirmation, handOut } = scene('two-phase');
    const job = await handOut();
    const pending = confirmation.receive(job);
    gitlab.cancelJob(job.id);
    await clock.advance(31_000);
    expect(pending.signal.aborted).toBe(true);
    const outcome = await clock.run(pending.confirm());
    expect(outcome.kind).toBe('gone');
    expect(gitlab.job(job.id).status).toBe('canceled');
  });

  test('another runner manager took the job: 409 and never confirmed', async () => {
    const { clock, gitlab, confirmation, handOut } = scene('two-phase');
    const job = await handOut();
    const pending = confirmation.receive(job);
    gitlab.takeByOtherManager(job.id);
    await clock.advance(31_000);
    const outcome = await clock.run(pending.confirm());
    expect(outcome.kind).toBe('conflict');
    expect(gitlab.job(job.id).runnerManager).not.toBe('s_0123456789ab');
  });

  test('a flapping server (503 three times) is retried until it answers; one request per attempt', async () => {
    const { clock, gitlab, confirmation, handOut, sent } = scene('two-phase');
    const job = await handOut();
    gitlab.inject('update-job', { status: 503 }, { jobId: job.id, times: 3 });
    const outcome = await clock.run(confirmation.confirm(job));
    expect(outcome).toMatchObject({ kind: 'confirmed', attempts: 4 });
    expect(sent(job.id)).toEqual([
      'update-job running → 503',
      'update-job running → 503',
      'update-job running → 503',
      'update-job running → 200',
    ]);
    expect(gitlab.job(job.id).status).toBe('running');
  });

  test('429 with Retry-After: the retry waits as told', async () => {
    const { clock, gitlab, confirmation, handOut } = scene('two-phase');
    const job = await handOut();
    gitlab.inject('update-job', { status: 429, headers: { 'Retry-After': '4' } }, { jobId: job.id });
    const started = clock.now();
    const outcome = await clock.run(confirmation.confirm(job));
    expect(outcome.kind).toBe('confirmed');
    const [first, second] = gitlab.requestsFor(job.id);
    expect((second?.at ?? 0) - (first?.at ?? 0)).toBe(4_000);
    expect(clock.now() - started).toBe(4_000);
  });

  test('probe: the mode is known before confirming', async () => {
    const { clock, confirmation, handOut, sent } = scene('two-phase', { probe: true });
    const job = await handOut();
    const outcome = await clock.run(confirmation.confirm(job));
    expect(outcome).toMatchObject({ kind: 'confirmed', mode: 'two-phase' });
    expect(sent(job.id)).toEqual(['update-job pending → 200', 'update-job running → 200']);
  });
});

describe('legacy server (before 18.5, or flag off)', () => {
  test('the job runs at hand-out; a keep-alive gets 400 (mode legacy) and the confirmation is a touch', async () => {
    const { clock, gitlab, confirmation, handOut, sent } = scene('legacy');
    const job = await handOut();
    expect(gitlab.job(job.id).status).toBe('running');
    const pending = confirmation.receive(job);
    await clock.advance(100_000);
    const outcome = await clock.run(pending.confirm());
    expect(outcome).toMatchObject({ kind: 'confirmed', mode: 'legacy' });
    expect(sent(job.id)).toEqual(['update-job pending → 400', 'update-job running → 200']);
  });

  test('canceled while running: Job-Status canceling → outcome canceled and exactly one final PUT failed/job_canceled', async () => {
    const { clock, gitlab, confirmation, handOut, sent } = scene('legacy');
    const job = await handOut();
    gitlab.cancelJob(job.id);
    const outcome = await clock.run(confirmation.confirm(job));
    expect(outcome.kind).toBe('canceled');
    expect(sent(job.id)).toEqual(['update-job running → 200', 'update-job failed → 200']);
    expect(gitlab.job(job.id)).toMatchObject({ status: 'canceled' });
  });

  test('declined in mode legacy: released with runner_system_failure', async () => {
    const { clock, gitlab, confirmation, handOut } = scene('legacy');
    const job = await handOut();
    const pending = confirmation.receive(job);
    await clock.advance(31_000);
    const outcome = await clock.run(pending.decline());
    expect(outcome).toMatchObject({ kind: 'declined', mode: 'legacy' });
    expect(gitlab.job(job.id)).toMatchObject({ status: 'failed', failureReason: 'runner_system_failure' });
  });
});

describe('runner-status server (the proposed endpoint)', () => {
  test('auto picks runner-status from features.job_status: keep-alives and the confirmation are POSTs', async () => {
    const { clock, gitlab, confirmation, handOut, sent } = scene('runner-status');
    const job = await handOut();
    expect(job.features?.job_status).toBe(true);
    const pending = confirmation.receive(job);
    await clock.advance(61_000);
    const outcome = await clock.run(pending.confirm());
    expect(outcome).toMatchObject({ kind: 'confirmed', mode: 'two-phase', strategy: 'runner-status' });
    expect(sent(job.id)).toEqual([
      'post-runner-status pending → 200',
      'post-runner-status pending → 200',
      'post-runner-status running → 200',
    ]);
    expect(gitlab.job(job.id).status).toBe('running');
  });

  test('runner-status asked of a server without the route: 404, fall back to state-put, remembered for the next job', async () => {
    const { clock, gitlab, confirmation, handOut, sent, events } = scene('two-phase', { strategy: 'runner-status' });
    const first = await handOut();
    const second = await handOut();
    expect(await clock.run(confirmation.confirm(first))).toMatchObject({ kind: 'confirmed', strategy: 'state-put' });
    expect(await clock.run(confirmation.confirm(second))).toMatchObject({
      kind: 'confirmed',
      strategy: 'state-put',
      attempts: 1,
    });
    expect(sent(first.id)).toEqual(['post-runner-status running → 404', 'update-job running → 200']);
    expect(sent(second.id)).toEqual(['update-job running → 200']);
    expect(events.filter((event) => event.event === 'strategy.fallback')).toHaveLength(1);
    expect(gitlab.job(second.id).status).toBe('running');
  });
});

test.each<ServerProfile>(['legacy', 'two-phase', 'runner-status'])(
  'policy off on a %s server: skipped, nothing sent, the job may run',
  async (profile) => {
    const { clock, gitlab, confirmation, handOut } = scene(profile, { confirm: 'off' });
    const job = await handOut();
    const outcome = await clock.run(confirmation.confirm(job));
    expect(outcome).toMatchObject({ kind: 'skipped', strategy: 'none', attempts: 0 });
    expect(gitlab.requestsFor(job.id)).toHaveLength(0);
  },
);
