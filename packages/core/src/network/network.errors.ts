import type { JobCredentials } from '../job/job.types.js';

/** The string codes of network faults, for callers that switch on `code` instead of using `instanceof`. */
export type NetworkErrorCode =
  | 'network.transport'
  | 'network.malformed-response'
  | 'network.unexpected-status'
  | 'network.response-too-large'
  | 'network.client-config';

/**
 * A fault talking to GitLab: what no answer of GitLab's explains. Expected answers (403, 409, 503…) are result
 * values, never errors. Messages never contain tokens.
 */
export abstract class NetworkError extends Error {
  abstract readonly code: NetworkErrorCode;

  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

/**
 * The request failed without an HTTP answer: DNS, refused or reset connection, TLS, timeout, abort.
 * `sent` says whether the request may have reached the server: `false` only when it certainly did not
 * (DNS failure, connection refused), so a non-idempotent call (`requestJob`) may be retried only then.
 */
export class TransportError extends NetworkError {
  readonly code = 'network.transport';
  constructor(
    message: string,
    readonly sent: boolean,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/**
 * A success answer whose body is unusable: not JSON, the wrong content type, or a job payload failing the
 * schema. `job` is set when the job's id and token could still be read, so the job can be released.
 */
export class MalformedResponseError extends NetworkError {
  readonly code = 'network.malformed-response';
  constructor(
    message: string,
    readonly job?: JobCredentials,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/**
 * What may be said of a fault in a log line or a detail: a `NetworkError`'s code and message (they carry no token),
 * any other error's name only (its message might quote a request).
 */
export function faultDetail(error: unknown): string {
  if (error instanceof NetworkError) return `${error.code}: ${error.message}`;
  return error instanceof Error ? error.name : 'unknown error';
}

/** An answer this client refuses to interpret, such as a redirect to another origin or a 1xx/3xx status. */
export class UnexpectedStatusError extends NetworkError {
  readonly code = 'network.unexpected-status';
  constructor(
    message: string,
    readonly status: number,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** The client cannot be built or used as configured: an invalid URL or scheme, an unreadable certificate. */
export class ClientConfigError extends NetworkError {
  readonly code = 'network.client-config';
}

/**
 * An answer whose body is larger than the call accepts (a job payload over its configured bound, any other answer
 * over 64 KiB): read no further, so a runaway server cannot take the runner's memory. The job, if any, is lost to
 * this runner; GitLab hands a job out again only after its own timeouts.
 */
export class ResponseTooLargeError extends NetworkError {
  readonly code = 'network.response-too-large';
  constructor(
    message: string,
    /** The bound that was exceeded, in bytes. */
    readonly limitBytes: number,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}
