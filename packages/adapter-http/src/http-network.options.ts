import { ClientConfigError, type Clock, type Logger, silentLogger, systemClock, userAgent } from '@runner-core/core';
import { DEFAULT_MAX_JOB_PAYLOAD_BYTES, newRequestId, type WireExchange } from '@runner-core/core/wire';
import { ADAPTER_VERSION } from './version.js';

/** Options of {@link HttpNetwork}. Only `url` is required. */
export interface HttpNetworkOptions {
  /**
   * GitLab's URL, as configured for gitlab-runner (`https://gitlab.example.com`, `https://x/gitlab/ci/`). Trailing
   * `/` and a trailing `/ci` are dropped and `/api/v4/` is appended. Only `http` and `https`.
   */
  readonly url: string;
  /**
   * Deadline of every call except the job request, in milliseconds: from sending to the whole answer, redirects
   * included. @default 60_000
   */
  readonly timeoutMs?: number;
  /**
   * Deadline of `POST /jobs/request`, in milliseconds. NOTE: Workhorse holds a job request open for up to its long
   * polling duration (50 s by default) when nothing is queued, so this must stay above it. @default 70_000
   */
  readonly jobRequestTimeoutMs?: number;
  /**
   * A PEM file of CA certificates trusted in addition to Node's root certificates (a GitLab behind a private CA).
   * Read once, when the network is built. @default undefined (Node's roots only)
   */
  readonly tlsCaFile?: string;
  /** A PEM client certificate, for GitLabs that require mutual TLS. Needs `tlsKeyFile`. @default undefined */
  readonly tlsCertFile?: string;
  /** The PEM private key of `tlsCertFile`. @default undefined */
  readonly tlsKeyFile?: string;
  /**
   * Where the proxy settings are read: `HTTPS_PROXY`, `HTTP_PROXY`, `NO_PROXY` (upper case first, then lower case,
   * as Go's `ProxyFromEnvironment` does). Read once, when the network is built. @default process.env
   */
  readonly env?: Readonly<Record<string, string | undefined>>;
  /** Most connections open to GitLab at once (per scheme); calls beyond wait for a free one. @default 100 */
  readonly maxSockets?: number;
  /** An idle kept-alive connection is closed after this many milliseconds. @default 90_000 (gitlab-runner's) */
  readonly idleTimeoutMs?: number;
  /** @default `runner-core/<version> (node <process.version>; <platform>/<arch>)` */
  readonly userAgent?: string;
  /** Receives one line per call. Never sees a token. @default silentLogger */
  readonly logger?: Logger;
  /** Reads "now" to turn `Retry-After` seconds into absolute times. @default systemClock */
  readonly clock?: Clock;
  /** Makes the `X-Request-Id` of each call. @default 32 lowercase hex characters (a UUIDv4 without dashes) */
  readonly newRequestId?: () => string;
  /**
   * The largest job payload (the 201 body of a job request) accepted, in bytes; a larger one is a
   * `ResponseTooLargeError` and is not read further. Every other answer is bounded at 64 KiB. @default 4 MiB
   */
  readonly maxJobPayloadBytes?: number;
  /** Told of every request once it ended: operation, HTTP status (none when no answer came), duration. @default none */
  readonly onExchange?: (exchange: WireExchange) => void;
}

/** {@link HttpNetworkOptions} with every default applied and every number checked. */
export interface ResolvedHttpNetworkOptions {
  readonly url: string;
  readonly timeoutMs: number;
  readonly jobRequestTimeoutMs: number;
  readonly tlsCaFile: string | undefined;
  readonly tlsCertFile: string | undefined;
  readonly tlsKeyFile: string | undefined;
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly maxSockets: number;
  readonly idleTimeoutMs: number;
  readonly userAgent: string;
  readonly logger: Logger;
  readonly clock: Clock;
  readonly newRequestId: () => string;
  readonly maxJobPayloadBytes: number;
  readonly onExchange: ((exchange: WireExchange) => void) | undefined;
}

/** The default `User-Agent`, in gitlab-runner's shape: `runner-core 0.1.0 (main; node v20.19.0; linux/amd64)`. */
export function defaultUserAgent(): string {
  return userAgent({ version: ADAPTER_VERSION });
}

/**
 * Applies the defaults of {@link HttpNetworkOptions}.
 *
 * @throws {ClientConfigError} naming the option, when a number is not a positive integer, `userAgent` is empty,
 *   or only one of `tlsCertFile` / `tlsKeyFile` is set.
 */
export function resolveHttpNetworkOptions(options: HttpNetworkOptions): ResolvedHttpNetworkOptions {
  if (typeof options.url !== 'string' || options.url.trim() === '') {
    throw new ClientConfigError('HttpNetwork option "url" is required (the GitLab URL, e.g. https://gitlab.com)');
  }
  if ((options.tlsCertFile === undefined) !== (options.tlsKeyFile === undefined)) {
    throw new ClientConfigError(
      'HttpNetwork options "tlsCertFile" and "tlsKeyFile" go together: set both for a client certificate, or neither',
    );
  }
  const userAgent = options.userAgent ?? defaultUserAgent();
  if (userAgent.trim() === '') throw new ClientConfigError('HttpNetwork option "userAgent" must not be empty');
  return {
    url: options.url,
    timeoutMs: positiveInteger('timeoutMs', options.timeoutMs, 60_000),
    jobRequestTimeoutMs: positiveInteger('jobRequestTimeoutMs', options.jobRequestTimeoutMs, 70_000),
    tlsCaFile: options.tlsCaFile,
    tlsCertFile: options.tlsCertFile,
    tlsKeyFile: options.tlsKeyFile,
    env: options.env ?? process.env,
    maxSockets: positiveInteger('maxSockets', options.maxSockets, 100),
    idleTimeoutMs: positiveInteger('idleTimeoutMs', options.idleTimeoutMs, 90_000),
    userAgent,
    logger: options.logger ?? silentLogger,
    clock: options.clock ?? systemClock,
    newRequestId: options.newRequestId ?? newRequestId,
    maxJobPayloadBytes: positiveInteger(
      'maxJobPayloadBytes',
      options.maxJobPayloadBytes,
      DEFAULT_MAX_JOB_PAYLOAD_BYTES,
    ),
    onExchange: options.onExchange,
  };
}

function positiveInteger(name: string, value: number | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  if (!Number.isSafeInteger(value) || value <= 0) {
    throw new ClientConfigError(`HttpNetwork option "${name}" must be a positive integer, got ${String(value)}`);
  }
  return value;
}
