/**
 * Time, injected so every wait in the core can be driven by a test (see `FakeClock` in `@runner-core/core/testing`).
 */
export interface Clock {
  /** Milliseconds since the epoch. */
  now(): number;
  /**
   * Resolves after `ms` milliseconds, or as soon as `signal` aborts (it never rejects: check `signal.aborted`
   * afterwards). A non-positive `ms` resolves on the next turn.
   */
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
}

/** The injection token of {@link Clock}. */
export const CLOCK: unique symbol = Symbol('Clock');

/** The longest delay one timer holds: Node fires a timer asked for more after 1 ms (a 32-bit overflow). */
export const MAX_TIMER_MS = 2 ** 31 - 1;

/** What {@link timerClock} needs from the runtime: `Date.now`, `setTimeout`, `clearTimeout`. */
export interface Timers<Handle> {
  now(): number;
  setTimeout(fire: () => void, ms: number): Handle;
  clearTimeout(handle: Handle): void;
}

/**
 * A {@link Clock} over timers. A wait longer than {@link MAX_TIMER_MS} is exact: it chains timers, each at most that
 * long, so a `Retry-After` of years or a job timeout of a month waits as long as asked, never 1 ms.
 */
export function timerClock<Handle>(timers: Timers<Handle>): Clock {
  return {
    now: () => timers.now(),
    sleep: (ms, signal) =>
      new Promise<void>((resolve) => {
        if (signal?.aborted) return resolve();
        const until = timers.now() + Math.max(0, ms);
        let handle: Handle | undefined;
        const onAbort = (): void => {
          if (handle !== undefined) timers.clearTimeout(handle);
          resolve();
        };
        const arm = (): void => {
          const left = until - timers.now();
          handle = timers.setTimeout(
            () => {
              if (until - timers.now() > 0 && left > MAX_TIMER_MS) return arm();
              signal?.removeEventListener('abort', onAbort);
              resolve();
            },
            Math.min(Math.max(0, left), MAX_TIMER_MS),
          );
        };
        signal?.addEventListener('abort', onAbort, { once: true });
        arm();
      }),
  };
}

/** The real clock: `Date.now` and Node's timers, with waits of any length exact. */
export const systemClock: Clock = timerClock({
  now: () => Date.now(),
  setTimeout: (fire, ms) => setTimeout(fire, ms),
  clearTimeout: (handle) => clearTimeout(handle),
});
