import type {
  JobAnswerHints,
  PatchTraceResult,
  RequestJobResult,
  RunnerStatusResult,
  ServerWait,
  UpdateJobResult,
  VerifyRunnerResult,
} from '../network/network.types.js';
import { isRetryableStatus } from '../retry/retry-policy.js';

/**
 * What GitLab's answers mean, in one pure module shared by every adapter (HTTP and fake), so two transports
 * cannot disagree about a status. Tables: docs/gitlab-protocol.md §2.5, §4.3, §7, §8.
 */

/** An HTTP answer reduced to what classification reads. */
export interface WireAnswer {
  readonly status: number;
  /** A response header by name, case-insensitively; `undefined` when absent. */
  header(name: string): string | undefined;
  /** The server's error text (Rails' `message` field, else the status line), token-free. */
  readonly message?: string;
}

/** A {@link WireAnswer} over a plain header record (any case; repeated headers joined with `, `). */
export function wireAnswer(
  status: number,
  headers: Readonly<Record<string, string | readonly string[] | number | undefined>>,
  message?: string,
): WireAnswer {
  const byLowerName = new Map<string, string>();
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined) continue;
    byLowerName.set(name.toLowerCase(), Array.isArray(value) ? value.join(', ') : String(value));
  }
  return {
    status,
    header: (name) => byLowerName.get(name.toLowerCase()),
    ...(message === undefined ? {} : { message }),
  };
}

/**
 * `RateLimit-ResetTime` (an HTTP date) and `Retry-After` (integer seconds or an HTTP date) as absolute times.
 * Unparseable values are ignored. NOTE: gitlab-runner reads only the seconds form of `Retry-After`; we read both.
 */
export function parseServerWait(answer: WireAnswer, now: number): ServerWait | undefined {
  const resetAt = parseHttpDate(answer.header('RateLimit-ResetTime'));
  const retryAfterAt = parseRetryAfter(answer.header('Retry-After'), now);
  if (resetAt === undefined && retryAfterAt === undefined) return undefined;
  return {
    ...(resetAt === undefined ? {} : { rateLimitResetAt: resetAt }),
    ...(retryAfterAt === undefined ? {} : { retryAfterAt }),
  };
}

function parseRetryAfter(value: string | undefined, now: number): number | undefined {
  if (value === undefined) return undefined;
  const trimmed = value.trim();
  if (/^\d+$/.test(trimmed)) return now + Number(trimmed) * 1000;
  return parseHttpDate(trimmed);
}

function parseHttpDate(value: string | undefined): number | undefined {
  if (value === undefined || value.trim() === '' || /^-?\d+$/.test(value.trim())) return undefined;
  const at = Date.parse(value);
  return Number.isNaN(at) ? undefined : at;
}

/**
 * `X-GitLab-Trace-Update-Interval` in milliseconds. Absent → `undefined`; empty or not an integer → 0 (gitlab-runner
 * warns and ignores it); negative values are kept (callers apply only positive ones).
 */
export function parseUpdateIntervalMs(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const trimmed = value.trim();
  return /^-?\d+$/.test(trimmed) ? Number(trimmed) * 1000 : 0;
}

/** `X-GitLab-Last-Update` when present and non-empty (an empty one keeps the previous value). */
export function lastUpdateOf(answer: WireAnswer): string | undefined {
  const value = answer.header('X-GitLab-Last-Update');
  return value === undefined || value === '' ? undefined : value;
}

/** The hints every job answer carries, whatever its status. */
export function jobAnswerHints(answer: WireAnswer, now: number, requestId?: string): JobAnswerHints {
  return hintsOf(answer, now, requestId);
}

/**
 * {@link JobAnswerHints} as a record a classifier completes with its result's own fields (`kind`, then `reason`,
 * `status` or `offset`), so an answer's result is one object rather than the hints and a spread of them. The keys
 * come in the order the spreads gave them: the hints, then the result's fields.
 */
type OpenHints = { -readonly [K in keyof JobAnswerHints]: JobAnswerHints[K] } & {
  kind?: string;
  reason?: string;
  status?: number;
  offset?: number;
};

function hintsOf(answer: WireAnswer, now: number, requestId: string | undefined): OpenHints {
  const jobStatus = answer.header('Job-Status') || undefined;
  const updateIntervalMs = parseUpdateIntervalMs(answer.header('X-GitLab-Trace-Update-Interval'));
  const wait = parseServerWait(answer, now);
  // NOTE: assigned rather than spread from conditional literals: each spread built an object of its own, on every
  // answer to a keep-alive, a confirmation and a trace patch.
  const hints: OpenHints = { cancelRequested: jobStatus === 'canceling' };
  if (jobStatus !== undefined) hints.jobStatus = jobStatus;
  if (updateIntervalMs !== undefined) hints.updateIntervalMs = updateIntervalMs;
  if (wait !== undefined) hints.wait = wait;
  if (requestId !== undefined) hints.requestId = requestId;
  return hints;
}

/** The hints completed as a result of `kind` (and `field`: the kind's own value, when it has one). */
function completed<R>(hints: OpenHints, kind: string, field?: 'reason' | 'status' | 'offset', value?: unknown): R {
  hints.kind = kind;
  if (field !== undefined) (hints as Record<string, unknown>)[field] = value;
  return hints as unknown as R;
}

const withRequestId = (requestId: string | undefined): { requestId?: string } =>
  requestId === undefined ? {} : { requestId };

