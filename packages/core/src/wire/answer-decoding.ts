import { MalformedResponseError } from '../network/network.errors.js';
import type {
  PatchTraceResult,
  RequestJobResult,
  RunnerStatusResult,
  UpdateJobResult,
  VerifyRunnerResult,
} from '../network/network.types.js';
import { redact, type Secret } from '../secret/secret.js';
import {
  classifyPatchTrace,
  classifyRequestJob,
  classifyRunnerStatus,
  classifyUpdateJob,
  classifyVerifyRunner,
  lastUpdateOf,
  type WireAnswer,
} from './answer-classification.js';
import { decodeParsedJobPayload, JobPayloadError, readableCredentials } from './job-payload-decoding.js';
import { parseJson, serverMessage } from './server-message.js';
import type { WireHeaders, WireRequest, WireResponse } from './wire-message.js';

/*
 * From an HTTP answer to the `Network` port's result: classification (answer-classification.ts), the 201 body's
 * checks and decoding, and the server's message, redacted. Shared by every adapter.
 */

/** The headers whose values reach results (and so logs): a server echoing a token in them must not leak it. */
const ECHOED_HEADERS = new Set(['job-status', 'x-request-id', 'x-gitlab-last-update']);

/**
 * A response's headers by lower-case name, read in one pass (a repeated header joined with `, `): what the client
 * and the classification look up, so the headers are walked once per answer.
 */
export function headerIndex(headers: WireHeaders): ReadonlyMap<string, string> {
  const index = new Map<string, string>();
  for (const name in headers) {
    const value = headers[name];
    if (value === undefined) continue;
    index.set(name.toLowerCase(), Array.isArray(value) ? value.join(', ') : String(value));
  }
  return index;
}

/** `redact`, without its copy of the text when no secret occurs in it (the usual case). */
export function redactPresent(text: string, secrets: ReadonlyArray<Secret | undefined>): string {
  for (const candidate of secrets) {
    const value = candidate?.reveal();
    if (value !== undefined && value.length > 0 && text.includes(value)) return redact(text, secrets);
  }
  return text;
}

/** The {@link WireAnswer} of a response; its `message` and the header values results carry are token-free. */
export function toWireAnswer(
  response: WireResponse,
  secrets: ReadonlyArray<Secret | undefined>,
  headers: ReadonlyMap<string, string> = headerIndex(response.headers),
): WireAnswer {
  const header = (name: string): string | undefined => {
    const lower = name.toLowerCase();
    const value = headers.get(lower);
    return value !== undefined && ECHOED_HEADERS.has(lower) ? redactPresent(value, secrets) : value;
  };
  return response.status >= 300
    ? { status: response.status, header, message: serverMessage(response, secrets) }
    : { status: response.status, header };
}

/** Whether a `Content-Type` is JSON: `application/json`, parameters (`; charset=utf-8`) allowed (T12). */
export function isJsonContentType(value: string | undefined): boolean {
  if (value === undefined) return false;
  const semicolon = value.indexOf(';');
  return (semicolon < 0 ? value : value.slice(0, semicolon)).trim().toLowerCase() === 'application/json';
}

/**
 * The answer to `POST /jobs/request`. A 201 must be JSON (by content type and by body) and a valid payload.
 *
 * @throws {MalformedResponseError} for an unusable 201, with the job's credentials when they are readable (so the
 *   caller can release the job), naming the failing field.
 */
export function decodeRequestJob(
  request: WireRequest,
  response: WireResponse,
  now: number,
  requestId: string,
): RequestJobResult {
  return decodeRequestJobAnswer(request, response, toWireAnswer(response, request.secrets), now, requestId);
}

