import type { Clock } from '../clock/clock.port.js';

interface Timer {
  readonly due: number;
  readonly seq: number;
  readonly fire: () => void;
}

/**
 * A {@link Clock} that only moves when told. `sleep` registers a timer; {@link FakeClock.advance} moves time
 * forward firing timers in order and letting promise chains settle between them, so code that sleeps,
 * retries and keeps alive runs to completion without real waiting.
 */
export class FakeClock implements Clock {
  #now: number;
  #seq = 0;
  #timers: Timer[] = [];

  /** @param start epoch ms. @default 1_767_225_600_000 (2026-01-01T00:00:00Z) */
  constructor(start = 1_767_225_600_000) {
    this.#now = start;
  }

  now(): number {
    return this.#now;
  }

  sleep(ms: number, signal?: AbortSignal): Promise<void> {
    return new Promise<void>((resolve) => {
      if (signal?.aborted) return resolve();
      const timer: Timer = {
        due: this.#now + Math.max(0, ms),
        seq: this.#seq++,
        fire: () => {
          signal?.removeEventListener('abort', onAbort);
          resolve();
        },
      };
      const onAbort = (): void => {
        this.#timers = this.#timers.filter((candidate) => candidate !== timer);
        resolve();
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.#timers.push(timer);
    });
  }

  /** Timers not yet fired. */
  get pendingTimers(): number {
    return this.#timers.length;
  }

  /** The due time of the next timer, if any. */
  nextDue(): number | undefined {
    return this.#earliest()?.due;
  }

  /** Moves time forward by `ms`, firing every timer due on the way (in due order) and settling promises between. */
  async advance(ms: number): Promise<void> {
    const target = this.#now + ms;
    await settle();
    for (let timer = this.#earliest(); timer !== undefined && timer.due <= target; timer = this.#earliest()) {
      this.#fire(timer);
      await settle();
    }
    this.#now = Math.max(this.#now, target);
    await settle();
  }

  /** Sets the time without firing anything (a jump, as a server's wall clock may do). */
  set(epochMs: number): void {
    this.#now = epochMs;
  }

  /**
   * Drives time until `promise` settles: fires the next timer whenever nothing else can make progress.
   * Fails after `maxTimers` timers, so a test with a loop that never ends fails instead of hanging.
   */
  async run<T>(promise: Promise<T>, maxTimers = 10_000): Promise<T> {
    let settled = false;
    const tracked = promise.finally(() => {
      settled = true;
    });
    tracked.catch(() => {});
    await settle();
    for (let fired = 0; !settled; fired++) {
      const timer = this.#earliest();
      if (timer === undefined) {
        await settle();
        if (settled) break;
        throw new Error('FakeClock.run: the promise is waiting on something other than this clock');
      }
      if (fired >= maxTimers) throw new Error(`FakeClock.run: still unsettled after ${maxTimers} timers`);
      this.#fire(timer);
      await settle();
    }
    return tracked;
  }

  #earliest(): Timer | undefined {
    let earliest: Timer | undefined;
    for (const timer of this.#timers) {
      if (
        earliest === undefined ||
        timer.due < earliest.due ||
        (timer.due === earliest.due && timer.seq < earliest.seq)
      ) {
        earliest = timer;
      }
    }
    return earliest;
  }

  #fire(timer: Timer): void {
    this.#timers = this.#timers.filter((candidate) => candidate !== timer);
    this.#now = Math.max(this.#now, timer.due);
    timer.fire();
  }
}

/** Lets pending promise callbacks run: one macrotask turn (not a real delay). */
function settle(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}
