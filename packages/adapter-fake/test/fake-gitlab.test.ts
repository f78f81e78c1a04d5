import { inspect } from 'node:util';
import { defaultMaskedValue, type ServerProfile } from '@runner-core/core/simulation';
import { describe, expect, test } from 'vitest';
import { FakeGitLab } from '../src/index.js';
import { aFake, answerOf, patchTrace, postRunnerStatus, putJob, requestJob, systemId } from './support/wire.js';

const window = 120_000;

/** Enqueues a job and hands it out; returns its id and plain token. */
function handOut(gitlab: FakeGitLab, options: { twoPhase?: boolean } = {}): { id: number; token: string } {
  const { id, token } = gitlab.enqueueJob();
  expect(answerOf(requestJob(gitlab, options)).status).toBe(201);
  return { id, token: token.reveal() };
}

describe('FakeGitLab job request (docs/gitlab-protocol.md §2.4, §5.2)', () => {
  test('S1: a two-phase runner gets 201; the job stays pending, runner set, no manager, out of the queue', () => {
    const { gitlab, clock } = aFake('two-phase');
    const { id } = gitlab.enqueueJob();
    const answer = answerOf(requestJob(gitlab));
    expect(answer.status).toBe(201);
    expect(answer.headers['Content-Type']).toBe('application/json');
    expect(JSON.parse(answer.body)).toMatchObject({ id });
    expect(gitlab.job(id)).toMatchObject({
      status: 'pending',
      assigned: true,
      waitStatus: 'waiting',
      ackManager: systemId,
      ackExpiresAt: clock.now() + window,
      expiryCheckAt: clock.now() + window,
      assignedAt: clock.now(),
    });
    expect(gitlab.job(id).runnerManager).toBeUndefined();
    expect(gitlab.queuedJobIds()).toEqual([]);
  });

  test('the ack key names the legacy manager when the runner sends no system_id', () => {
    const { gitlab } = aFake('two-phase');
    const { id } = gitlab.enqueueJob();
    gitlab.handle({
      method: 'POST',
      url: '/api/v4/jobs/request',
      headers: { 'RUNNER-TOKEN': gitlab.runnerToken },
      body: JSON.stringify({ token: gitlab.runnerToken, info: { features: { two_phase_job_commit: true } } }),
    });
    expect(gitlab.job(id).ackManager).toBe('<legacy>');
  });

  test.each<ServerProfile>(['legacy', 'two-phase', 'runner-status'])(
    'a runner not advertising two_phase_job_commit gets the job running at once (%s)',
    (profile) => {
      const { gitlab, clock } = aFake(profile);
      const { id } = handOut(gitlab, { twoPhase: false });
      expect(gitlab.job(id)).toMatchObject({ status: 'running', runnerManager: systemId, startedAt: clock.now() });
      expect(gitlab.job(id).waiting).toBe(false);
    },
  );

  test('the legacy profile hands jobs out running even to a two-phase runner', () => {
    const { gitlab } = aFake('legacy');
    const { id } = handOut(gitlab);
    expect(gitlab.job(id)).toMatchObject({ status: 'running', runnerManager: systemId, waitStatus: 'not-waiting' });
  });

  test('S4: a second runner polling while the job waits gets 204', () => {
    const { gitlab } = aFake('two-phase');
    const other = gitlab.addRunner();
    handOut(gitlab);
    const answer = answerOf(requestJob(gitlab, { token: other, systemId: 's_aaaaaaaaaaaa' }));
    expect(answer.status).toBe(204);
    expect(answer.body).toBe('');
  });

  test('the payload carries the job token, a masked variable and, on runner-status, features.job_status', () => {
    for (const profile of ['two-phase', 'runner-status'] as const) {
      const { gitlab } = aFake(profile);
      const { token } = gitlab.enqueueJob({ script: ['make test'] });
      const payload = JSON.parse(answerOf(requestJob(gitlab)).body);
      expect(payload.token).toBe(token.reveal());
      expect(payload.git_info.repo_url).toContain(`gitlab-ci-token:${token.reveal()}@`);
      expect(payload.variables).toContainEqual(expect.objectContaining({ masked: true, value: defaultMaskedValue }));
      expect(payload.steps[0].script).toEqual(['make test']);
      expect(payload.features.failure_reasons).toContain('script_failure');
      expect(payload.features.job_status).toBe(profile === 'runner-status' ? true : undefined);
    }
  });

  test('403 for an unknown runner token or a RUNNER-TOKEN header that differs from the body, saying which', () => {
    const { gitlab } = aFake('two-phase');
    gitlab.enqueueJob();
    const unknown = answerOf(requestJob(gitlab, { token: 'glrt-unknown' }));
    expect(unknown.status).toBe(403);
    expect(JSON.parse(unknown.body)).toEqual({
      message:
        '403 Forbidden - this fake GitLab does not know the runner token (runner-core sim prints the one it accepts)',
    });
    const differs = answerOf(requestJob(gitlab, { header: 'glrt-other' }));
    expect([differs.status, JSON.parse(differs.body)]).toEqual([
      403,
      { message: '403 Forbidden - the RUNNER-TOKEN header and the body token differ' },
    ]);
    const missing = answerOf(
      gitlab.handle({
        method: 'POST',
        url: '/api/v4/jobs/request',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ token: gitlab.runnerToken, info: {} }),
      }),
    );
    expect(JSON.parse(missing.body).message).toMatch(/no RUNNER-TOKEN header/);
    expect(gitlab.queuedJobIds()).toHaveLength(1);
  });

  test('400 for a body that is not JSON or lacks the token', () => {
    const { gitlab } = aFake('two-phase');
    const notJson = gitlab.handle({ method: 'POST', url: '/api/v4/jobs/request', headers: {}, body: '{' });
    expect(answerOf(notJson).status).toBe(400);
    const noToken = gitlab.handle({ method: 'POST', url: '/api/v4/jobs/request', headers: {}, body: '{}' });
    expect(JSON.parse(answerOf(noToken).body)).toEqual({ error: 'token is missing' });
  });

  test('X-GitLab-Last-Update: sent on 204, changes when the queue changes, and a current echo short-cuts to 204', () => {
    const { gitlab } = aFake('two-phase');
    const empty = answerOf(requestJob(gitlab));
    const first = empty.headers['X-GitLab-Last-Update'];
    expect(first).toBe(gitlab.lastUpdate);
    const cached = answerOf(requestJob(gitlab, { lastUpdate: first }));
    expect(cached.status).toBe(204);
    expect(cached.headers['X-GitLab-Last-Update']).toBe(first);
    const { id } = gitlab.enqueueJob();
    expect(gitlab.lastUpdate).not.toBe(first);
    const assigned = answerOf(requestJob(gitlab, { lastUpdate: first }));
    expect(JSON.parse(assigned.body).id).toBe(id);
    expect(
      gitlab.requests('request-job').map((request) => (request.body as { last_update?: string }).last_update),
    ).toEqual([undefined, first, first]);
  });

  test('jobs are handed out first in, first out, with their id counting up from firstJobId', () => {
    const { gitlab } = aFake('legacy', { firstJobId: 500 });
    expect([gitlab.enqueueJob().id, gitlab.enqueueJob().id]).toEqual([500, 501]);
    expect(JSON.parse(answerOf(requestJob(gitlab)).body).id).toBe(500);
    expect(JSON.parse(answerOf(requestJob(gitlab)).body).id).toBe(501);
  });
});

