import type { JobCredentials, JobPayload } from '../job/job.types.js';
import type { RunnerCredentials, RunnerInfo } from './runner-info.js';

/**
 * The status GitLab reports for a job in the `Job-Status` header. Known values are listed; others pass through.
 */
export type JobStatus =
  | 'created'
  | 'waiting_for_resource'
  | 'preparing'
  | 'pending'
  | 'running'
  | 'success'
  | 'failed'
  | 'canceling'
  | 'canceled'
  | 'skipped'
  | 'manual'
  | 'scheduled'
  | (string & {});

/**
 * What a server said about waiting before the next call. Times are absolute (epoch milliseconds) so the
 * caller's clock decides whether they lie in the future.
 */
export interface ServerWait {
  /** `RateLimit-ResetTime` (an HTTP date), when present and parseable. */
  readonly rateLimitResetAt?: number;
  /** `Retry-After`, either form (seconds or an HTTP date), as an absolute time. */
  readonly retryAfterAt?: number;
}

/** Hints every answer about a job may carry, whatever its kind. */
export interface JobAnswerHints {
  /** `Job-Status`, when the server sent it. */
  readonly jobStatus?: JobStatus;
  /** `Job-Status: canceling`: the user canceled the job and GitLab waits for the runner to stop it. */
  readonly cancelRequested: boolean;
  /**
   * `X-GitLab-Trace-Update-Interval` in milliseconds, as sent: may be 0 or negative (the caller applies only
   * positive values); unparseable text becomes 0.
   */
  readonly updateIntervalMs?: number;
  readonly wait?: ServerWait;
  /** The correlation id of the call (the server's `X-Request-Id` when it sent one, else ours). */
  readonly requestId?: string;
}

// ---------------------------------------------------------------------------------------------------------------
// POST /jobs/request

/** What `POST /api/v4/runners/verify` sends: the runner's credentials and its `info` block. */
export interface VerifyRunnerInput {
  readonly credentials: RunnerCredentials;
  readonly info: RunnerInfo;
}

/**
 * The answer to `POST /api/v4/runners/verify`, as gitlab-runner's `verify` reads it (docs/gitlab-protocol.md §2.7):
 *
 * | kind | answer |
 * | --- | --- |
 * | `verified` | 200: GitLab knows the runner token |
 * | `forbidden` | 403: the token is unknown, or the runner was deleted ("is removed") |
 * | `unavailable` | 503 |
 * | `rate-limited` | 429 |
 * | `failed` | anything else: GitLab did not say (gitlab-runner then carries on as if verified) |
 */
export type VerifyRunnerResult =
  | { readonly kind: 'verified'; readonly requestId?: string }
  | { readonly kind: 'forbidden'; readonly requestId?: string }
  | { readonly kind: 'unavailable'; readonly wait?: ServerWait; readonly requestId?: string }
  | { readonly kind: 'rate-limited'; readonly wait?: ServerWait; readonly requestId?: string }
  | { readonly kind: 'failed'; readonly status: number; readonly message: string; readonly requestId?: string };

export interface RequestJobInput {
  readonly credentials: RunnerCredentials;
  readonly info: RunnerInfo;
  /** Aborts a long poll (for example on shutdown); the call then throws a `TransportError`. */
  readonly signal?: AbortSignal;
}

/**
 * The answer to a job request. Mirrors gitlab-runner's `RequestJob` classification (docs/gitlab-protocol.md §2.5):
 *
 * | kind | answer | runner health |
 * | --- | --- | --- |
 * | `job` | 201 with a valid payload | healthy |
 * | `no-job` | 204 | healthy |
 * | `forbidden` | 403 (token invalid or runner deleted) | unhealthy |
 * | `unavailable` | 503 | healthy |
 * | `rate-limited` | 429 | healthy |
 * | `failed` | anything else (409, 422, 400, 401, 404, 413, 500…) | healthy |
 */
export type RequestJobResult =
  | { readonly kind: 'job'; readonly job: JobPayload; readonly lastUpdate?: string; readonly requestId?: string }
  | { readonly kind: 'no-job'; readonly lastUpdate?: string; readonly requestId?: string }
  | { readonly kind: 'forbidden'; readonly requestId?: string }
  | { readonly kind: 'unavailable'; readonly wait?: ServerWait; readonly requestId?: string }
  | { readonly kind: 'rate-limited'; readonly wait?: ServerWait; readonly requestId?: string }
  | { readonly kind: 'failed'; readonly status: number; readonly message: string; readonly requestId?: string };

// ---------------------------------------------------------------------------------------------------------------
// PUT /jobs/:id and POST /jobs/:id/runner_status

/** A job state a runner may send. `pending` is the two-phase keep-alive; `running` the confirmation or a touch. */
export type UpdateJobState = 'pending' | 'running' | 'success' | 'failed';

