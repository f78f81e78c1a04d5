import type { ServerWait } from '../network/network.types.js';

/** Exponential backoff with full jitter: wait a random time in `[0, min(maxMs, initialMs · factor^(attempt-1))]`. */
export interface RetryPolicy {
  /** @default 100 */
  readonly initialMs: number;
  /** @default 2 */
  readonly factor: number;
  /** @default 60_000 */
  readonly maxMs: number;
}

/** gitlab-runner's backoff figures (100 ms, ×2, 60 s), with full jitter. */
export const defaultRetryPolicy: RetryPolicy = Object.freeze({ initialMs: 100, factor: 2, maxMs: 60_000 });

/** No waiting between attempts (tests, benchmarks). Deadlines still apply. */
export const noDelayRetryPolicy: RetryPolicy = Object.freeze({ initialMs: 0, factor: 1, maxMs: 0 });

/** Where a wait came from, for events and logs. */
export type WaitRule = 'rate-limit-reset' | 'retry-after' | 'backoff';

/**
 * How long to wait before retry number `attempt` (1 for the first retry): `RateLimit-ResetTime` if it lies in the
 * future, else `Retry-After` if it lies in the future, else backoff with full jitter (docs/design.md §2, "Retries").
 */
export function retryWait(
  policy: RetryPolicy,
  attempt: number,
  now: number,
  random: () => number,
  wait?: ServerWait,
): { readonly ms: number; readonly rule: WaitRule } {
  if (wait?.rateLimitResetAt !== undefined && wait.rateLimitResetAt > now) {
    return { ms: wait.rateLimitResetAt - now, rule: 'rate-limit-reset' };
  }
  if (wait?.retryAfterAt !== undefined && wait.retryAfterAt > now) {
    return { ms: wait.retryAfterAt - now, rule: 'retry-after' };
  }
  const ceiling = Math.min(policy.maxMs, policy.initialMs * policy.factor ** Math.max(0, attempt - 1));
  return { ms: Math.floor(random() * ceiling), rule: 'backoff' };
}

/** Statuses worth retrying (gitlab-runner's list: 408, 429, 500, 502, 503, 504 and ≥ 512). */
export function isRetryableStatus(status: number): boolean {
  return status === 408 || status === 429 || status === 500 || (status >= 502 && status <= 504) || status >= 512;
}
