import { STATUS_CODES } from 'node:http';
import {
  classifyPatchTrace,
  classifyRequestJob,
  classifyRunnerStatus,
  classifyUpdateJob,
  lastUpdateOf,
  MalformedResponseError,
  type PatchTraceResult,
  type RequestJobResult,
  type RunnerStatusResult,
  redact,
  type Secret,
  type UpdateJobResult,
  type WireAnswer,
  wireAnswer,
} from '@runner-core/core';
import { decodeJobPayload, readableCredentials } from './gitlab-schemas.js';

/*
 * The HTTP side of status mapping. What each status MEANS lives in core (`gitlab-answers.ts`), shared with the fake
 * adapter so the two cannot disagree; this module only turns an HTTP answer into a `WireAnswer`, reads bodies and
 * hands both to those functions.
 *
 * NOTE: one call is one request. The retryable statuses (408, 429, 500, 502-504, >= 512) come back as values
 * (`retryable`, `unavailable`, `rate-limited`) with their `wait` hints; waiting and retrying is the core's job.
 */

/** An HTTP answer as the transport received it (redirects already resolved). */
export interface HttpAnswer {
  readonly status: number;
  /** Response headers; names in any case. */
  readonly headers: Readonly<Record<string, string | readonly string[] | number | undefined>>;
  readonly body: Uint8Array;
}

const MAX_MESSAGE_LENGTH = 500;

/**
 * The server's explanation of an answer: Rails' JSON `message` (or Grape's `error`) when the body has one, else the
 * status line (`409 Conflict`). Every given secret is redacted and the text is bounded, so it may be logged.
 */
export function serverMessage(answer: HttpAnswer, secrets: ReadonlyArray<Secret | undefined>): string {
  const statusLine = `${answer.status} ${STATUS_CODES[answer.status] ?? 'Unknown Status'}`;
  let text = statusLine;
  const body = parseJson(answer.body);
  if (body.ok && typeof body.value === 'object' && body.value !== null && !Array.isArray(body.value)) {
    const record = body.value as Record<string, unknown>;
    const detail = record.message ?? record.error;
    if (typeof detail === 'string' && detail !== '') text = detail;
    else if (detail !== undefined && detail !== null) text = `${statusLine} (${JSON.stringify(detail)})`;
  }
  const redacted = redact(text, secrets);
  return redacted.length > MAX_MESSAGE_LENGTH ? `${redacted.slice(0, MAX_MESSAGE_LENGTH)}…` : redacted;
}

/** The {@link WireAnswer} of an HTTP answer; its `message` is token-free (see {@link serverMessage}). */
export function toWireAnswer(answer: HttpAnswer, secrets: ReadonlyArray<Secret | undefined>): WireAnswer {
  return wireAnswer(answer.status, answer.headers, answer.status >= 300 ? serverMessage(answer, secrets) : undefined);
}

/** Whether a `Content-Type` is JSON: `application/json`, parameters (`; charset=utf-8`) allowed (gitlab-protocol T12). */
export function isJsonContentType(value: string | undefined): boolean {
  if (value === undefined) return false;
  const [mediaType] = value.split(';');
  return mediaType?.trim().toLowerCase() === 'application/json';
}

/**
 * Maps the answer to `POST /jobs/request`. A 201 must be JSON (by content type and by body) and pass the payload
 * schema; its `X-GitLab-Last-Update`, like any answer's, is returned as `lastUpdate`.
 *
 * @param what names the call in error messages (`POST /api/v4/jobs/request`).
 * @throws {MalformedResponseError} for an unusable 201, with the job's credentials when they are readable.
 */
export function mapRequestJob(
  answer: HttpAnswer,
  now: number,
  requestId: string,
  secrets: ReadonlyArray<Secret | undefined>,
  what: string,
): RequestJobResult {
  const wire = toWireAnswer(answer, secrets);
  const classified = classifyRequestJob(wire, now, requestId);
  if (classified.kind !== 'job') return classified;
  const body = parseJson(answer.body);
  const contentType = wire.header('Content-Type');
  if (!isJsonContentType(contentType)) {
    // NOTE: gitlab-runner drops such a job (status -1); reading the credentials anyway lets the core release it.
    const credentials = body.ok ? readableCredentials(body.value) : undefined;
    throw new MalformedResponseError(
      `${what} answered 201 with content type "${contentType ?? '(none)'}", expected application/json`,
      credentials,
    );
  }
  if (!body.ok) throw new MalformedResponseError(`${what} answered 201 with a body that is not JSON: ${body.problem}`);
  const job = decodeJobPayload(body.value, `${what} answered 201`);
  const lastUpdate = lastUpdateOf(wire);
  return { kind: 'job', job, ...(lastUpdate === undefined ? {} : { lastUpdate }), requestId };
}

/** Maps the answer to `PUT /jobs/:id` (gitlab-protocol §4.3). */
export function mapUpdateJob(
  answer: HttpAnswer,
  now: number,
  requestId: string,
  secrets: ReadonlyArray<Secret | undefined>,
): UpdateJobResult {
  return classifyUpdateJob(toWireAnswer(answer, secrets), now, requestId);
}

/** Maps the answer to `POST /jobs/:id/runner_status`: as an update, plus `unsupported` for a missing route. */
export function mapRunnerStatus(
  answer: HttpAnswer,
  now: number,
  requestId: string,
  secrets: ReadonlyArray<Secret | undefined>,
): RunnerStatusResult {
  return classifyRunnerStatus(toWireAnswer(answer, secrets), now, requestId);
}

/** Maps the answer to `PATCH /jobs/:id/trace` (gitlab-protocol §7); `sentEnd` = start + bytes sent. */
export function mapPatchTrace(
  answer: HttpAnswer,
  now: number,
  sentEnd: number,
  requestId: string,
  secrets: ReadonlyArray<Secret | undefined>,
): PatchTraceResult {
  return classifyPatchTrace(toWireAnswer(answer, secrets), now, sentEnd, requestId);
}

type Parsed = { readonly ok: true; readonly value: unknown } | { readonly ok: false; readonly problem: string };

function parseJson(body: Uint8Array): Parsed {
  const text = Buffer.from(body.buffer, body.byteOffset, body.byteLength).toString('utf8');
  try {
    return { ok: true, value: JSON.parse(text) };
  } catch (error) {
    // NOTE: V8's JSON.parse message quotes the text near the error; a 201 body holds the job token, so keep only
    // the kind of error.
    return { ok: false, problem: error instanceof SyntaxError ? 'invalid JSON syntax' : 'unreadable body' };
  }
}
