import type { Clock } from '../clock/clock.port.js';

// A shared abort reason: `abort()` without one builds a DOMException with a stack trace on every wake-up.
const WOKEN = Object.freeze({ reason: 'gate released' });

/** Who is calling through the gate: one identity per retry loop (a job's keep-alive or confirmation). */
export type GateCaller = symbol;

/**
 * Shared by every call to one GitLab, so a thousand jobs do not hammer a server that is down and all resume the
 * moment it is back (docs/design.md §2, "Retries"):
 * - while the server answers, calls pass freely;
 * - once a call fails transiently, the server is `failing`: one caller at a time (the scout) goes out, the others
 *   wait, each no longer than its own deadline;
 * - a `Retry-After` / `RateLimit-ResetTime` holds every call until that time;
 * - any real answer (even a 4xx) proves the server is up and releases every waiting call at once.
 */
export class ServerGate {
  readonly #clock: Clock;
  #failing = false;
  #scout: GateCaller | undefined;
  #holdUntil = 0;
  readonly #waiters = new Set<AbortController>();

  constructor(clock: Clock) {
    this.#clock = clock;
  }

  /** Whether calls are currently held back. */
  get failing(): boolean {
    return this.#failing;
  }

  /**
   * Resolves `true` when `caller` may send its request, or `false` once `deadline` (epoch ms) has passed while
   * waiting (or `signal` aborted).
   */
  async enter(caller: GateCaller, deadline: number, signal?: AbortSignal): Promise<boolean> {
    for (;;) {
      const now = this.#clock.now();
      if (now >= deadline || signal?.aborted) return false;
      if (this.#holdUntil > now) {
        await this.#wait(Math.min(this.#holdUntil, deadline) - now, signal);
        continue;
      }
      if (!this.#failing || this.#scout === undefined || this.#scout === caller) {
        if (this.#failing) this.#scout = caller;
        return true;
      }
      await this.#wait(deadline - now, signal);
    }
  }

  /** The server answered (any status that is not a transient fault): release everyone. */
  answered(): void {
    this.#failing = false;
    this.#scout = undefined;
    this.#wakeAll();
  }

  /**
   * The server failed transiently for `caller`, who keeps the scout slot while it backs off. `holdUntil` (epoch
   * ms, from `Retry-After` or `RateLimit-ResetTime`) holds every caller until then.
   */
  failed(caller: GateCaller, holdUntil?: number): void {
    this.#failing = true;
    this.#scout = caller;
    if (holdUntil !== undefined && holdUntil > this.#holdUntil) this.#holdUntil = holdUntil;
  }

  /** `caller` stops retrying (it settled or its deadline passed): if it was the scout, another may take it. */
  leave(caller: GateCaller): void {
    if (this.#scout !== caller) return;
    this.#scout = undefined;
    this.#wakeAll();
  }

  async #wait(ms: number, signal?: AbortSignal): Promise<void> {
    const waiter = new AbortController();
    const onAbort = (): void => waiter.abort(WOKEN);
    signal?.addEventListener('abort', onAbort, { once: true });
    this.#waiters.add(waiter);
    try {
      await this.#clock.sleep(ms, waiter.signal);
    } finally {
      this.#waiters.delete(waiter);
      signal?.removeEventListener('abort', onAbort);
    }
  }

  #wakeAll(): void {
    for (const waiter of [...this.#waiters]) waiter.abort(WOKEN);
  }
}