describe('FakeGitLab PUT /jobs/:id while the job waits (docs/gitlab-protocol.md §5.4)', () => {
  test('S2: keep-alives 2 s apart answer 200 (body 200), keep the job pending and reset the window', async () => {
    const { gitlab, clock } = aFake('two-phase');
    const { id, token } = handOut(gitlab);
    for (let round = 0; round < 3; round++) {
      await clock.advance(2_000);
      const answer = answerOf(putJob(gitlab, id, token, { state: 'pending' }));
      expect(answer).toMatchObject({ status: 200, body: '200' });
      expect(answer.headers['Job-Status']).toBe('pending');
      expect(gitlab.job(id)).toMatchObject({ status: 'pending', ackExpiresAt: clock.now() + window });
    }
  });

  test('S3: the confirmation answers 200; the job runs from now, the key is gone, the manager is set', async () => {
    const { gitlab, clock } = aFake('two-phase');
    const { id, token } = handOut(gitlab);
    await clock.advance(6_000);
    const answer = answerOf(putJob(gitlab, id, token, { state: 'running' }));
    expect(answer).toMatchObject({ status: 200, body: '200' });
    expect(answer.headers['Job-Status']).toBe('running');
    expect(gitlab.job(id)).toMatchObject({
      status: 'running',
      startedAt: clock.now(),
      runnerManager: systemId,
      waitStatus: 'not-waiting',
    });
    expect(gitlab.job(id).ackExpiresAt).toBeUndefined();
    expect(answerOf(putJob(gitlab, id, token, { state: 'running' })).status).toBe(200);
  });

  test('S5: success, failed or no state while waiting answer 400; the job stays pending, the window unchanged', async () => {
    const { gitlab, clock } = aFake('two-phase');
    const { id, token } = handOut(gitlab);
    const expiresAt = gitlab.job(id).ackExpiresAt;
    await clock.advance(1_000);
    for (const body of [{ state: 'success' }, { state: 'failed', failure_reason: 'runner_system_failure' }, {}]) {
      const answer = answerOf(putJob(gitlab, id, token, body));
      expect(answer).toMatchObject({ status: 400, body: '400' });
      expect(answer.headers['Job-Status']).toBe('pending');
    }
    expect(gitlab.job(id)).toMatchObject({ status: 'pending', ackExpiresAt: expiresAt });
  });

  test('S6: a pending job that never waited answers 403 "Job is not processing on runner", Job-Status pending', () => {
    const { gitlab } = aFake('two-phase');
    const { id, token } = gitlab.enqueueJob();
    const answer = answerOf(putJob(gitlab, id, token.reveal(), { state: 'pending' }));
    expect(answer.status).toBe(403);
    expect(JSON.parse(answer.body)).toEqual({ message: '403 Forbidden - Job is not processing on runner' });
    expect(answer.headers['Job-Status']).toBe('pending');
  });

  test('409 on a keep-alive once another manager holds the job; the window is not refreshed', async () => {
    const { gitlab, clock } = aFake('two-phase');
    const { id, token } = handOut(gitlab);
    gitlab.takeByOtherManager(id, 's_bbbbbbbbbbbb');
    const expiresAt = gitlab.job(id).ackExpiresAt;
    await clock.advance(1_000);
    const keepAlive = answerOf(putJob(gitlab, id, token, { state: 'pending' }));
    expect(keepAlive).toMatchObject({ status: 409, body: '409' });
    expect(keepAlive.headers['Job-Status']).toBe('pending');
    expect(gitlab.job(id)).toMatchObject({ ackExpiresAt: expiresAt, runnerManager: 's_bbbbbbbbbbbb' });
    expect(answerOf(putJob(gitlab, id, token, { state: 'running' })).status).toBe(409);
    expect(gitlab.history(id).map((change) => change.event)).toContain('taken-by-other-manager');
  });

  test('takeByOtherManager and lapseAckWindow refuse a job that is not waiting', () => {
    const { gitlab } = aFake('two-phase');
    const { id } = gitlab.enqueueJob();
    expect(() => gitlab.takeByOtherManager(id)).toThrow(/job \d+ is not waiting/);
    expect(() => gitlab.lapseAckWindow(id)).toThrow(/job \d+ is not waiting/);
  });

  test('auth comes first: an unknown id or a wrong token answers 403 without Job-Status', () => {
    const { gitlab } = aFake('two-phase');
    const { id, token } = handOut(gitlab);
    for (const reply of [
      putJob(gitlab, id + 100, token, { state: 'running' }),
      putJob(gitlab, id, 'glcbt-wrong', { state: 'running' }),
    ]) {
      const answer = answerOf(reply);
      expect(answer.status).toBe(403);
      expect(answer.headers['Job-Status']).toBeUndefined();
    }
    expect(gitlab.jobStatus(id)).toBe('pending');
  });

  test('the job token may come in the JOB-TOKEN header instead of the body', () => {
    const { gitlab } = aFake('two-phase');
    const { id, token } = handOut(gitlab);
    expect(answerOf(putJob(gitlab, id, token, { state: 'running' }, 'header')).status).toBe(200);
  });

  test('S8: jobs already waiting are still confirmed after the server turns the flag off', () => {
    const { gitlab } = aFake('two-phase');
    const { id, token } = handOut(gitlab);
    gitlab.setProfile('legacy');
    expect(answerOf(putJob(gitlab, id, token, { state: 'running' })).status).toBe(200);
    expect(gitlab.jobStatus(id)).toBe('running');
    expect(() => gitlab.setProfile('nonsense' as ServerProfile)).toThrow(/profile must be one of/);
  });
});

