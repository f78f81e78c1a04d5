import { type JobStatus, Secret } from '@runner-core/core';
import type { ServerOperation, ServerProfile } from '@runner-core/core/simulation';
import type { ExpiryWorker } from './expiry-worker.js';
import type { FakeHttpRequest } from './fake-gitlab.types.js';
import {
  type Answer,
  bodyBytes,
  headerOf,
  isRecord,
  jsonAnswer,
  messageAnswer,
  noContent,
  paramError,
  parseJsonBody,
  textAnswer,
} from './http-answers.js';
import type { AckKey, JobBook, JobRecord } from './job-book.js';

/** What the model needs besides the book: the profile being played and the runner's side of the settings. */
export interface ModelSettings {
  /** The GitLab being played (it may change at run time, as an admin flips the flag). */
  readonly profile: () => ServerProfile;
  readonly runnerTokens: ReadonlySet<string>;
  readonly ackWindowMs: number;
  /** `X-GitLab-Trace-Update-Interval` on trace answers, in seconds. */
  readonly traceUpdateIntervalSeconds: number;
}

/** The manager id GitLab records when a runner sends no `system_id`. */
const legacyManager = '<legacy>';
/** NOTE: the exact message of `job_forbidden!` for a job that is not executing (docs/gitlab-protocol.md §5.4, S6). */
const notProcessing = 'Job is not processing on runner';
const executing = new Set<JobStatus>(['running', 'canceling']);

/**
 * What Rails does with each runner API call (docs/gitlab-protocol.md §4, §5, §7 and the Rails checks of §8.6): the
 * job request with its two-phase hand-out, job updates with the acknowledgement handshake and the legacy state
 * rules, and trace patches. Answers at the HTTP level (status, headers, body).
 */
export class RunnerApiModel {
  readonly #book: JobBook;
  readonly #expiry: ExpiryWorker;
  readonly #settings: ModelSettings;

  constructor(book: JobBook, expiry: ExpiryWorker, settings: ModelSettings) {
    this.#book = book;
    this.#expiry = expiry;
    this.#settings = settings;
  }

  answer(
    operation: ServerOperation,
    jobId: number | undefined,
    request: FakeHttpRequest,
    query: Readonly<Record<string, string>>,
    now: number,
  ): Answer {
    switch (operation) {
      case 'verify-runner':
        return this.#verifyRunner(request);
      case 'request-job':
        return this.#requestJob(request, now);
      case 'update-job':
        return this.#updateJob(jobId ?? 0, request, now, 'state');
      case 'post-runner-status':
        return this.#updateJob(jobId ?? 0, request, now, 'status');
      case 'patch-trace':
        return this.#patchTrace(jobId ?? 0, request, query, now);
      default: {
        const unreachable: never = operation;
        throw new Error(`FakeGitLab: no handler for ${String(unreachable)}`);
      }
    }
  }

