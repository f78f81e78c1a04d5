import { ClientConfigError, type NetworkError, redact, type Secret, TransportError } from '@runner-core/core';

/** Failures that happen before a single byte of the request left: the server certainly did not see it. */
const NOT_SENT_CODES = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH']);

/**
 * Certificate verification failures. NOTE: they end the TLS handshake, before any HTTP byte is written, so the
 * request certainly did not reach GitLab either.
 */
const TLS_VERIFY_CODES = new Set([
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'CERT_HAS_EXPIRED',
  'CERT_NOT_YET_VALID',
  'CERT_UNTRUSTED',
  'CERT_REVOKED',
  'CERT_SIGNATURE_FAILURE',
  'ERR_TLS_CERT_ALTNAME_INVALID',
]);

/** Node's refusals of a header value: a token with a line break, for example. Nothing was sent. */
const BAD_HEADER_CODES = new Set(['ERR_INVALID_CHAR', 'ERR_HTTP_INVALID_HEADER_VALUE', 'ERR_INVALID_HTTP_TOKEN']);

/** The HTTP client's own option errors (a malformed proxy setting). */
const BAD_OPTION_CODES = new Set(['ERR_BAD_OPTION', 'ERR_BAD_OPTION_VALUE', 'ERR_INVALID_URL']);

/**
 * Turns whatever the HTTP client threw into a {@link NetworkError} that is safe to log: the message names the call
 * and the failure, every given secret is redacted, and the `cause` is a fresh `Error` with only the message and the
 * system fields (`code`, `errno`, `syscall`, `hostname`, `address`, `port`): never the client's request config,
 * whose headers and body carry tokens.
 */
export function transportErrorOf(
  error: unknown,
  what: string,
  secrets: ReadonlyArray<Secret | undefined>,
  /** `host:port` of the server called, for the words of a failure that does not name it. */
  target?: string,
): NetworkError {
  const code = errorCode(error);
  const raw = redact(errorMessage(error), secrets);
  const cause = sanitizedCause(error, raw, code);
  const detail = inWords(code, raw, innermost(error), target);
  if (code !== undefined && BAD_HEADER_CODES.has(code)) {
    return new ClientConfigError(`${what} was not sent: a header value is invalid (${code}); check the tokens`, {
      cause,
    });
  }
  if (code !== undefined && BAD_OPTION_CODES.has(code)) {
    return new ClientConfigError(`${what} was not sent: ${detail} (${code})`, { cause });
  }
  if (code !== undefined && TLS_VERIFY_CODES.has(code)) {
    return new TransportError(
      `${what} failed: TLS certificate problem: ${detail} (${code}); if GitLab uses a private CA, set tlsCaFile`,
      false,
      { cause },
    );
  }
  if (code === 'ERR_CANCELED') return new TransportError(`${what} was aborted`, true, { cause });
  if (code === 'ECONNABORTED' || code === 'ETIMEDOUT') {
    return new TransportError(`${what} timed out: ${detail} (${code})`, true, { cause });
  }
  const sent = code === undefined || !NOT_SENT_CODES.has(code);
  return new TransportError(`${what} failed: ${detail}${code === undefined ? '' : ` (${code})`}`, sent, { cause });
}

/**
 * What a system or TLS failure means, for a person: `connection refused by 127.0.0.1:4748` rather than
 * `connect ECONNREFUSED 127.0.0.1:4748`, and no OpenSSL record (`error:0A00010B:SSL routines:…`). The code is
 * appended by the caller; an unknown failure keeps its own message.
 */
function inWords(
  code: string | undefined,
  message: string,
  source: object | undefined,
  target: string | undefined,
): string {
  const fields = (source ?? {}) as Record<string, unknown>;
  const address =
    typeof fields.address === 'string'
      ? `${fields.address}${typeof fields.port === 'number' ? `:${fields.port}` : ''}`
      : target;
  const host = typeof fields.hostname === 'string' ? fields.hostname : target;
  switch (code) {
    case 'ECONNREFUSED':
      return `connection refused by ${address ?? 'the server'}`;
    case 'ENOTFOUND':
      return `host ${host ?? 'of the URL'} not found (DNS)`;
    case 'EAI_AGAIN':
      return `host ${host ?? 'of the URL'} could not be looked up just now (DNS)`;
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
      return `no network route to ${address ?? 'the server'}`;
    case 'ECONNRESET':
      return `the connection to ${address ?? 'the server'} was reset`;
    case 'EPIPE':
      return `the connection to ${address ?? 'the server'} closed while the request was sent`;
    default:
      break;
  }
  const openSsl = /error:[0-9A-F]+:[^:]*:[^:]*:([^:]+)/.exec(message)?.[1];
  if (openSsl === undefined) return message;
  const where = address === undefined ? 'the server' : address;
  if (openSsl === 'wrong version number' || openSsl === 'packet length too long') {
    return `TLS handshake with ${where} failed: the server does not speak TLS there (is the URL http://?)`;
  }
  return `TLS handshake with ${where} failed: ${openSsl}`;
}

/** The first `code` along the `cause` chain (the HTTP client wraps Node's error). */
function errorCode(error: unknown): string | undefined {
  let current: unknown = error;
  for (let depth = 0; depth < 5 && typeof current === 'object' && current !== null; depth++) {
    const { code } = current as { code?: unknown };
    if (typeof code === 'string' && code !== '' && code !== 'ERR_NETWORK') return code;
    current = (current as { cause?: unknown }).cause;
  }
  return undefined;
}

function errorMessage(error: unknown): string {
  if (error instanceof Error) {
    const inner = (error as { cause?: unknown }).cause;
    // NOTE: the client's own message is often generic ("Network Error"); Node's underlying one says what happened.
    if (inner instanceof Error && inner.message !== '' && error.message === 'Network Error') return inner.message;
    return error.message === '' ? error.name : error.message;
  }
  return String(error);
}

function sanitizedCause(error: unknown, message: string, code: string | undefined): Error {
  const cause = new Error(message);
  cause.name = error instanceof Error ? error.name : 'Error';
  const source = innermost(error);
  const fields: Record<string, unknown> = {};
  if (code !== undefined) fields.code = code;
  for (const key of ['errno', 'syscall', 'hostname', 'address', 'port'] as const) {
    const value = (source as Record<string, unknown> | undefined)?.[key];
    if (typeof value === 'string' || typeof value === 'number') fields[key] = value;
  }
  return Object.assign(cause, fields);
}

function innermost(error: unknown): object | undefined {
  let current: unknown = error;
  let last: object | undefined;
  for (let depth = 0; depth < 5 && typeof current === 'object' && current !== null; depth++) {
    last = current;
    current = (current as { cause?: unknown }).cause;
  }
  return last;
}