describe('FakeGitLab PUT /jobs/:id on a running job (legacy rules, docs/gitlab-protocol.md §4.2)', () => {
  test('S7: a keep-alive on a running job answers 400 with Job-Status running', () => {
    const { gitlab } = aFake('legacy');
    const { id, token } = handOut(gitlab);
    const answer = answerOf(putJob(gitlab, id, token, { state: 'pending' }));
    expect(answer).toMatchObject({ status: 400, body: '400' });
    expect(answer.headers['Job-Status']).toBe('running');
  });

  test('running touches (200); success ends the job; Job-Status is the status after processing', () => {
    const { gitlab } = aFake('legacy');
    const { id, token } = handOut(gitlab);
    expect(answerOf(putJob(gitlab, id, token, { state: 'running' })).headers['Job-Status']).toBe('running');
    const done = answerOf(putJob(gitlab, id, token, { state: 'success' }));
    expect(done).toMatchObject({ status: 200, body: '200' });
    expect(done.headers['Job-Status']).toBe('success');
    expect(gitlab.job(id).finishedAt).toBeDefined();
    const after = answerOf(putJob(gitlab, id, token, { state: 'running' }));
    expect(after.status).toBe(403);
    expect(after.headers['Job-Status']).toBe('success');
  });

  test('failed records the failure reason (unknown_failure when missing) and the exit code', () => {
    const { gitlab } = aFake('legacy');
    const first = handOut(gitlab);
    putJob(gitlab, first.id, first.token, { state: 'failed', failure_reason: 'script_failure', exit_code: 3 });
    expect(gitlab.job(first.id)).toMatchObject({ status: 'failed', failureReason: 'script_failure', exitCode: 3 });
    const second = handOut(gitlab);
    putJob(gitlab, second.id, second.token, { state: 'failed' });
    expect(gitlab.job(second.id)).toMatchObject({ status: 'failed', failureReason: 'unknown_failure' });
  });

  test('a failure reason GitLab does not list answers 400 (U9)', () => {
    const { gitlab } = aFake('legacy');
    const { id, token } = handOut(gitlab);
    expect(answerOf(putJob(gitlab, id, token, { state: 'failed', failure_reason: 'made_up' })).status).toBe(400);
    expect(gitlab.jobStatus(id)).toBe('running');
  });

  test('an unknown state answers 400', () => {
    const { gitlab } = aFake('legacy');
    const { id, token } = handOut(gitlab);
    expect(answerOf(putJob(gitlab, id, token, { state: 'paused' })).status).toBe(400);
  });
});