/** Failure reasons a runner reports (GitLab accepts the ones listed in the payload's `features.failure_reasons`). */
export type FailureReason =
  | 'script_failure'
  | 'runner_system_failure'
  | 'job_canceled'
  | 'job_execution_timeout'
  | 'unknown_failure'
  | 'runner_unsupported'
  | 'stuck_or_timeout_failure'
  | (string & {});

export interface UpdateJobInput {
  readonly info: RunnerInfo;
  readonly state: UpdateJobState;
  /** Only with `failed`. */
  readonly failureReason?: FailureReason;
  /** Omitted when 0. */
  readonly exitCode?: number;
  /** Trace checksum (`crc32:` + 8 hex) and size; a confirmation sends neither, so `output: {}` goes out. */
  readonly output?: { readonly checksum?: string; readonly bytesize?: number };
}

/**
 * The answer to a job update (and to a runner-status post). Evaluated top to bottom, as
 * gitlab-runner's `createUpdateJobResult` does, but with its catch-all `UpdateFailed` split so the
 * confirmation can tell a conflict from a rejection from a transient fault:
 *
 * | kind | answer | gitlab-runner state |
 * | --- | --- | --- |
 * | `aborted` | 403, 404, or `Job-Status` `canceled` / `failed` | `UpdateAbort` |
 * | `succeeded` | 200 | `UpdateSucceeded` |
 * | `accepted` | 202 (final update still being processed) | `UpdateAcceptedButNotCompleted` |
 * | `trace-invalid` | 412 | `UpdateTraceValidationFailed` |
 * | `conflict` | 409 (another runner manager holds the job) | `UpdateFailed` |
 * | `rejected` | 400 (state not allowed now) | `UpdateFailed` |
 * | `retryable` | 408, 429, 500, 502, 503, 504, ≥ 512 | `UpdateFailed` after retries |
 * | `failed` | any other status | `UpdateFailed` |
 *
 * `cancelRequested` (`Job-Status: canceling`) is independent of the kind.
 */
export type UpdateJobResult = JobAnswerHints &
  (
    | { readonly kind: 'succeeded' }
    | { readonly kind: 'accepted' }
    | { readonly kind: 'trace-invalid' }
    | { readonly kind: 'aborted'; readonly reason: 'forbidden' | 'not-found' | 'job-canceled' | 'job-failed' }
    | { readonly kind: 'conflict' }
    | { readonly kind: 'rejected' }
    | { readonly kind: 'retryable'; readonly status: number }
    | { readonly kind: 'failed'; readonly status: number }
  );

export interface RunnerStatusInput {
  readonly info: RunnerInfo;
  /** `pending` is a keep-alive, `running` the confirmation. */
  readonly status: 'pending' | 'running';
}

/**
 * The answer to `POST /jobs/:id/runner_status`: the same kinds as {@link UpdateJobResult}, plus `unsupported`
 * when the endpoint itself is missing (404 or 405 without a `Job-Status` header).
 */
export type RunnerStatusResult = UpdateJobResult | (JobAnswerHints & { readonly kind: 'unsupported' });

// ---------------------------------------------------------------------------------------------------------------
// PATCH /jobs/:id/trace

export interface PatchTraceInput {
  /** The bytes to append; an empty patch sends no request. */
  readonly content: Uint8Array;
  /** Where the bytes start in the job's trace. */
  readonly offset: number;
  /** `debug_trace` query parameter. @default false */
  readonly debugTrace?: boolean;
  /**
   * Send an empty patch anyway, to learn how much of the trace GitLab holds without writing: GitLab appends nothing
   * and answers `succeeded` when `offset` is its size, `range-mismatch` with its size otherwise. @default false
   */
  readonly probe?: boolean;
}

/**
 * The answer to a trace patch (docs/gitlab-protocol.md §7):
 *
 * | kind | answer |
 * | --- | --- |
 * | `aborted` | 403, or `Job-Status` `canceled` / `failed` |
 * | `succeeded` | 202; `offset` = start + length |
 * | `not-found` | 404 |
 * | `range-mismatch` | 416; `offset` = the number after `-` in `Range` (0 if malformed) |
 * | `retryable` | 408, 429, 500, 502, 503, 504, ≥ 512 |
 * | `failed` | anything else |
 */
export type PatchTraceResult = JobAnswerHints &
  (
    | { readonly kind: 'succeeded'; readonly offset: number }
    | { readonly kind: 'aborted' }
    | { readonly kind: 'not-found' }
    | { readonly kind: 'range-mismatch'; readonly offset: number }
    | { readonly kind: 'retryable'; readonly status: number }
    | { readonly kind: 'failed'; readonly status: number }
  );

/** Re-exported here so the port's types read in one place. */
export type { JobCredentials, JobPayload };
