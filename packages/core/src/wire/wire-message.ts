import type { Secret } from '../secret/secret.js';

/**
 * The runner API calls, named after the `Network` methods that make them. Transports choose deadlines and body
 * limits by operation; the fake GitLab names its request log and fault injection the same way.
 */
export type RunnerApiOperation = 'verify-runner' | 'request-job' | 'update-job' | 'post-runner-status' | 'patch-trace';

/**
 * One HTTP request of the runner API, fully encoded: what a transport sends, byte for byte. Built only by the codec
 * (`encode*` in this module), so every transport sends the same thing.
 */
export interface WireRequest {
  readonly operation: RunnerApiOperation;
  readonly method: 'POST' | 'PUT' | 'PATCH';
  /** Relative to the runner API base (`…/api/v4/`), query included: `jobs/request`, `jobs/42/trace?debug_trace=false`. */
  readonly path: string;
  /** Canonical names (`JOB-TOKEN`, `Content-Type`); token headers hold revealed secrets, so never log this. */
  readonly headers: Readonly<Record<string, string>>;
  readonly body: Uint8Array;
  /** Names the call in messages (`PUT /api/v4/jobs/42`): never a token. */
  readonly what: string;
  /** Every secret the call carries: transports redact them from whatever they log or throw. */
  readonly secrets: readonly Secret[];
  /** The largest answer body this call accepts, in bytes; a transport fails a longer one. */
  readonly maxResponseBytes: number;
  /** Aborts the call (a long poll on shutdown); the transport then throws a `TransportError`. */
  readonly signal?: AbortSignal;
}

/** Header values as transports receive them: names in any case, repeated headers as lists. */
export type WireHeaders = Readonly<Record<string, string | readonly string[] | number | undefined>>;

/** One HTTP answer as a transport received it (redirects already resolved). */
export interface WireResponse {
  readonly status: number;
  readonly headers: WireHeaders;
  readonly body: Uint8Array;
}