describe('FakeGitLab expiry (docs/gitlab-protocol.md §5.6)', () => {
  test('S9: when the window lapsed the worker drops the job as runner_provisioning_timeout and queues one copy', async () => {
    const { gitlab, clock } = aFake('two-phase');
    const { id, token } = handOut(gitlab);
    await clock.advance(window);
    const dropped = gitlab.job(id);
    expect(dropped).toMatchObject({ status: 'failed', failureReason: 'runner_provisioning_timeout' });
    const copyId = dropped.retriedAs;
    expect(copyId).toBeDefined();
    expect(gitlab.job(copyId ?? 0)).toMatchObject({ status: 'pending', assigned: false, retryOf: id });
    expect(gitlab.queuedJobIds()).toEqual([copyId]);
    const answer = answerOf(putJob(gitlab, id, token, { state: 'running' }));
    expect(answer.status).toBe(403);
    expect(answer.headers['Job-Status']).toBe('failed');
    expect(gitlab.history(id).map((change) => [change.event, change.status])).toEqual([
      ['enqueued', 'pending'],
      ['assigned', 'pending'],
      ['expired', 'failed'],
    ]);
  });

  test('S10: a job kept alive is left alone and re-checked 30 s later; it drops at the first check after silence', async () => {
    const { gitlab, clock } = aFake('two-phase');
    const start = clock.now();
    const { id, token } = handOut(gitlab);
    await clock.advance(100_000);
    expect(answerOf(putJob(gitlab, id, token, { state: 'pending' })).status).toBe(200);
    await clock.advance(20_000);
    expect(gitlab.job(id)).toMatchObject({ status: 'pending', expiryCheckAt: start + 150_000 });
    // The key lapses at 220 s; the worker looks at 210 s (still waiting), then at 240 s.
    await clock.advance(105_000);
    expect(gitlab.job(id)).toMatchObject({ status: 'pending', waitStatus: 'wait-expired' });
    const forbidden = answerOf(putJob(gitlab, id, token, { state: 'running' }));
    expect(forbidden.status).toBe(403);
    expect(forbidden.headers['Job-Status']).toBe('pending');
    await clock.advance(15_000);
    const dropped = gitlab.history(id).at(-1);
    expect(dropped).toMatchObject({
      event: 'expired',
      at: start + 240_000,
      failureReason: 'runner_provisioning_timeout',
    });
  });

  test('lapseAckWindow, then runExpiry, drops the job at once', () => {
    const { gitlab } = aFake('runner-status');
    const { id, token } = handOut(gitlab);
    gitlab.lapseAckWindow(id);
    expect(gitlab.job(id).waitStatus).toBe('wait-expired');
    expect(answerOf(postRunnerStatus(gitlab, id, token, 'running')).status).toBe(403);
    expect(gitlab.runExpiry()).toEqual([id]);
    expect(gitlab.jobStatus(id)).toBe('failed');
    expect(gitlab.runExpiry()).toEqual([]);
  });

  test('with autoExpiry off only runExpiry drops jobs', async () => {
    const { gitlab, clock } = aFake('two-phase', { autoExpiry: false });
    const { id } = handOut(gitlab);
    await clock.advance(10 * window);
    expect(gitlab.job(id)).toMatchObject({ status: 'pending', waitStatus: 'wait-expired' });
    expect(gitlab.runExpiry()).toEqual([id]);
  });

  test('retry copies stop at maxProvisioningRetries', async () => {
    const { gitlab, clock } = aFake('two-phase', { maxProvisioningRetries: 1 });
    const first = handOut(gitlab);
    await clock.advance(window);
    const second = gitlab.job(first.id).retriedAs ?? 0;
    expect(answerOf(requestJob(gitlab)).status).toBe(201);
    await clock.advance(window);
    expect(gitlab.job(second)).toMatchObject({ status: 'failed', retryOf: first.id });
    expect(gitlab.job(second).retriedAs).toBeUndefined();
    expect(gitlab.queuedJobIds()).toEqual([]);
  });

  test('a confirmed or canceled job is not touched by the worker', async () => {
    const { gitlab, clock } = aFake('two-phase');
    const confirmed = handOut(gitlab);
    putJob(gitlab, confirmed.id, confirmed.token, { state: 'running' });
    const canceled = handOut(gitlab);
    gitlab.cancelJob(canceled.id);
    await clock.advance(5 * window);
    expect(gitlab.jobStatus(confirmed.id)).toBe('running');
    expect(gitlab.jobStatus(canceled.id)).toBe('canceled');
    expect(gitlab.jobs()).toHaveLength(2);
  });
});