/** Classifies the answer to `POST /runners/verify` (docs/gitlab-protocol.md §2.7), as gitlab-runner's `verify`. */
export function classifyVerifyRunner(answer: WireAnswer, now: number, requestId?: string): VerifyRunnerResult {
  return answer.status === 200
    ? { kind: 'verified', ...withRequestId(requestId) }
    : runnerRefusal(answer, now, requestId);
}

/** What a call authenticated by the runner token (job request, verify) gets when it is not its success answer. */
function runnerRefusal(
  answer: WireAnswer,
  now: number,
  requestId: string | undefined,
): Extract<RequestJobResult, { kind: 'forbidden' | 'unavailable' | 'rate-limited' | 'failed' }> {
  const id = withRequestId(requestId);
  const wait = parseServerWait(answer, now);
  const waitField = wait === undefined ? {} : { wait };
  switch (answer.status) {
    case 403:
      return { kind: 'forbidden', ...id };
    case 503:
      return { kind: 'unavailable', ...waitField, ...id };
    case 429:
      return { kind: 'rate-limited', ...waitField, ...id };
    default:
      return { kind: 'failed', status: answer.status, message: answer.message ?? `HTTP ${answer.status}`, ...id };
  }
}

/**
 * Classifies the answer to `POST /jobs/request` (docs/gitlab-protocol.md §2.5). A 201 comes back as `{ kind: 'job' }`: the
 * adapter then parses and validates the body.
 */
export function classifyRequestJob(
  answer: WireAnswer,
  now: number,
  requestId?: string,
): Exclude<RequestJobResult, { kind: 'job' }> | { readonly kind: 'job' } {
  if (answer.status === 201) return { kind: 'job' };
  if (answer.status !== 204) return runnerRefusal(answer, now, requestId);
  const lastUpdate = lastUpdateOf(answer);
  return { kind: 'no-job', ...(lastUpdate === undefined ? {} : { lastUpdate }), ...withRequestId(requestId) };
}

/**
 * Classifies the answer to `PUT /jobs/:id`, top to bottom as gitlab-runner's `createUpdateJobResult` does
 * (docs/gitlab-protocol.md §4.3), with its catch-all `UpdateFailed` split into `conflict` (409), `rejected` (400),
 * `retryable` and `failed`. NOTE: gitlab-runner runs the job after any `UpdateFailed`; runner-core never does, which
 * is why the split matters.
 */
export function classifyUpdateJob(answer: WireAnswer, now: number, requestId?: string): UpdateJobResult {
  const hints = hintsOf(answer, now, requestId);
  const done = completed<UpdateJobResult>;
  if (hints.jobStatus === 'canceled') return done(hints, 'aborted', 'reason', 'job-canceled');
  if (hints.jobStatus === 'failed') return done(hints, 'aborted', 'reason', 'job-failed');
  const { status } = answer;
  if (status === 403) return done(hints, 'aborted', 'reason', 'forbidden');
  if (status === 200) return done(hints, 'succeeded');
  if (status === 202) return done(hints, 'accepted');
  if (status === 412) return done(hints, 'trace-invalid');
  // NOTE: gitlab-runner defines an "update not found" state but never produces it: 404 aborts. So do we.
  if (status === 404) return done(hints, 'aborted', 'reason', 'not-found');
  if (status === 409) return done(hints, 'conflict');
  if (status === 400) return done(hints, 'rejected');
  if (isRetryableStatus(status)) return done(hints, 'retryable', 'status', status);
  return done(hints, 'failed', 'status', status);
}

/**
 * Classifies the answer to `POST /jobs/:id/runner_status`: as a job update, except that 404 or 405 without a
 * `Job-Status` header means the route itself is missing (`unsupported`): a server that knows the job always says
 * its status.
 */
export function classifyRunnerStatus(answer: WireAnswer, now: number, requestId?: string): RunnerStatusResult {
  if ((answer.status === 404 || answer.status === 405) && !answer.header('Job-Status')) {
    return completed(hintsOf(answer, now, requestId), 'unsupported');
  }
  return classifyUpdateJob(answer, now, requestId);
}

/**
 * Classifies the answer to `PATCH /jobs/:id/trace` (docs/gitlab-protocol.md §7). `sentEnd` is the offset after the patch
 * (start + bytes), the new offset on success.
 */
export function classifyPatchTrace(
  answer: WireAnswer,
  now: number,
  sentEnd: number,
  requestId?: string,
): PatchTraceResult {
  const hints = hintsOf(answer, now, requestId);
  const done = completed<PatchTraceResult>;
  const { status } = answer;
  if (hints.jobStatus === 'canceled' || hints.jobStatus === 'failed' || status === 403) return done(hints, 'aborted');
  if (status === 202) return done(hints, 'succeeded', 'offset', sentEnd);
  if (status === 404) return done(hints, 'not-found');
  if (status === 416) return done(hints, 'range-mismatch', 'offset', rangeEnd(answer.header('Range')));
  if (isRetryableStatus(status)) return done(hints, 'retryable', 'status', status);
  return done(hints, 'failed', 'status', status);
}

/** The number after `-` in `Range: 0-<size>`; 0 when malformed (as gitlab-runner does). */
function rangeEnd(range: string | undefined): number {
  const match = range === undefined ? null : /^\s*\d+-(\d+)\s*$/.exec(range);
  return match?.[1] === undefined ? 0 : Number(match[1]);
}
