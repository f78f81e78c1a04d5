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
  #busy: (() => boolean) | undefined;

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

  /**
   * Makes {@link FakeClock.advance} and {@link FakeClock.run} wait, in real time, while `busy()` is true before they
   * fire the next timer: for harnesses whose network does real I/O (a loopback HTTP server), so fake time never
   * runs ahead of an answer still on its way. Waiting on I/O is not sleeping: it ends when the answer arrives.
   */
  holdWhile(busy: () => boolean): void {
    this.#busy = busy;
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
    await this.#quiet();
    for (let timer = this.#earliest(); timer !== undefined && timer.due <= target; timer = this.#earliest()) {
      this.#fire(timer);
      await this.#quiet();
    }
    this.#now = Math.max(this.#now, target);
    await this.#quiet();
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
    await this.#quiet();
    for (let fired = 0; !settled; fired++) {
      const timer = this.#earliest();
      if (timer === undefined) {
        await this.#quiet();
        if (settled) break;
        if (this.#earliest() !== undefined) continue;
        throw new Error('FakeClock.run: the promise is waiting on something other than this clock');
      }
      if (fired >= maxTimers) throw new Error(`FakeClock.run: still unsettled after ${maxTimers} timers`);
      this.#fire(timer);
      await this.#quiet();
    }
    return tracked;
  }

  /** Lets promise callbacks run, and waits for I/O in flight (see {@link FakeClock.holdWhile}). */
  async #quiet(): Promise<void> {
    await settle();
    const busy = this.#busy;
    if (busy === undefined) return;
    const started = Date.now();
    while (busy()) {
      if (Date.now() - started > IO_PATIENCE_MS) {
        throw new Error(`FakeClock: I/O still in flight after ${IO_PATIENCE_MS} ms of real time`);
      }
      await new Promise((resolve) => setTimeout(resolve, 1));
      await settle();
    }
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

/** How long {@link FakeClock.holdWhile} waits for I/O before it fails the test instead of hanging it. */
const IO_PATIENCE_MS = 20_000;

/** Lets pending promise callbacks run: one macrotask turn (not a real delay). */
function settle(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}
