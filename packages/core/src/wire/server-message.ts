import { redact, type Secret } from '../secret/secret.js';
import type { WireResponse } from './wire-message.js';

/** The reason phrases of the statuses GitLab's runner API uses (RFC 9110), for status lines in messages. */
const REASON_PHRASES: Readonly<Record<number, string>> = {
  200: 'OK',
  201: 'Created',
  202: 'Accepted',
  204: 'No Content',
  301: 'Moved Permanently',
  302: 'Found',
  303: 'See Other',
  307: 'Temporary Redirect',
  308: 'Permanent Redirect',
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  405: 'Method Not Allowed',
  408: 'Request Timeout',
  409: 'Conflict',
  412: 'Precondition Failed',
  413: 'Payload Too Large',
  416: 'Range Not Satisfiable',
  422: 'Unprocessable Entity',
  429: 'Too Many Requests',
  500: 'Internal Server Error',
  501: 'Not Implemented',
  502: 'Bad Gateway',
  503: 'Service Unavailable',
  504: 'Gateway Timeout',
};

/** `409 Conflict`; `599 Unknown Status` for a status without a known phrase. */
export function statusLine(status: number): string {
  return `${status} ${REASON_PHRASES[status] ?? 'Unknown Status'}`;
}

const MAX_MESSAGE_LENGTH = 500;

/**
 * The server's explanation of an answer: Rails' JSON `message` (or Grape's `error`) when the body has one, else the
 * status line (`409 Conflict`). Every given secret is redacted and the text is bounded, so it may be logged.
 */
export function serverMessage(response: WireResponse, secrets: ReadonlyArray<Secret | undefined>): string {
  const line = statusLine(response.status);
  let text = line;
  const body = parseJson(response.body);
  if (body.ok && isRecord(body.value)) {
    const detail = body.value.message ?? body.value.error;
    if (typeof detail === 'string' && detail !== '') text = detail;
    else if (detail !== undefined && detail !== null) text = `${line} (${describeJson(detail)})`;
  }
  const redacted = redact(text, secrets);
  return redacted.length > MAX_MESSAGE_LENGTH ? `${redacted.slice(0, MAX_MESSAGE_LENGTH)}…` : redacted;
}

/** A JSON value as text for a message; a value too deep to print (a hostile body) is named, not printed. */
function describeJson(value: unknown): string {
  try {
    const text = JSON.stringify(value);
    return text.length > MAX_MESSAGE_LENGTH ? `${text.slice(0, MAX_MESSAGE_LENGTH)}…` : text;
  } catch {
    return 'a message too deeply nested to show';
  }
}

/** A parsed JSON body, or why it did not parse (never the text itself: a body may hold a token). */
export type ParsedJson =
  | { readonly ok: true; readonly value: unknown }
  | { readonly ok: false; readonly problem: string };

const decoder = new TextDecoder();

/** Parses a body as JSON. An empty body is not JSON. */
export function parseJson(body: Uint8Array): ParsedJson {
  try {
    return { ok: true, value: JSON.parse(decoder.decode(body)) };
  } catch (error) {
    // NOTE: V8's JSON.parse message quotes the text near the error; a 201 body holds the job token, so keep only
    // the kind of error.
    return { ok: false, problem: error instanceof SyntaxError ? 'invalid JSON syntax' : 'unreadable body' };
  }
}

/** Whether a value is a plain JSON object. */
export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