describe('FakeGitLab cancel', () => {
  test('a queued job is canceled and leaves the queue; a waiting one is canceled and its key dropped', () => {
    const { gitlab } = aFake('two-phase');
    const queued = gitlab.enqueueJob();
    const before = gitlab.lastUpdate;
    expect(gitlab.cancelJob(queued.id)).toBe('canceled');
    expect(gitlab.queuedJobIds()).toEqual([]);
    expect(gitlab.lastUpdate).not.toBe(before);
    const waiting = handOut(gitlab);
    expect(gitlab.cancelJob(waiting.id)).toBe('canceled');
    expect(gitlab.job(waiting.id)).toMatchObject({ waitStatus: 'not-waiting' });
    const answer = answerOf(putJob(gitlab, waiting.id, waiting.token, { state: 'pending' }));
    expect(answer.status).toBe(403);
    expect(answer.headers['Job-Status']).toBe('canceled');
  });

  test('a running job becomes canceling, then canceled on the runner’s final update, failed or success', () => {
    const { gitlab } = aFake('legacy');
    for (const final of [{ state: 'failed', failure_reason: 'job_canceled' }, { state: 'success' }]) {
      const { id, token } = handOut(gitlab);
      expect(gitlab.cancelJob(id)).toBe('canceling');
      expect(answerOf(putJob(gitlab, id, token, { state: 'running' })).headers['Job-Status']).toBe('canceling');
      const answer = answerOf(putJob(gitlab, id, token, final));
      expect(answer.status).toBe(200);
      expect(answer.headers['Job-Status']).toBe('canceled');
      expect(gitlab.history(id).map((change) => change.status)).toEqual([
        'pending',
        'running',
        'canceling',
        'canceled',
      ]);
    }
  });

  test('canceling a finished job changes nothing; an unknown id throws', () => {
    const { gitlab } = aFake('legacy');
    const { id, token } = handOut(gitlab);
    putJob(gitlab, id, token, { state: 'success' });
    expect(gitlab.cancelJob(id)).toBe('success');
    expect(() => gitlab.cancelJob(999)).toThrow('FakeGitLab.cancelJob: no job with id 999');
  });
});

