import { Secret } from '@runner-core/core';
import { statusLine } from '@runner-core/core/wire';

// HTTP-level helpers of the fake: what Rails and Grape do around the runner API's logic.

/** An answer before delays and injection: status, canonical headers, body text. */
export interface Answer {
  readonly status: number;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string;
}

/**
 * The body Grape sends for the job update routes: the status code as text (`200`).
 * NOTE: Rails answers `PUT /jobs/:id` with `body result.status.to_s`, so even 400 and 409 carry just the number.
 */
export function textAnswer(status: number, headers: Readonly<Record<string, string>> = {}): Answer {
  return { status, headers: { 'Content-Type': 'text/plain', ...headers }, body: String(status) };
}

/** A JSON answer (`Content-Type: application/json`). */
export function jsonAnswer(status: number, body: unknown, headers: Readonly<Record<string, string>> = {}): Answer {
  return { status, headers: { 'Content-Type': 'application/json', ...headers }, body: JSON.stringify(body) };
}

/** Rails' error answers: `{"message": "403 Forbidden - …"}` (`forbidden!`, `conflict!`…). */
export function messageAnswer(status: number, detail?: string, headers: Readonly<Record<string, string>> = {}): Answer {
  const message = detail === undefined ? statusLine(status) : `${statusLine(status)} - ${detail}`;
  return jsonAnswer(status, { message }, headers);
}

/** Grape's parameter errors: `{"error": "token is missing"}`, status 400. */
export function paramError(error: string): Answer {
  return jsonAnswer(400, { error });
}

/** A 204 with no body. */
export function noContent(headers: Readonly<Record<string, string>> = {}): Answer {
  return { status: 204, headers, body: '' };
}

/** A header of a request, by name in any case; `undefined` when absent or empty. */
export function headerOf(headers: Readonly<Record<string, string | undefined>>, name: string): string | undefined {
  const wanted = name.toLowerCase();
  for (const [key, value] of Object.entries(headers)) {
    if (key.toLowerCase() === wanted && value !== undefined && value !== '') return value;
  }
  return undefined;
}

/** A request URL split into its path and query parameters. */
export function splitUrl(url: string): { readonly path: string; readonly query: Readonly<Record<string, string>> } {
  const parsed = new URL(url, 'http://fake.invalid');
  return { path: parsed.pathname, query: Object.fromEntries(parsed.searchParams) };
}

const decoder = new TextDecoder();

/** The body as text. */
export function bodyText(body: string | Uint8Array | undefined): string {
  if (body === undefined) return '';
  return typeof body === 'string' ? body : decoder.decode(body);
}

/** The body as bytes. */
export function bodyBytes(body: string | Uint8Array | undefined): Uint8Array {
  if (body === undefined) return new Uint8Array(0);
  return typeof body === 'string' ? new TextEncoder().encode(body) : body;
}

/** The body parsed as JSON: `undefined` when empty, `{ invalid: true }` when it does not parse. */
export function parseJsonBody(
  body: string | Uint8Array | undefined,
): { readonly invalid: false; readonly value: unknown } | { readonly invalid: true } {
  const text = bodyText(body);
  if (text.trim() === '') return { invalid: false, value: undefined };
  try {
    return { invalid: false, value: JSON.parse(text) };
  } catch {
    return { invalid: true };
  }
}

/** Whether a value is a plain JSON object. */
export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

const secretHeaders = new Set(['runner-token', 'job-token', 'authorization', 'private-token']);
const secretKeys = new Set(['token', 'password', 'authorization']);

/** Request headers for the log: lower-case names, token-bearing values wrapped in {@link Secret}s. */
export function loggableHeaders(
  headers: Readonly<Record<string, string | undefined>>,
): Readonly<Record<string, string | Secret>> {
  const result: Record<string, string | Secret> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined) continue;
    const lower = name.toLowerCase();
    result[lower] = secretHeaders.has(lower) ? new Secret(value) : value;
  }
  return result;
}

/** A decoded JSON body for the log: every `token`, `password` and `authorization` field wrapped in a {@link Secret}. */
export function loggableJson(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(loggableJson);
  if (!isRecord(value)) return value;
  const result: Record<string, unknown> = {};
  for (const [key, field] of Object.entries(value)) {
    result[key] = secretKeys.has(key) && typeof field === 'string' ? new Secret(field) : loggableJson(field);
  }
  return result;
}

const alphabet = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';

/** `length` characters of `[a-zA-Z0-9]` drawn with `random`. */
export function randomChars(random: () => number, length: number): string {
  let result = '';
  for (let index = 0; index < length; index++) result += alphabet[Math.floor(random() * alphabet.length)] ?? 'x';
  return result;
}