/** {@link decodeRequestJob} of an answer already read ({@link toWireAnswer}). */
export function decodeRequestJobAnswer(
  request: WireRequest,
  response: WireResponse,
  answer: WireAnswer,
  now: number,
  requestId: string,
): RequestJobResult {
  requestId = redactPresent(requestId, request.secrets);
  const classified = classifyRequestJob(answer, now, requestId);
  if (classified.kind !== 'job') return classified;
  const body = parseJson(response.body);
  const contentType = answer.header('Content-Type');
  if (!isJsonContentType(contentType)) {
    // NOTE: gitlab-runner drops such a job (status -1); reading the credentials anyway lets the core release it.
    throw new MalformedResponseError(
      `${request.what} answered 201 with content type "${contentType ?? '(none)'}", expected application/json`,
      body.ok ? readableCredentials(body.value) : undefined,
    );
  }
  if (!body.ok) {
    throw new MalformedResponseError(`${request.what} answered 201 with a body that is not JSON: ${body.problem}`);
  }
  let job: ReturnType<typeof decodeParsedJobPayload>;
  try {
    // The parsed body is this call's own: the payload is decoded in place.
    job = decodeParsedJobPayload(body.value);
  } catch (error) {
    if (!(error instanceof JobPayloadError)) throw error;
    // NOTE: the message names a field and a kind of value, never a value; the cause stays out (it is ours anyway).
    throw new MalformedResponseError(`${request.what} answered 201: ${error.message}`, readableCredentials(body.value));
  }
  const lastUpdate = lastUpdateOf(answer);
  return { kind: 'job', job, ...(lastUpdate === undefined ? {} : { lastUpdate }), requestId };
}

/** The answer to `POST /runners/verify` (§2.7). */
export function decodeVerifyRunner(
  request: WireRequest,
  response: WireResponse,
  now: number,
  requestId: string,
): VerifyRunnerResult {
  return classifyVerifyRunner(toWireAnswer(response, request.secrets), now, redactPresent(requestId, request.secrets));
}

/** The answer to `PUT /jobs/:id` (§4.3). */
export function decodeUpdateJob(
  request: WireRequest,
  response: WireResponse,
  now: number,
  requestId: string,
): UpdateJobResult {
  return decodeUpdateJobAnswer(request, toWireAnswer(response, request.secrets), now, requestId);
}

/** {@link decodeUpdateJob} of an answer already read ({@link toWireAnswer}). */
export function decodeUpdateJobAnswer(
  request: WireRequest,
  answer: WireAnswer,
  now: number,
  requestId: string,
): UpdateJobResult {
  return classifyUpdateJob(answer, now, redactPresent(requestId, request.secrets));
}

/** The answer to `POST /jobs/:id/runner_status`: as an update, plus `unsupported` for a missing route. */
export function decodeRunnerStatus(
  request: WireRequest,
  response: WireResponse,
  now: number,
  requestId: string,
): RunnerStatusResult {
  return decodeRunnerStatusAnswer(request, toWireAnswer(response, request.secrets), now, requestId);
}

/** {@link decodeRunnerStatus} of an answer already read ({@link toWireAnswer}). */
export function decodeRunnerStatusAnswer(
  request: WireRequest,
  answer: WireAnswer,
  now: number,
  requestId: string,
): RunnerStatusResult {
  return classifyRunnerStatus(answer, now, redactPresent(requestId, request.secrets));
}

/** The answer to `PATCH /jobs/:id/trace` (§7); `sentEnd` = start + bytes sent. */
export function decodePatchTrace(
  request: WireRequest,
  response: WireResponse,
  now: number,
  sentEnd: number,
  requestId: string,
): PatchTraceResult {
  return decodePatchTraceAnswer(request, toWireAnswer(response, request.secrets), now, sentEnd, requestId);
}

/** {@link decodePatchTrace} of an answer already read ({@link toWireAnswer}). */
export function decodePatchTraceAnswer(
  request: WireRequest,
  answer: WireAnswer,
  now: number,
  sentEnd: number,
  requestId: string,
): PatchTraceResult {
  return classifyPatchTrace(answer, now, sentEnd, redactPresent(requestId, request.secrets));
}
