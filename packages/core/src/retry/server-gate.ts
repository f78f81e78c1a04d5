import type { Clock } from '../clock/clock.port.js';

// A shared abort reason: `abort()` without one builds a DOMException with a stack trace on every wake-up.
const WOKEN = Object.freeze({ reason: 'gate released' });

/** Who is calling through the gate: one identity per retry loop (a job's confirmation, a trace patch…). */
export type GateCaller = symbol;

/** What {@link ServerGate.enter} lets a caller do. */
export type GateEntry =
  /** Send the request. */
  | 'go'
  /** Send it: the server is still failing, but the caller's deadline is near, so this is its last try. */
  | 'last-try'
  /** Do not send: the deadline passed (or the server asked everyone to wait past it), or the call was aborted. */
  | 'closed';

/** Options of {@link ServerGate}. */
export interface ServerGateOptions {
  /**
   * Longest pause between the scout's tries while the server fails; each pause is jittered into [½, 1] of it, so a
   * recovered GitLab is noticed within this long. A `Retry-After` or `RateLimit-ResetTime` overrides it. @default 2_000
   */
  readonly scoutIntervalMs?: number;
  /** A caller waiting on a failing server gets one last try this long before its deadline. @default 1_000 */
  readonly lastTryLeadMs?: number;
  /** A number in [0, 1) for the jitter. @default Math.random */
  readonly random?: () => number;
}

/**
 * Shared by every call to one GitLab, so a thousand jobs do not hammer a server that is down and all resume the
 * moment it is back (docs/design.md §2, "Retries", and §2b):
 * - while the server answers, calls pass freely;
 * - once a call fails transiently, the server is `failing`: one caller at a time (the **scout**) goes out, at a
 *   bounded, jittered cadence ({@link ServerGate.scoutPause}); the others wait;
 * - a `Retry-After` / `RateLimit-ResetTime` holds every call until that time;
 * - any real answer (even a 4xx) proves the server is up and releases every waiting call at once;
 * - a waiting caller whose deadline nears gets one last try before it, unless the server asked everyone to wait
 *   past it.
 */
export class ServerGate {
  readonly #clock: Clock;
  readonly #scoutIntervalMs: number;
  readonly #lastTryLeadMs: number;
  readonly #random: () => number;
  #failing = false;
  #scout: GateCaller | undefined;
  #holdUntil = 0;
  /** When the server last answered (epoch ms): a failure of a request sent before it is stale. */
  #answeredAt = Number.NEGATIVE_INFINITY;
  readonly #waiters = new Set<AbortController>();

  /** @throws {RangeError} naming an option out of range */
  constructor(clock: Clock, options: ServerGateOptions = {}) {
    this.#clock = clock;
    this.#scoutIntervalMs = positive('scoutIntervalMs', options.scoutIntervalMs ?? 2_000);
    this.#lastTryLeadMs = positive('lastTryLeadMs', options.lastTryLeadMs ?? 1_000);
    this.#random = options.random ?? Math.random;
  }

  /** Whether calls are currently held back. */
  get failing(): boolean {
    return this.#failing;
  }

  /** When the server asked every call to wait until (epoch ms); 0 when it did not. */
  get heldUntil(): number {
    return this.#holdUntil;
  }

  /** How long before its deadline a waiting caller gets its last try. */
  get lastTryLeadMs(): number {
    return this.#lastTryLeadMs;
  }

  /**
   * Waits until `caller` may send its request: `go`, `last-try` (the deadline is near and the server still fails:
   * send anyway, once; only when `lastTry` is on), or `closed` (the deadline passed while waiting, the server asked
   * everyone to wait past it, or `signal` aborted).
   */
  async enter(caller: GateCaller, deadline: number, signal?: AbortSignal, lastTry = true): Promise<GateEntry> {
    for (;;) {
      const entry = this.#entry(caller, deadline, signal, lastTry);
      if (typeof entry !== 'number') return entry;
      await this.#wait(entry, signal);
    }
  }

  /**
   * {@link ServerGate.enter} when it needs no wait: its entry at once, or `undefined` when the caller would wait (a
   * hold, or another caller scouting). NOTE: for a caller that usually passes straight through, so its call goes out
   * in the same turn, without a promise and a turn of the microtask queue per try.
   */
  enterNow(caller: GateCaller, deadline: number, signal?: AbortSignal, lastTry = true): GateEntry | undefined {
    const entry = this.#entry(caller, deadline, signal, lastTry);
    return typeof entry === 'number' ? undefined : entry;
  }

  /** What a caller gets now: its entry, or how long to wait (ms) before asking again. */
  #entry(caller: GateCaller, deadline: number, signal: AbortSignal | undefined, lastTry: boolean): GateEntry | number {
    const now = this.#clock.now();
    if (now >= deadline || signal?.aborted) return 'closed';
    if (this.#holdUntil > now) {
      // NOTE: the server asked for this wait; a try before it would be refused anyway.
      return this.#holdUntil >= deadline ? 'closed' : this.#holdUntil - now;
    }
    if (!this.#failing || this.#scout === undefined || this.#scout === caller) {
      if (this.#failing) this.#scout = caller;
      return 'go';
    }
    const lastTryAt = lastTry ? deadline - this.#lastTryLeadMs : Number.POSITIVE_INFINITY;
    if (now >= lastTryAt) return 'last-try';
    return Math.min(lastTryAt, deadline) - now;
  }

  /** The server answered (any status that is not a transient fault): release everyone. */
  answered(): void {
    this.#answeredAt = this.#clock.now();
    if (!this.#failing) return;
    // NOTE: a hold stays: GitLab rate-limits per endpoint, so one answer does not lift another endpoint's limit.
    this.#failing = false;
    this.#scout = undefined;
    this.#wakeAll();
  }

  /**
   * The server failed transiently for `caller`, who becomes the scout unless another caller already is. `holdUntil`
   * (epoch ms, from `Retry-After` or `RateLimit-ResetTime`) holds every caller until then. A failure of a request
   * sent (`sentAt`) before the server last answered is stale — the server is back — and fails nothing; a hold it
   * asks for still holds.
   */
  failed(caller: GateCaller, holdUntil?: number, sentAt?: number): void {
    if (holdUntil !== undefined && holdUntil > this.#holdUntil) this.#holdUntil = holdUntil;
    if (sentAt !== undefined && sentAt < this.#answeredAt) return;
    this.#failing = true;
    this.#scout ??= caller;
  }

  /**
   * The scout's pause before its next try while the server fails: the retry policy's backoff, but never longer
   * than the scout interval (jittered into [½, 1] of it), so the server's return is noticed within seconds.
   */
  scoutPause(backoffMs: number): number {
    const cadence = Math.round(this.#scoutIntervalMs * (0.5 + 0.5 * this.#random()));
    return Math.min(backoffMs, cadence);
  }

  /** `caller` stops retrying (it settled or its deadline passed): if it was the scout, another may take over. */
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

function positive(name: string, value: number): number {
  if (!Number.isFinite(value) || value <= 0) {
    throw new RangeError(`ServerGate option ${name}: expected a positive number of milliseconds, got ${value}`);
  }
  return value;
}