describe('FakeGitLab POST /jobs/:id/runner_status', () => {
  test('exists only on the runner-status server: elsewhere 404 without Job-Status', () => {
    for (const profile of ['legacy', 'two-phase'] as const) {
      const { gitlab } = aFake(profile);
      const { id, token } = handOut(gitlab);
      const answer = answerOf(postRunnerStatus(gitlab, id, token, 'running'));
      expect(answer.status).toBe(404);
      expect(answer.headers['Job-Status']).toBeUndefined();
      expect(gitlab.requests().at(-1)?.operation).toBe('post-runner-status');
    }
  });

  test('follows the two-phase state machine: pending keeps alive, running confirms, anything else is 400', () => {
    const { gitlab, clock } = aFake('runner-status');
    const { id, token } = handOut(gitlab);
    expect(answerOf(postRunnerStatus(gitlab, id, token, 'success')).status).toBe(400);
    expect(answerOf(postRunnerStatus(gitlab, id, token, 'pending')).status).toBe(200);
    expect(gitlab.job(id).ackExpiresAt).toBe(clock.now() + window);
    const confirmed = answerOf(postRunnerStatus(gitlab, id, token, 'running'));
    expect(confirmed.headers['Job-Status']).toBe('running');
    expect(answerOf(postRunnerStatus(gitlab, id, token, 'running')).status).toBe(200);
    expect(answerOf(postRunnerStatus(gitlab, id, token, 'pending')).status).toBe(400);
  });

  test('a wrong method on a known route answers 405 with Allow', () => {
    const { gitlab } = aFake('runner-status');
    const answer = answerOf(gitlab.handle({ method: 'GET', url: '/api/v4/jobs/1/runner_status', headers: {} }));
    expect(answer.status).toBe(405);
    expect(answer.headers.Allow).toBe('POST');
    expect(answerOf(gitlab.handle({ method: 'GET', url: '/api/v4/jobs/1', headers: {} })).headers.Allow).toBe('PUT');
    expect(answerOf(gitlab.handle({ method: 'GET', url: '/api/v4/elsewhere', headers: {} })).status).toBe(404);
  });
});

describe('FakeGitLab PATCH /jobs/:id/trace (docs/gitlab-protocol.md §7)', () => {
  test('202 with Job-Status, Range and X-GitLab-Trace-Update-Interval; the trace grows', () => {
    const { gitlab } = aFake('legacy', { traceUpdateIntervalSeconds: 7 });
    const { id, token } = handOut(gitlab);
    const answer = answerOf(patchTrace(gitlab, id, token, 'héllo', 0, { debugTrace: true }));
    expect(answer.status).toBe(202);
    expect(answer.headers).toMatchObject({
      'Job-Status': 'running',
      Range: '0-6',
      'X-GitLab-Trace-Update-Interval': '7',
    });
    expect(answerOf(patchTrace(gitlab, id, token, '!', 6)).headers.Range).toBe('0-7');
    expect(gitlab.job(id)).toMatchObject({ trace: 'héllo!', debugTrace: true });
  });

  test('416 with Range 0-<size> when the start is not the current size', () => {
    const { gitlab } = aFake('legacy');
    const { id, token } = handOut(gitlab);
    patchTrace(gitlab, id, token, 'abc', 0);
    const answer = answerOf(patchTrace(gitlab, id, token, 'zz', 1));
    expect(answer.status).toBe(416);
    expect(answer.headers.Range).toBe('0-3');
    expect(gitlab.traceText(id)).toBe('abc');
  });

  test('400 without Content-Range; 403 for a job that waits or a wrong token', () => {
    const { gitlab } = aFake('two-phase');
    const { id, token } = handOut(gitlab);
    const waiting = answerOf(patchTrace(gitlab, id, token, 'x', 0));
    expect(waiting.status).toBe(403);
    expect(waiting.headers['Job-Status']).toBe('pending');
    putJob(gitlab, id, token, { state: 'running' });
    expect(answerOf(patchTrace(gitlab, id, token, 'x', 0, { contentRange: null })).status).toBe(400);
    expect(answerOf(patchTrace(gitlab, id, 'glcbt-wrong', 'x', 0)).status).toBe(403);
    expect(answerOf(patchTrace(gitlab, id, token, 'x', 0)).status).toBe(202);
  });
});