  /** `POST /api/v4/runners/verify` (docs/gitlab-protocol.md §2.7): 200 for a known token, 403 otherwise. */
  #verifyRunner(request: FakeHttpRequest): Answer {
    const parsed = parseJsonBody(request.body);
    if (parsed.invalid || !isRecord(parsed.value)) return paramError('body must be a JSON object');
    const token = stringField(parsed.value, 'token');
    if (token === undefined) return paramError('token is missing');
    if (!this.#settings.runnerTokens.has(token)) {
      return messageAnswer(
        403,
        'this fake GitLab does not know the runner token (runner-core sim prints the one it accepts)',
      );
    }
    // NOTE: Rails answers the runner's id and token; the token is the caller's own, the id a stand-in.
    return jsonAnswer(200, { id: 1, token, token_expires_at: null });
  }

  /** `POST /api/v4/jobs/request` (docs/gitlab-protocol.md §2.4, §5.2). */
  #requestJob(request: FakeHttpRequest, now: number): Answer {
    const parsed = parseJsonBody(request.body);
    if (parsed.invalid || !isRecord(parsed.value)) return paramError('body must be a JSON object');
    const body = parsed.value;
    const token = stringField(body, 'token');
    if (token === undefined) return paramError('token is missing');
    // NOTE: Rails authenticates from the body; like gitlab-runner's own mock handler, the fake also insists that the
    // RUNNER-TOKEN header says the same, so a client that forgets either is caught.
    // NOTE: GitLab says only "403 Forbidden"; the fake says why, for the person trying a client against it.
    if (!this.#settings.runnerTokens.has(token)) {
      return messageAnswer(
        403,
        'this fake GitLab does not know the runner token (runner-core sim prints the one it accepts)',
      );
    }
    const header = headerOf(request.headers, 'RUNNER-TOKEN');
    if (header === undefined) {
      return messageAnswer(
        403,
        'no RUNNER-TOKEN header: send the runner token in it as well as in the body, as gitlab-runner does',
      );
    }
    if (header !== token) return messageAnswer(403, 'the RUNNER-TOKEN header and the body token differ');
    const lastUpdate = { 'X-GitLab-Last-Update': this.#book.queueValue };
    if (stringField(body, 'last_update') === this.#book.queueValue) return noContent(lastUpdate);
    const job = this.#book.takeNext();
    if (job === undefined) return noContent(lastUpdate);

    const manager = stringField(body, 'system_id') ?? legacyManager;
    job.runnerToken = token;
    job.assignedAt = now;
    if (this.#settings.profile() !== 'legacy' && advertisesTwoPhase(body)) {
      job.ack = { manager, expiresAt: now + this.#settings.ackWindowMs };
      this.#expiry.schedule(job, now + this.#settings.ackWindowMs);
      this.#book.change(job, now, 'assigned', 'pending');
    } else {
      job.runnerManager = manager;
      job.startedAt = now;
      this.#book.change(job, now, 'assigned', 'running');
    }
    return jsonAnswer(201, this.#book.handoutPayload(job, now, this.#settings.profile()));
  }

  /**
   * `PUT /api/v4/jobs/:id` (`field` `state`) and `POST /api/v4/jobs/:id/runner_status` (`field` `status`):
   * docs/gitlab-protocol.md §4.2 (legacy rules), §5.4 (a waiting job).
   */
  #updateJob(id: number, request: FakeHttpRequest, now: number, field: 'state' | 'status'): Answer {
    const parsed = parseJsonBody(request.body);
    if (parsed.invalid || (parsed.value !== undefined && !isRecord(parsed.value))) {
      return paramError('body must be a JSON object');
    }
    const body = isRecord(parsed.value) ? parsed.value : {};
    const job = this.#book.authenticate(id, stringField(body, 'token') ?? headerOf(request.headers, 'JOB-TOKEN'));
    if (job === undefined) return messageAnswer(403);
    const state = stringField(body, field);
    const answer = (status: number): Answer => textAnswer(status, { 'Job-Status': job.status });

    if (job.status === 'pending') {
      if (this.#expiry.waitStatus(job, now) !== 'waiting' || job.ack === undefined) {
        return messageAnswer(403, notProcessing, { 'Job-Status': job.status });
      }
      return answer(this.#acknowledge(job, job.ack, state, now));
    }
    if (!executing.has(job.status)) return messageAnswer(403, notProcessing, { 'Job-Status': job.status });
    if (field === 'status') return answer(state === 'running' ? this.#touch(job, now) : 400);
    return answer(this.#legacyUpdate(job, body, state, now));
  }

  /** The two-phase handshake of a waiting job (`handle_runner_ack_workflow`, docs/gitlab-protocol.md §5.4). */
  #acknowledge(job: JobRecord, ack: AckKey, state: string | undefined, now: number): number {
    const takenByOther = job.runnerManager !== undefined && job.runnerManager !== ack.manager;
    switch (state) {
      case 'pending':
        if (job.runnerManager !== undefined) return 409;
        ack.expiresAt = now + this.#settings.ackWindowMs;
        job.updatedAt = now;
        return 200;
      case 'running':
        if (takenByOther) return 409;
        job.ack = undefined;
        job.runnerManager = ack.manager;
        job.startedAt = now;
        this.#book.change(job, now, 'confirmed', 'running');
        return 200;
      default:
        // NOTE: success, failed (GitLab has no decline), an empty or a missing state: 400, TTL unchanged.
        return 400;
    }
  }

  /** `Ci::UpdateBuildStateService` for a running or canceling job (docs/gitlab-protocol.md §4.2). */
  #legacyUpdate(job: JobRecord, body: Record<string, unknown>, state: string | undefined, now: number): number {
    switch (state) {
      case 'running':
        return this.#touch(job, now);
      case 'success':
        this.#book.finish(job, now, job.status === 'canceling' ? 'canceled' : 'success');
        return 200;
      case 'failed': {
        const reason = stringField(body, 'failure_reason') ?? 'unknown_failure';
        if (job.status === 'canceling') {
          // NOTE: a canceling job ends `canceled` whatever the runner reports (Rails' `drop`/`success` events).
          this.#book.finish(job, now, 'canceled', reason);
          return 200;
        }
        if (!this.#book.acceptedReasons(job).includes(reason)) return 400;
        const exitCode = body.exit_code;
        if (typeof exitCode === 'number' && Number.isInteger(exitCode)) job.exitCode = exitCode;
        job.failureReason = reason;
        this.#book.finish(job, now, 'failed', reason);
        return 200;
      }
      default:
        return 400;
    }
  }

  #touch(job: JobRecord, now: number): number {
    job.updatedAt = now;
    return 200;
  }

  /** `PATCH /api/v4/jobs/:id/trace` (docs/gitlab-protocol.md §7). */
  #patchTrace(id: number, request: FakeHttpRequest, query: Readonly<Record<string, string>>, now: number): Answer {
    const job = this.#book.authenticate(id, headerOf(request.headers, 'JOB-TOKEN') ?? query.token);
    if (job === undefined) return messageAnswer(403);
    const jobStatus = { 'Job-Status': job.status };
    if (!executing.has(job.status)) return messageAnswer(403, notProcessing, jobStatus);
    const contentRange = headerOf(request.headers, 'Content-Range');
    if (contentRange === undefined) return paramError('Content-Range is missing');
    const match = /^(\d+)-(\d+)$/.exec(contentRange.trim());
    if (match === null) return paramError('Content-Range must be <start>-<end>');
    const range = (): Record<string, string> => ({ Range: `0-${job.trace.byteLength}` });
    // NOTE: only the start counts; a patch that does not continue the trace gets 416 and the current size.
    if (Number(match[1]) !== job.trace.byteLength) return textAnswer(416, { ...jobStatus, ...range() });
    job.trace = Buffer.concat([job.trace, bodyBytes(request.body)]);
    job.updatedAt = now;
    if (query.debug_trace === 'true') job.debugTrace = true;
    return textAnswer(202, {
      ...jobStatus,
      ...range(),
      'X-GitLab-Trace-Update-Interval': String(this.#settings.traceUpdateIntervalSeconds),
    });
  }
}

/** A non-empty string field of a decoded body (a logged body holds its tokens as secrets). */
export function stringField(body: Record<string, unknown>, key: string): string | undefined {
  const value = body[key];
  if (value instanceof Secret) return value.reveal();
  return typeof value === 'string' && value !== '' ? value : undefined;
}

function advertisesTwoPhase(body: Record<string, unknown>): boolean {
  const info = body.info;
  return isRecord(info) && isRecord(info.features) && info.features.two_phase_job_commit === true;
}
