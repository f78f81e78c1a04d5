import type { JobCredentials } from '../job/job.types.js';
import {
  ClientConfigError,
  MalformedResponseError,
  ResponseTooLargeError,
  TransportError,
} from '../network/network.errors.js';
import type { RequestJobResult } from '../network/network.types.js';
import { type RunnerCredentials, runnerInfo } from '../network/runner-info.js';
import { Secret } from '../secret/secret.js';
import {
  type RecordedRequest,
  type ServerProfile,
  serverProfiles,
  type TransportFault,
} from '../simulation/simulated-gitlab.js';
import { MAX_ANSWER_BYTES } from '../wire/runner-api-client.js';
import { runnerCredentials } from './builders.js';
import type { HarnessFactory, NetworkHarness } from './network-harness.js';

/**
 * The assertions the suite uses, typed structurally so core does not depend on a test runner (vitest's `expect`
 * fits).
 */
export interface ContractAssertion {
  toBe(expected: unknown): void;
  toEqual(expected: unknown): void;
  toMatchObject(expected: object): void;
  toBeInstanceOf(expected: unknown): void;
  toBeUndefined(): void;
  toBeDefined(): void;
  toContain(expected: unknown): void;
  toHaveLength(expected: number): void;
  toBeGreaterThanOrEqual(expected: number): void;
  toBeLessThanOrEqual(expected: number): void;
  readonly not: ContractAssertion;
  readonly rejects: {
    toBeInstanceOf(expected: unknown): Promise<void>;
    toMatchObject(expected: object): Promise<void>;
  };
}

/** The `expect` of a test's context. */
export type ContractExpect = (actual: unknown, message?: string) => ContractAssertion;

/** What the suite reads from a test's context: its `expect` (so concurrent tests assert on their own). */
export interface ContractTestContext {
  readonly expect: ContractExpect;
}

/** A test registration function such as vitest's `test`. */
export type ContractTest = (name: string, fn: (context: ContractTestContext) => Promise<void>) => void;

/** Options of {@link networkContract}. */
export interface NetworkContractOptions {
  /** The server profiles to run the suite for. @default every profile */
  readonly profiles?: readonly ServerProfile[];
  /**
   * The transport faults the harness can produce faithfully. NOTE: over real HTTP an accepted connection cannot be
   * refused, so an HTTP harness leaves `refused` out (and `timeout` unless its client times out quickly).
   * @default ['reset', 'refused', 'timeout']
   */
  readonly faults?: readonly TransportFault[];
  /** Prefix of every test name. @default 'Network contract' */
  readonly name?: string;
}

/** Whether a fault may have reached the server (the port's `TransportError#sent`). */
const faultSent: Readonly<Record<TransportFault, boolean>> = { reset: true, refused: false, timeout: true };

const info = runnerInfo();
const systemId = 's_c0ntract0001';
const encoder = new TextEncoder();

/**
 * The executable form of the `Network` port's JSDoc contract, run against any adapter (built like keyv's
 * `@keyv/test-suite`): registers its tests through `test` and asserts with the context's `expect`. Each test gets a
 * fresh harness from `makeHarness` for the profile it covers and closes it afterwards.
 *
 * Covered: every method of the port; every result kind an adapter maps (not `accepted`/`trace-invalid` semantics
 * beyond their status); wait hints; `two_phase_job_commit` and `last_update` on the wire; malformed 201s; transport
 * faults; the two-phase, legacy and runner-status servers' answers to keep-alives and confirmations.
 */