describe('FakeGitLab fault injection', () => {
  test('scripted answers are consumed in order before the model answers again', () => {
    const { gitlab } = aFake('two-phase');
    const { id, token } = handOut(gitlab);
    gitlab.inject('update-job', { status: 503, headers: { 'Retry-After': '2' } }, { times: 3 });
    const statuses = Array.from({ length: 4 }, () => answerOf(putJob(gitlab, id, token, { state: 'running' })).status);
    expect(statuses).toEqual([503, 503, 503, 200]);
    expect(gitlab.requests('update-job').map((request) => request.answer)).toEqual([
      { kind: 'status', status: 503, injected: true },
      { kind: 'status', status: 503, injected: true },
      { kind: 'status', status: 503, injected: true },
      { kind: 'status', status: 200, jobStatus: 'running', injected: false },
    ]);
  });

  test('job-specific scripts go before general ones and leave other jobs alone', () => {
    const { gitlab } = aFake('legacy');
    const first = handOut(gitlab);
    const second = handOut(gitlab);
    gitlab.inject('update-job', { status: 500 });
    gitlab.inject('update-job', { status: 502 }, { jobId: first.id });
    expect(answerOf(putJob(gitlab, second.id, second.token, { state: 'running' })).status).toBe(500);
    expect(answerOf(putJob(gitlab, first.id, first.token, { state: 'running' })).status).toBe(502);
    expect(answerOf(putJob(gitlab, first.id, first.token, { state: 'running' })).status).toBe(200);
  });

  test('injectSequence scripts a docs/design.md §2 sequence: 503, 429, a reset, then the model', () => {
    const { gitlab } = aFake('two-phase');
    const { id, token } = handOut(gitlab);
    gitlab.injectSequence('update-job', [{ status: 503 }, { status: 429 }, { fault: 'reset' }], { jobId: id });
    const replies = Array.from({ length: 4 }, () => putJob(gitlab, id, token, { state: 'running' }));
    expect(replies.map((reply) => (reply.kind === 'answer' ? reply.status : reply.fault))).toEqual([
      503,
      429,
      'reset',
      200,
    ]);
  });

  test('a scripted body is sent as JSON (objects) or text (strings), with a matching content type', () => {
    const { gitlab } = aFake('two-phase');
    gitlab.inject('request-job', { status: 409, body: { message: '409 Conflict' } });
    gitlab.inject('request-job', { status: 201, body: 'not json', headers: { 'content-type': 'text/html' } });
    const json = answerOf(requestJob(gitlab));
    expect(json.headers['Content-Type']).toBe('application/json');
    expect(JSON.parse(json.body)).toEqual({ message: '409 Conflict' });
    const text = answerOf(requestJob(gitlab));
    expect(text.headers).toMatchObject({ 'content-type': 'text/html' });
    expect(text.body).toBe('not json');
  });

  test('a fault with afterModel lets the model act first: the job is assigned but the answer is lost', () => {
    const { gitlab } = aFake('two-phase');
    const { id } = gitlab.enqueueJob();
    gitlab.inject('request-job', { fault: 'reset', afterModel: true, delayMs: 50 });
    expect(requestJob(gitlab)).toEqual({ kind: 'fault', fault: 'reset', delayMs: 50 });
    expect(gitlab.job(id)).toMatchObject({ status: 'pending', assigned: true });
    expect(gitlab.requests('request-job')[0]?.answer).toEqual({ kind: 'fault', fault: 'reset', injected: true });
  });

  test('a bare delay delays the model’s own answer', () => {
    const { gitlab } = aFake('two-phase');
    gitlab.inject('request-job', { delayMs: 1_500 });
    expect(requestJob(gitlab)).toMatchObject({ kind: 'answer', status: 204, delayMs: 1_500 });
  });

  test('bad scripts are refused with a clear error', () => {
    const { gitlab } = aFake('two-phase');
    expect(() => gitlab.inject('update-job', { status: 42 })).toThrow(/status must be an HTTP status/);
    expect(() => gitlab.inject('update-job', { delayMs: -1 })).toThrow(/delayMs must be zero or more/);
    expect(() => gitlab.inject('update-job', { status: 500 }, { times: 0 })).toThrow(/times must be a positive/);
    gitlab.inject('update-job', { status: 500 });
    gitlab.clearInjections();
    const { id, token } = handOut(gitlab);
    expect(answerOf(putJob(gitlab, id, token, { state: 'pending' })).status).toBe(200);
  });
});

