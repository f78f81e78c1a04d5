import type { Clock } from '../clock/clock.port.js';
import type { ServerWait } from '../network/network.types.js';
import type { JobOperation, Observer } from '../observer/observer.port.js';
import { type RetryPolicy, retryWait } from './retry-policy.js';
import type { GateCaller, ServerGate } from './server-gate.js';

/** A first try this close to its deadline goes out at once rather than risk the deadline passing at the gate. */
const FIRST_TRY_SLACK_MS = 50;

/** What one try of a call came to: an answer to act on, or a transient fault worth another try. */
export type Attempt<T> =
  | { readonly kind: 'answered'; readonly value: T }
  | { readonly kind: 'transient'; readonly detail: string; readonly wait?: ServerWait };

/** How a gated call ended. */
export type GatedResult<T> =
  | { readonly kind: 'answered'; readonly value: T; readonly attempts: number }
  /** No answer before the deadline (the last try included). */
  | { readonly kind: 'exhausted'; readonly attempts: number; readonly detail: string }
  | { readonly kind: 'aborted'; readonly attempts: number };

/** What {@link gatedCall} needs: time, the server's gate, the backoff, jitter and someone to tell. */
export interface GatedCallDeps {
  readonly clock: Clock;
  readonly gate: ServerGate;
  readonly retry: RetryPolicy;
  readonly random: () => number;
  readonly observer?: Observer;
}

/** One call to retry through the gate. */
export interface GatedCall<T> {
  /** The retry loop's identity at the gate. */
  readonly caller: GateCaller;
  readonly operation: JobOperation;
  /** For events; 0 for calls about no job (a job request). */
  readonly jobId: number;
  /** No try starts and no wait ends after this (epoch ms). */
  readonly deadline: number;
  /** Ends the call at once, however long it would still wait. */
  readonly signal?: AbortSignal;
  /** The first try goes out even when the deadline already passed: an answer says more than a guess. */
  readonly firstTryPastDeadline?: boolean;
  /**
   * Whether a caller waiting on a failing server gets one last try shortly before its deadline. Off for calls whose
   * work simply waits for the next round (a trace patch), so they never slip past the gate. @default true
   */
  readonly lastTry?: boolean;
  /** One try; `attempt` counts from 1. */
  tryOnce(attempt: number): Promise<Attempt<T>>;
}

/**
 * The one retry loop of every call to GitLab (docs/design.md §2b): each try passes the server's gate; a transient
 * fault waits — `RateLimit-ResetTime`, else `Retry-After`, else backoff with full jitter, never longer than the
 * gate's scout cadence while the server fails — and tries again, until an answer, the deadline or the signal. A
 * caller gets one last try shortly before its deadline, and a server's wait is honoured even then.
 */
export async function gatedCall<T>(deps: GatedCallDeps, call: GatedCall<T>): Promise<GatedResult<T>> {
  const { clock, gate, retry, random, observer } = deps;
  const lastTry = call.lastTry ?? true;
  let attempts = 0;
  let detail = 'no try before the deadline';
  try {
    for (;;) {
      // NOTE: the first try of an operation goes out however late (an answer says more than a guess) — without waiting
      // at the gate once its deadline is that near, since time moves between this check and the gate's — unless the
      // server asked every call to wait.
      const now = clock.now();
      const late = attempts === 0 && call.firstTryPastDeadline === true && now >= call.deadline - FIRST_TRY_SLACK_MS;
      const entry = late
        ? gate.heldUntil > now
          ? 'closed'
          : 'last-try'
        : (gate.enterNow(call.caller, call.deadline, call.signal, lastTry) ??
          (await gate.enter(call.caller, call.deadline, call.signal, lastTry)));
      if (call.signal?.aborted) return { kind: 'aborted', attempts };
      if (entry === 'closed') return { kind: 'exhausted', attempts, detail };
      attempts += 1;
      const sentAt = clock.now();
      const outcome = await call.tryOnce(attempts);
      if (outcome.kind === 'answered') {
        gate.answered();
        return { kind: 'answered', value: outcome.value, attempts };
      }
      detail = outcome.detail;
      const failedAt = clock.now();
      const wait = retryWait(retry, attempts, failedAt, random, outcome.wait);
      gate.failed(call.caller, wait.rule === 'backoff' ? undefined : failedAt + wait.ms, sentAt);
      const lastTryAt = lastTry ? call.deadline - gate.lastTryLeadMs : call.deadline;
      if (entry === 'last-try' || failedAt >= lastTryAt) return { kind: 'exhausted', attempts, detail };
      // NOTE: never wait past the last try: a GitLab back a second before the deadline still gets the job.
      const pause = Math.min(wait.rule === 'backoff' ? gate.scoutPause(wait.ms) : wait.ms, lastTryAt - failedAt);
      observer?.notify({
        event: 'retry.scheduled',
        jobId: call.jobId,
        operation: call.operation,
        waitMs: pause,
        reason: `${outcome.detail}; ${wait.rule}`,
        rule: wait.rule,
      });
      await clock.sleep(pause, call.signal);
      if (call.signal?.aborted) return { kind: 'aborted', attempts };
    }
  } finally {
    gate.leave(call.caller);
  }
}