export function networkContract(
  test: ContractTest,
  makeHarness: HarnessFactory,
  options: NetworkContractOptions = {},
): void {
  const { profiles = serverProfiles, faults = ['reset', 'refused', 'timeout'], name = 'Network contract' } = options;
  for (const profile of profiles) {
    const twoPhase = profile !== 'legacy';
    const define = (title: string, body: (expect: ContractExpect, harness: NetworkHarness) => Promise<void>): void => {
      test(`${name} [${profile}] ${title}`, async ({ expect }) => {
        const harness = await makeHarness({ profile });
        try {
          await body(expect, harness);
        } finally {
          await harness.close?.();
        }
      });
    };

    // -------------------------------------------------------------------------------------------------------------
    // verifyRunner

    define(
      'verifyRunner answers verified for a known token, sending it in header and body, and forbidden otherwise',
      async (expect, harness) => {
        const runner = runnerOf(harness);
        expect((await harness.network.verifyRunner({ credentials: runner, info })).kind).toBe('verified');
        const sent = lastRequest(expect, harness, 'verify-runner');
        expect([sent.method, sent.path]).toEqual(['POST', '/api/v4/runners/verify']);
        expect(sent.body).toMatchObject({ system_id: systemId, info: { features: { two_phase_job_commit: true } } });
        expect(secretEquals(field(sent.body, 'token'), runner.token)).toBe(true);
        expect(secretEquals(sent.headers['runner-token'], runner.token)).toBe(true);
        const stranger = runnerCredentials({ token: new Secret('glrt-not-a-known-runner-token'), systemId });
        expect((await harness.network.verifyRunner({ credentials: stranger, info })).kind).toBe('forbidden');
      },
    );

    define(
      'verifyRunner answers unavailable on 503 and failed on anything else it does not know',
      async (expect, harness) => {
        harness.gitlab.inject('verify-runner', { status: 503 });
        expect((await harness.network.verifyRunner({ credentials: runnerOf(harness), info })).kind).toBe('unavailable');
        harness.gitlab.inject('verify-runner', { status: 500, body: { message: 'boom' } });
        expect(await harness.network.verifyRunner({ credentials: runnerOf(harness), info })).toMatchObject({
          kind: 'failed',
          status: 500,
        });
      },
    );

    // -------------------------------------------------------------------------------------------------------------
    // requestJob

    define('requestJob returns the job handed out, its secrets wrapped', async (expect, harness) => {
      const enqueued = harness.gitlab.enqueueJob({ name: 'contract' });
      const result = await harness.network.requestJob({ credentials: runnerOf(harness), info });
      const job = expectJob(expect, result);
      expect(job.id).toBe(enqueued.id);
      expect(job.token).toBeInstanceOf(Secret);
      expect(job.token.equals(enqueued.token)).toBe(true);
      expect(job.git_info?.repo_url).toBeInstanceOf(Secret);
      expect(job.job_info?.name).toBe('contract');
      expect(JSON.stringify(result)).not.toContain(enqueued.token.reveal());
      expect(harness.gitlab.jobStatus(enqueued.id)).toBe(twoPhase ? 'pending' : 'running');
    });

    define(
      'requestJob advertises two_phase_job_commit and sends the runner token in header and body',
      async (expect, harness) => {
        const runner = runnerOf(harness);
        harness.gitlab.enqueueJob();
        await harness.network.requestJob({ credentials: runner, info });
        const sent = lastRequest(expect, harness, 'request-job');
        expect(sent.method).toBe('POST');
        expect(sent.path).toBe('/api/v4/jobs/request');
        expect(sent.body).toMatchObject({ system_id: systemId, info: { features: { two_phase_job_commit: true } } });
        expect(secretEquals(field(sent.body, 'token'), runner.token)).toBe(true);
        expect(secretEquals(sent.headers['runner-token'], runner.token)).toBe(true);
      },
    );

    define(
      'requestJob answers no-job on an empty queue and echoes X-GitLab-Last-Update as last_update',
      async (expect, harness) => {
        const runner = runnerOf(harness);
        const first = await harness.network.requestJob({ credentials: runner, info });
        expect(first.kind).toBe('no-job');
        const lastUpdate = first.kind === 'no-job' ? first.lastUpdate : undefined;
        expect(typeof lastUpdate).toBe('string');
        const second = await harness.network.requestJob({ credentials: runner, info });
        expect(second.kind).toBe('no-job');
        expect(field(lastRequest(expect, harness, 'request-job').body, 'last_update')).toBe(lastUpdate);
        const enqueued = harness.gitlab.enqueueJob();
        const third = await harness.network.requestJob({ credentials: runner, info });
        expect(expectJob(expect, third).id).toBe(enqueued.id);
      },
    );

    define('requestJob answers forbidden to an unknown runner token', async (expect, harness) => {
      harness.gitlab.enqueueJob();
      const stranger = runnerCredentials({ token: new Secret('glrt-not-a-known-runner-token'), systemId });
      const result = await harness.network.requestJob({ credentials: stranger, info });
      expect(result.kind).toBe('forbidden');
    });

    define('requestJob answers unavailable on 503, with Retry-After as an absolute time', async (expect, harness) => {
      harness.gitlab.inject('request-job', { status: 503, headers: { 'Retry-After': '7' } });
      const before = harness.clock.now();
      const result = await harness.network.requestJob({ credentials: runnerOf(harness), info });
      const after = harness.clock.now();
      expect(result.kind).toBe('unavailable');
      const retryAfterAt = result.kind === 'unavailable' ? result.wait?.retryAfterAt : undefined;
      expect(retryAfterAt).toBeGreaterThanOrEqual(before + 7_000);
      expect(retryAfterAt).toBeLessThanOrEqual(after + 7_000);
    });

    define('requestJob answers rate-limited on 429, with RateLimit-ResetTime', async (expect, harness) => {
      const resetAt = new Date(Math.ceil(harness.clock.now() / 1000) * 1000 + 60_000);
      harness.gitlab.inject('request-job', { status: 429, headers: { 'RateLimit-ResetTime': resetAt.toUTCString() } });
      const result = await harness.network.requestJob({ credentials: runnerOf(harness), info });
      expect(result.kind).toBe('rate-limited');
      expect(result.kind === 'rate-limited' ? result.wait?.rateLimitResetAt : undefined).toBe(resetAt.getTime());
    });

    define('requestJob answers failed, with the status, to any other answer', async (expect, harness) => {
      for (const status of [409, 422, 500]) {
        harness.gitlab.inject('request-job', { status, body: { message: `${status} from the contract` } });
        const result = await harness.network.requestJob({ credentials: runnerOf(harness), info });
        expect(result).toMatchObject({ kind: 'failed', status });
      }
    });

    define('requestJob throws MalformedResponseError for a 201 whose payload is unusable', async (expect, harness) => {
      const token = 'glcbt-malformed-job-token-1';
      harness.gitlab.inject('request-job', {
        status: 201,
        headers: { 'Content-Type': 'application/json' },
        body: { id: 4242, token, variables: 'not a list' },
      });
      const error = await caught(harness.network.requestJob({ credentials: runnerOf(harness), info }));
      expect(error).toBeInstanceOf(MalformedResponseError);
      const job = error instanceof MalformedResponseError ? error.job : undefined;
      expect(job?.id).toBe(4242);
      expect(job?.token.equals(token)).toBe(true);
      expect(String(error)).not.toContain(token);

      harness.gitlab.inject('request-job', { status: 201, headers: { 'Content-Type': 'application/json' }, body: '{' });
      const notJson = await caught(harness.network.requestJob({ credentials: runnerOf(harness), info }));
      expect(notJson).toBeInstanceOf(MalformedResponseError);
      expect(notJson instanceof MalformedResponseError ? notJson.job : 'unset').toBeUndefined();
    });

    for (const fault of faults) {
      define(`requestJob throws TransportError (sent: ${faultSent[fault]}) on a ${fault}`, async (expect, harness) => {
        harness.gitlab.inject('request-job', { fault });
        await expect(harness.network.requestJob({ credentials: runnerOf(harness), info })).rejects.toMatchObject({
          code: 'network.transport',
          sent: faultSent[fault],
        });
      });
    }

    // -------------------------------------------------------------------------------------------------------------
    // updateJob: keep-alive and confirmation

    if (twoPhase) {
      define('updateJob keep-alive (pending) succeeds while GitLab holds the job', async (expect, harness) => {
        const job = await handOut(expect, harness);
        const result = await harness.network.updateJob(job, { info, state: 'pending' });
        expect(result).toMatchObject({ kind: 'succeeded', jobStatus: 'pending', cancelRequested: false });
        expect(harness.gitlab.jobStatus(job.id)).toBe('pending');
      });
    } else {
      define(
        'updateJob keep-alive (pending) is rejected (400, Job-Status: running) by a legacy server',
        async (expect, harness) => {
          const job = await handOut(expect, harness);
          const result = await harness.network.updateJob(job, { info, state: 'pending' });
          expect(result).toMatchObject({ kind: 'rejected', jobStatus: 'running' });
        },
      );
    }

    define(
      'updateJob confirmation (running) succeeds, sends the job token and info, and repeats safely',
      async (expect, harness) => {
        const job = await handOut(expect, harness);
        const result = await harness.network.updateJob(job, { info, state: 'running' });
        expect(result).toMatchObject({ kind: 'succeeded', jobStatus: 'running', cancelRequested: false });
        expect(harness.gitlab.jobStatus(job.id)).toBe('running');
        const sent = lastRequest(expect, harness, 'update-job');
        expect(sent.method).toBe('PUT');
        expect(sent.path).toBe(`/api/v4/jobs/${job.id}`);
        expect(sent.state).toBe('running');
        expect(sent.body).toMatchObject({ state: 'running', info: { features: { two_phase_job_commit: true } } });
        expect(secretEquals(field(sent.body, 'token'), job.token)).toBe(true);
        expect(secretEquals(sent.headers['job-token'], job.token)).toBe(true);
        const again = await harness.network.updateJob(job, { info, state: 'running' });
        expect(again.kind).toBe('succeeded');
      },
    );

    define('updateJob answers aborted (forbidden) to a wrong job token or an unknown job', async (expect, harness) => {
      const job = await handOut(expect, harness);
      const wrongToken = await harness.network.updateJob(
        { id: job.id, token: new Secret('glcbt-wrong-token') },
        { info, state: 'running' },
      );
      expect(wrongToken).toMatchObject({ kind: 'aborted', reason: 'forbidden' });
      const unknown = await harness.network.updateJob({ id: 987_654, token: job.token }, { info, state: 'running' });
      expect(unknown).toMatchObject({ kind: 'aborted', reason: 'forbidden' });
    });

    define('updateJob answers aborted (not-found) to a 404', async (expect, harness) => {
      const job = await handOut(expect, harness);
      harness.gitlab.inject('update-job', { status: 404 }, { jobId: job.id });
      const result = await harness.network.updateJob(job, { info, state: 'running' });
      expect(result).toMatchObject({ kind: 'aborted', reason: 'not-found' });
    });

    define('updateJob answers aborted (job-canceled) once the user canceled the job', async (expect, harness) => {
      const job = await handOut(expect, harness);
      if (twoPhase) expect(harness.gitlab.cancelJob(job.id)).toBe('canceled');
      else {
        // A legacy job is already running: canceling it asks the runner to stop; once stopped it is canceled.
        expect(harness.gitlab.cancelJob(job.id)).toBe('canceling');
        await harness.network.updateJob(job, { info, state: 'failed', failureReason: 'job_canceled' });
      }
      const result = await harness.network.updateJob(job, { info, state: 'running' });
      expect(result).toMatchObject({ kind: 'aborted', reason: 'job-canceled', jobStatus: 'canceled' });
    });

    if (twoPhase) {
      define(
        'updateJob answers aborted once the ack window lapsed, and after GitLab dropped the job',
        async (expect, harness) => {
          const job = await handOut(expect, harness);
          harness.gitlab.lapseAckWindow(job.id);
          const lapsed = await harness.network.updateJob(job, { info, state: 'running' });
          expect(lapsed).toMatchObject({ kind: 'aborted', reason: 'forbidden', jobStatus: 'pending' });
          expect(harness.gitlab.runExpiry()).toContain(job.id);
          expect(harness.gitlab.jobStatus(job.id)).toBe('failed');
          const dropped = await harness.network.updateJob(job, { info, state: 'running' });
          expect(dropped).toMatchObject({ kind: 'aborted', reason: 'job-failed', jobStatus: 'failed' });
        },
      );

      define('updateJob answers conflict when another runner manager holds the job', async (expect, harness) => {
        const job = await handOut(expect, harness);
        harness.gitlab.takeByOtherManager(job.id);
        const keepAlive = await harness.network.updateJob(job, { info, state: 'pending' });
        expect(keepAlive).toMatchObject({ kind: 'conflict', jobStatus: 'pending' });
      });

      define(
        'updateJob answers rejected (400) to a final state while GitLab waits for the confirmation',
        async (expect, harness) => {
          const job = await handOut(expect, harness);
          const result = await harness.network.updateJob(job, {
            info,
            state: 'failed',
            failureReason: 'runner_system_failure',
          });
          expect(result).toMatchObject({ kind: 'rejected', jobStatus: 'pending' });
          expect(harness.gitlab.jobStatus(job.id)).toBe('pending');
        },
      );
    }

    define('updateJob answers conflict to a 409', async (expect, harness) => {
      const job = await handOut(expect, harness);
      harness.gitlab.inject('update-job', { status: 409 }, { jobId: job.id });
      expect(await harness.network.updateJob(job, { info, state: 'running' })).toMatchObject({ kind: 'conflict' });
    });

    define('updateJob reports cancelRequested (Job-Status: canceling) on a running job', async (expect, harness) => {
      const job = await runningJob(expect, harness);
      expect(harness.gitlab.cancelJob(job.id)).toBe('canceling');
      const touch = await harness.network.updateJob(job, { info, state: 'running' });
      expect(touch).toMatchObject({ kind: 'succeeded', cancelRequested: true, jobStatus: 'canceling' });
      // NOTE: the answer's Job-Status is the status after processing, so the final update that ends the job comes
      // back as `aborted` (job-canceled): for a final update that means "landed", as gitlab-runner reads it.
      const final = await harness.network.updateJob(job, { info, state: 'failed', failureReason: 'job_canceled' });
      expect(final).toMatchObject({ kind: 'aborted', reason: 'job-canceled', jobStatus: 'canceled' });
      expect(harness.gitlab.jobStatus(job.id)).toBe('canceled');
    });

    define('updateJob answers retryable with the server wait on 503 and 429, and on 502', async (expect, harness) => {
      const job = await handOut(expect, harness);
      const resetAt = new Date(Math.ceil(harness.clock.now() / 1000) * 1000 + 30_000);
      harness.gitlab.injectSequence(
        'update-job',
        [
          { status: 503, headers: { 'Retry-After': '3' } },
          { status: 429, headers: { 'RateLimit-ResetTime': resetAt.toUTCString() } },
          { status: 502 },
        ],
        { jobId: job.id },
      );
      const before = harness.clock.now();
      const unavailable = await harness.network.updateJob(job, { info, state: 'running' });
      expect(unavailable).toMatchObject({ kind: 'retryable', status: 503 });
      expect(unavailable.wait?.retryAfterAt).toBeGreaterThanOrEqual(before + 3_000);
      expect(unavailable.wait?.retryAfterAt).toBeLessThanOrEqual(harness.clock.now() + 3_000);
      const limited = await harness.network.updateJob(job, { info, state: 'running' });
      expect(limited).toMatchObject({ kind: 'retryable', status: 429, wait: { rateLimitResetAt: resetAt.getTime() } });
      expect(await harness.network.updateJob(job, { info, state: 'running' })).toMatchObject({
        kind: 'retryable',
        status: 502,
      });
      expect(harness.gitlab.jobStatus(job.id)).toBe(twoPhase ? 'pending' : 'running');
    });

    define(
      'updateJob maps 202, 412 and other statuses to accepted, trace-invalid and failed',
      async (expect, harness) => {
        const job = await runningJob(expect, harness);
        harness.gitlab.injectSequence('update-job', [{ status: 202 }, { status: 412 }, { status: 422 }], {
          jobId: job.id,
        });
        expect((await harness.network.updateJob(job, { info, state: 'success' })).kind).toBe('accepted');
        expect((await harness.network.updateJob(job, { info, state: 'success' })).kind).toBe('trace-invalid');
        expect(await harness.network.updateJob(job, { info, state: 'success' })).toMatchObject({
          kind: 'failed',
          status: 422,
        });
      },
    );

    define(
      'updateJob reports the final state; a final failed comes back aborted (Job-Status: failed)',
      async (expect, harness) => {
        const succeeded = await runningJob(expect, harness);
        const success = await harness.network.updateJob(succeeded, { info, state: 'success' });
        expect(success).toMatchObject({ kind: 'succeeded', jobStatus: 'success' });
        expect(harness.gitlab.jobStatus(succeeded.id)).toBe('success');
        const failed = await runningJob(expect, harness);
        const result = await harness.network.updateJob(failed, {
          info,
          state: 'failed',
          failureReason: 'script_failure',
          exitCode: 2,
        });
        // NOTE: Job-Status is the status after processing: the update landed, and `failed` classifies as aborted.
        expect(result).toMatchObject({ kind: 'aborted', reason: 'job-failed', jobStatus: 'failed' });
        expect(harness.gitlab.jobStatus(failed.id)).toBe('failed');
        expect(lastRequest(expect, harness, 'update-job').body).toMatchObject({
          state: 'failed',
          failure_reason: 'script_failure',
          exit_code: 2,
        });
      },
    );

    for (const fault of faults) {
      define(`updateJob throws TransportError (sent: ${faultSent[fault]}) on a ${fault}`, async (expect, harness) => {
        const job = await handOut(expect, harness);
        harness.gitlab.inject('update-job', { fault }, { jobId: job.id });
        await expect(harness.network.updateJob(job, { info, state: 'running' })).rejects.toBeInstanceOf(TransportError);
        harness.gitlab.inject('update-job', { fault }, { jobId: job.id });
        await expect(harness.network.updateJob(job, { info, state: 'running' })).rejects.toMatchObject({
          sent: faultSent[fault],
        });
      });
    }

    // -------------------------------------------------------------------------------------------------------------
    // postRunnerStatus

    if (profile === 'runner-status') {
      define('postRunnerStatus keeps the job alive and confirms it', async (expect, harness) => {
        const job = await handOut(expect, harness);
        expect(harness.gitlab.requests('request-job').length).toBe(1);
        const keepAlive = await harness.network.postRunnerStatus(job, { info, status: 'pending' });
        expect(keepAlive).toMatchObject({ kind: 'succeeded', jobStatus: 'pending' });
        const confirm = await harness.network.postRunnerStatus(job, { info, status: 'running' });
        expect(confirm).toMatchObject({ kind: 'succeeded', jobStatus: 'running' });
        expect(harness.gitlab.jobStatus(job.id)).toBe('running');
        const sent = lastRequest(expect, harness, 'post-runner-status');
        expect(sent.method).toBe('POST');
        expect(sent.path).toBe(`/api/v4/jobs/${job.id}/runner_status`);
        expect(sent.body).toMatchObject({ status: 'running' });
        expect(secretEquals(field(sent.body, 'token'), job.token)).toBe(true);
      });

      define(
        'postRunnerStatus answers aborted for a canceled job and unsupported to a 405',
        async (expect, harness) => {
          const job = await handOut(expect, harness);
          harness.gitlab.inject('post-runner-status', { status: 405 }, { jobId: job.id });
          expect((await harness.network.postRunnerStatus(job, { info, status: 'running' })).kind).toBe('unsupported');
          harness.gitlab.cancelJob(job.id);
          const result = await harness.network.postRunnerStatus(job, { info, status: 'running' });
          expect(result).toMatchObject({ kind: 'aborted', jobStatus: 'canceled' });
        },
      );
    } else {
      define('postRunnerStatus answers unsupported where the endpoint does not exist', async (expect, harness) => {
        const job = await handOut(expect, harness);
        const keepAlive = await harness.network.postRunnerStatus(job, { info, status: 'pending' });
        expect(keepAlive.kind).toBe('unsupported');
        const confirm = await harness.network.postRunnerStatus(job, { info, status: 'running' });
        expect(confirm.kind).toBe('unsupported');
        expect(harness.gitlab.jobStatus(job.id)).toBe(twoPhase ? 'pending' : 'running');
      });
    }

    // -------------------------------------------------------------------------------------------------------------
    // patchTrace

    define('patchTrace appends at the offset and answers the new offset', async (expect, harness) => {
      const job = await runningJob(expect, harness);
      const first = await harness.network.patchTrace(job, { content: encoder.encode('hello '), offset: 0 });
      expect(first).toMatchObject({ kind: 'succeeded', offset: 6, cancelRequested: false });
      expect(typeof first.updateIntervalMs).toBe('number');
      const sent = lastRequest(expect, harness, 'patch-trace');
      expect(sent.method).toBe('PATCH');
      expect(sent.path).toBe(`/api/v4/jobs/${job.id}/trace`);
      expect(sent.headers['content-range']).toBe('0-5');
      expect(sent.query.debug_trace).toBe('false');
      expect(secretEquals(sent.headers['job-token'], job.token)).toBe(true);
      const second = await harness.network.patchTrace(job, { content: encoder.encode('world'), offset: 6 });
      expect(second).toMatchObject({ kind: 'succeeded', offset: 11 });
      expect(harness.gitlab.traceText(job.id)).toBe('hello world');
    });

    define(
      'patchTrace answers range-mismatch with the server size when the offset is wrong',
      async (expect, harness) => {
        const job = await runningJob(expect, harness);
        await harness.network.patchTrace(job, { content: encoder.encode('12345'), offset: 0 });
        const result = await harness.network.patchTrace(job, { content: encoder.encode('67'), offset: 3 });
        expect(result).toMatchObject({ kind: 'range-mismatch', offset: 5 });
        expect(harness.gitlab.traceText(job.id)).toBe('12345');
      },
    );

    define(
      'patchTrace sends nothing for an empty patch and answers succeeded at the same offset',
      async (expect, harness) => {
        const job = await runningJob(expect, harness);
        const before = harness.gitlab.requests('patch-trace').length;
        const result = await harness.network.patchTrace(job, { content: new Uint8Array(0), offset: 4 });
        expect(result).toMatchObject({ kind: 'succeeded', offset: 4 });
        expect(harness.gitlab.requests('patch-trace')).toHaveLength(before);
      },
    );

    define('patchTrace answers aborted for a finished job or a wrong token', async (expect, harness) => {
      const job = await runningJob(expect, harness);
      const wrong = await harness.network.patchTrace(
        { id: job.id, token: new Secret('glcbt-wrong-token') },
        { content: encoder.encode('x'), offset: 0 },
      );
      expect(wrong.kind).toBe('aborted');
      await harness.network.updateJob(job, { info, state: 'success' });
      const finished = await harness.network.patchTrace(job, { content: encoder.encode('x'), offset: 0 });
      expect(finished).toMatchObject({ kind: 'aborted', jobStatus: 'success' });
    });

    define('patchTrace reports cancelRequested while the job is canceling', async (expect, harness) => {
      const job = await runningJob(expect, harness);
      harness.gitlab.cancelJob(job.id);
      const result = await harness.network.patchTrace(job, { content: encoder.encode('bye'), offset: 0 });
      expect(result).toMatchObject({ kind: 'succeeded', offset: 3, cancelRequested: true, jobStatus: 'canceling' });
    });

    define(
      'patchTrace maps 404, 503 and other statuses to not-found, retryable and failed',
      async (expect, harness) => {
        const job = await runningJob(expect, harness);
        harness.gitlab.injectSequence('patch-trace', [{ status: 404 }, { status: 503 }, { status: 400 }], {
          jobId: job.id,
        });
        const patch = { content: encoder.encode('x'), offset: 0 };
        expect((await harness.network.patchTrace(job, patch)).kind).toBe('not-found');
        expect(await harness.network.patchTrace(job, patch)).toMatchObject({ kind: 'retryable', status: 503 });
        expect(await harness.network.patchTrace(job, patch)).toMatchObject({ kind: 'failed', status: 400 });
      },
    );

    // -------------------------------------------------------------------------------------------------------------
    // One wire codec: what the two adapters once did differently, pinned for every adapter

    define('updateJob sends failure_reason only with state failed', async (expect, harness) => {
      const job = await runningJob(expect, harness);
      await harness.network.updateJob(job, { info, state: 'running', failureReason: 'script_failure' });
      expect(field(lastRequest(expect, harness, 'update-job').body, 'failure_reason')).toBeUndefined();
      await harness.network.updateJob(job, { info, state: 'failed', failureReason: 'script_failure', exitCode: 2 });
      expect(lastRequest(expect, harness, 'update-job').body).toMatchObject({
        state: 'failed',
        failure_reason: 'script_failure',
        exit_code: 2,
      });
    });

    define(
      'updateJob sends the deprecated top-level checksum beside output, and output {} on a confirmation',
      async (expect, harness) => {
        const job = await handOut(expect, harness);
        await harness.network.updateJob(job, { info, state: 'running' });
        const confirmation = lastRequest(expect, harness, 'update-job').body;
        expect(field(confirmation, 'output')).toEqual({});
        expect(field(confirmation, 'checksum')).toBeUndefined();
        const output = { checksum: 'crc32:0a1b2c3d', bytesize: 12 };
        await harness.network.updateJob(job, { info, state: 'success', output });
        expect(lastRequest(expect, harness, 'update-job').body).toMatchObject({ checksum: output.checksum, output });
      },
    );

    define('requestJob leaves out an empty system_id', async (expect, harness) => {
      harness.gitlab.enqueueJob();
      const runner = runnerCredentials({ token: new Secret(harness.gitlab.runnerToken), systemId: '' });
      await harness.network.requestJob({ credentials: runner, info });
      expect(field(lastRequest(expect, harness, 'request-job').body, 'system_id')).toBeUndefined();
    });

    define(
      'requestJob throws MalformedResponseError naming the field for a payload with steps not a list',
      async (expect, harness) => {
        const token = 'glcbt-steps-not-a-list-token';
        harness.gitlab.inject('request-job', {
          status: 201,
          headers: { 'Content-Type': 'application/json' },
          body: { id: 4343, token, steps: 'not-a-list' },
        });
        const error = await caught(harness.network.requestJob({ credentials: runnerOf(harness), info }));
        expect(error).toBeInstanceOf(MalformedResponseError);
        expect(String(error)).toContain('field steps is invalid: expected a list');
        expect(error instanceof MalformedResponseError ? error.job?.id : undefined).toBe(4343);
        expect(String(error)).not.toContain(token);
      },
    );

    define('patchTrace refuses a negative offset with ClientConfigError and sends nothing', async (expect, harness) => {
      const job = await runningJob(expect, harness);
      const before = harness.gitlab.requests('patch-trace').length;
      const error = await caught(harness.network.patchTrace(job, { content: encoder.encode('x'), offset: -1 }));
      expect(error).toBeInstanceOf(ClientConfigError);
      expect(harness.gitlab.requests('patch-trace')).toHaveLength(before);
    });

    define('an answer body over its bound is a ResponseTooLargeError naming the bound', async (expect, harness) => {
      const job = await runningJob(expect, harness);
      harness.gitlab.inject('update-job', { status: 400, body: 'x'.repeat(MAX_ANSWER_BYTES + 1) }, { jobId: job.id });
      const error = await caught(harness.network.updateJob(job, { info, state: 'running' }));
      expect(error).toBeInstanceOf(ResponseTooLargeError);
      expect(error instanceof ResponseTooLargeError ? error.limitBytes : undefined).toBe(MAX_ANSWER_BYTES);
      expect(String(error)).toContain(`${MAX_ANSWER_BYTES} bytes`);
    });
  }
}