describe('FakeGitLab inspection never shows a token', () => {
  test('jobs, history, payloads, the request log and the fake itself print no token', () => {
    const { gitlab } = aFake('runner-status');
    const first = handOut(gitlab);
    putJob(gitlab, first.id, first.token, { state: 'running' }, 'header');
    patchTrace(gitlab, first.id, first.token, 'log line', 0);
    postRunnerStatus(gitlab, first.id, first.token, 'running');
    const second = handOut(gitlab);
    putJob(gitlab, second.id, second.token, { state: 'pending' });
    const printed = [
      JSON.stringify(gitlab.jobs()),
      JSON.stringify(gitlab.history(first.id)),
      JSON.stringify(gitlab.requests()),
      JSON.stringify(gitlab.payload(first.id)),
      JSON.stringify(gitlab),
      inspect(gitlab.requests(), { depth: 10 }),
      inspect(gitlab.payload(second.id), { depth: 10 }),
      inspect(gitlab, { depth: 10 }),
    ].join('\n');
    for (const token of [gitlab.runnerToken, first.token, second.token, defaultMaskedValue]) {
      expect(printed).not.toContain(token);
    }
    const put = gitlab.requestsFor(first.id).find((request) => request.operation === 'update-job');
    expect(put?.headers['job-token']?.toString()).toBe('[REDACTED]');
    expect(gitlab.requests('request-job')[0]?.headers['runner-token']?.toString()).toBe('[REDACTED]');
    expect(gitlab.payload(first.id).token.reveal()).toBe(first.token);
  });
});

describe('FakeGitLab options', () => {
  test('tokens look like GitLab’s and a given runner token is used', () => {
    const { gitlab } = aFake('legacy');
    expect(gitlab.runnerToken).toMatch(/^glrt-[A-Za-z0-9]{20}$/);
    expect(gitlab.enqueueJob().token.reveal()).toMatch(/^glcbt-[A-Za-z0-9]{20}$/);
    expect(new FakeGitLab({ profile: 'legacy', runnerToken: 'glrt-given' }).runnerToken).toBe('glrt-given');
  });

  test('bad options are refused with an error naming the option', () => {
    expect(() => new FakeGitLab({ profile: 'modern' as ServerProfile })).toThrow(/profile must be one of/);
    expect(() => new FakeGitLab({ profile: 'legacy', ackWindowMs: 0 })).toThrow(/ackWindowMs must be positive/);
    expect(() => new FakeGitLab({ profile: 'legacy', maxProvisioningRetries: -1 })).toThrow(/maxProvisioningRetries/);
    expect(() => new FakeGitLab({ profile: 'legacy', runnerToken: ' ' })).toThrow(/runnerToken must not be empty/);
  });

  test('a malformed job spec is refused with an error naming the field', () => {
    const { gitlab } = aFake('legacy');
    expect(() => gitlab.enqueueJob({ script: 'echo' as unknown as string[] })).toThrow(
      'FakeGitLab.enqueueJob: script must be a list of strings',
    );
    expect(() => gitlab.enqueueJob({ variables: [{ key: 'A' }] as never })).toThrow(
      'FakeGitLab.enqueueJob: variables[0] must be an object with string key and value',
    );
    expect(() => gitlab.enqueueJob({ timeoutSeconds: 0 })).toThrow('timeoutSeconds must be a positive integer');
    expect(gitlab.jobs()).toEqual([]);
  });

  test('the request log keeps the newest requestLogLimit entries, numbered on', () => {
    const { gitlab } = aFake('legacy', { requestLogLimit: 2 });
    for (let round = 0; round < 3; round++) requestJob(gitlab);
    expect(gitlab.requests().map((request) => request.seq)).toEqual([2, 3]);
  });

  test('a custom ack window is honoured', async () => {
    const { gitlab, clock } = aFake('two-phase', { ackWindowMs: 10_000 });
    const { id } = handOut(gitlab);
    await clock.advance(10_000);
    expect(gitlab.jobStatus(id)).toBe('failed');
  });
});
