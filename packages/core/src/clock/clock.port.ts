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
  /**
   * Calls `fire` once, `ms` milliseconds from now, unless the returned {@link Alarm} is cancelled first: a wait with
   * no promise and no signal, for code that keeps one per held job (thousands at once). Optional: a clock without it
   * still works, {@link setAlarm} falls back to `sleep`.
   */
  alarm?(ms: number, fire: () => void): Alarm;
}

/** A pending {@link Clock.alarm}. */
export interface Alarm {
  /** Stops the alarm; after it fired, or a second time, it does nothing. */
  cancel(): void;
}

/** The injection token of {@link Clock}. */
export const CLOCK: unique symbol = Symbol('Clock');

/** The longest delay one timer holds: Node fires a timer asked for more after 1 ms (a 32-bit overflow). */
export const MAX_TIMER_MS = 2 ** 31 - 1;

// A shared reason: `abort()` without one builds a DOMException with a stack trace.
const CANCELLED = Object.freeze({ reason: 'alarm cancelled' });

/**
 * {@link Clock.alarm} on any clock: the clock's own when it has one, else a `sleep` that a cancel aborts (a promise
 * and an AbortController per alarm, which is what the optional method saves).
 */
export function setAlarm(clock: Clock, ms: number, fire: () => void): Alarm {
  if (clock.alarm !== undefined) return clock.alarm(ms, fire);
  const stop = new AbortController();
  void clock.sleep(ms, stop.signal).then(() => {
    if (!stop.signal.aborted) fire();
  });
  return { cancel: () => stop.abort(CANCELLED) };
}

/** What {@link timerClock} needs from the runtime: `Date.now`, `setTimeout`, `clearTimeout`. */
export interface Timers<Handle> {
  now(): number;
  setTimeout(fire: () => void, ms: number): Handle;
  clearTimeout(handle: Handle): void;
}

/** An alarm on one runtime timer: the handle and nothing else, so a held job costs a timer and this object. */
class TimerAlarm<Handle> implements Alarm {
  readonly #timers: Timers<Handle>;
  #handle: Handle | undefined;

  constructor(timers: Timers<Handle>, handle: Handle) {
    this.#timers = timers;
    this.#handle = handle;
  }

  cancel(): void {
    if (this.#handle === undefined) return;
    this.#timers.clearTimeout(this.#handle);
    this.#handle = undefined;
  }

  /** Re-arms for the next link of a chained wait (see {@link timerClock}). */
  rearm(handle: Handle): void {
    this.#handle = handle;
  }
}

/**
 * A {@link Clock} over timers. A wait longer than {@link MAX_TIMER_MS} is exact: it chains timers, each at most that
 * long, so a `Retry-After` of years or a job timeout of a month waits as long as asked, never 1 ms.
 */
export function timerClock<Handle>(timers: Timers<Handle>): Clock {
  /** Arms `fire` for `until`, chaining timers past {@link MAX_TIMER_MS}; `onLink` gets each new handle. */
  const arm = (until: number, fire: () => void, onLink: (handle: Handle) => void): Handle => {
    const left = until - timers.now();
    if (left <= MAX_TIMER_MS) return timers.setTimeout(fire, Math.max(0, left));
    return timers.setTimeout(() => {
      if (until - timers.now() > 0) onLink(arm(until, fire, onLink));
      else fire();
    }, MAX_TIMER_MS);
  };
  return {
    now: () => timers.now(),
    sleep: (ms, signal) =>
      new Promise<void>((resolve) => {
        if (signal?.aborted) return resolve();
        let handle: Handle | undefined;
        const onAbort = (): void => {
          if (handle !== undefined) timers.clearTimeout(handle);
          resolve();
        };
        const done = (): void => {
          signal?.removeEventListener('abort', onAbort);
          resolve();
        };
        signal?.addEventListener('abort', onAbort, { once: true });
        handle = arm(timers.now() + Math.max(0, ms), done, (next) => {
          handle = next;
        });
      }),
    alarm: (ms, fire) => {
      const wait = Math.max(0, ms);
      // NOTE: a wait one timer can hold passes `fire` itself to the runtime: no closure per alarm.
      if (wait <= MAX_TIMER_MS) return new TimerAlarm(timers, timers.setTimeout(fire, wait));
      let alarm: TimerAlarm<Handle> | undefined;
      const handle = arm(timers.now() + wait, fire, (next) => alarm?.rearm(next));
      alarm = new TimerAlarm(timers, handle);
      return alarm;
    },
  };
}

/** The real clock: `Date.now` and Node's timers, with waits of any length exact. */
export const systemClock: Clock = timerClock({
  now: () => Date.now(),
  setTimeout: (fire, ms) => setTimeout(fire, ms),
  clearTimeout: (handle) => clearTimeout(handle),
});