function runnerOf(harness: NetworkHarness): RunnerCredentials {
  return runnerCredentials({ token: new Secret(harness.gitlab.runnerToken), systemId });
}

/** Enqueues a job and receives it: `pending` on a two-phase server, `running` on a legacy one. */
async function handOut(expect: ContractExpect, harness: NetworkHarness): Promise<JobCredentials> {
  harness.gitlab.enqueueJob();
  const result = await harness.network.requestJob({ credentials: runnerOf(harness), info });
  const job = expectJob(expect, result);
  return { id: job.id, token: job.token };
}

/** A job handed out and confirmed, so it runs on every server. */
async function runningJob(expect: ContractExpect, harness: NetworkHarness): Promise<JobCredentials> {
  const job = await handOut(expect, harness);
  expect((await harness.network.updateJob(job, { info, state: 'running' })).kind).toBe('succeeded');
  return job;
}

function expectJob(
  expect: ContractExpect,
  result: RequestJobResult,
): Extract<RequestJobResult, { kind: 'job' }>['job'] {
  expect(result.kind).toBe('job');
  if (result.kind !== 'job') throw new Error(`expected a job, got ${result.kind}`);
  return result.job;
}

function lastRequest(
  expect: ContractExpect,
  harness: NetworkHarness,
  operation: RecordedRequest['operation'],
): RecordedRequest {
  const requests = harness.gitlab.requests().filter((request) => request.operation === operation);
  const last = requests[requests.length - 1];
  expect(last).toBeDefined();
  if (last === undefined) throw new Error(`no ${operation} request reached the server`);
  return last;
}

function field(body: unknown, key: string): unknown {
  return typeof body === 'object' && body !== null ? (body as Record<string, unknown>)[key] : undefined;
}

function secretEquals(value: unknown, expected: Secret): boolean {
  return value instanceof Secret && value.equals(expected);
}

async function caught(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  return undefined;
}
