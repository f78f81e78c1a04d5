import type { Alarm, Clock } from '../clock/clock.port.js';

/** One timer of a {@link FakeClock}; its own {@link Alarm}, so an alarm costs this object and nothing else. */
class FakeTimer implements Alarm {
  /** Where the timer sits in its clock's heap; -1 once it fired or was cancelled. */
  index = -1;

  constructor(
    readonly owner: TimerHeap,
    readonly due: number,
    readonly seq: number,
    readonly fire: () => void,
  ) {}

  cancel(): void {
    this.owner.remove(this);
  }
}

/** Whether `a` fires before `b`: earlier due time first, then the order they were set in. */
function before(a: FakeTimer, b: FakeTimer): boolean {
  return a.due < b.due || (a.due === b.due && a.seq < b.seq);
}

/**
 * The pending timers, a binary min-heap in firing order. NOTE: a heap, not a list scanned for the earliest: with
 * 10,000 held jobs a keep-alive round fires 10,000 timers, and a scan per timer made that round take seconds.
 */
class TimerHeap {
  readonly #items: FakeTimer[] = [];

  get size(): number {
    return this.#items.length;
  }

  peek(): FakeTimer | undefined {
    return this.#items[0];
  }

  push(timer: FakeTimer): void {
    timer.index = this.#items.length;
    this.#items.push(timer);
    this.#up(timer.index);
  }

  /** Takes `timer` out wherever it sits; a timer already out is left alone. */
  remove(timer: FakeTimer): void {
    const at = timer.index;
    if (at < 0 || this.#items[at] !== timer) return;
    timer.index = -1;
    const last = this.#items.pop() as FakeTimer;
    if (last === timer) return;
    last.index = at;
    this.#items[at] = last;
    this.#up(at);
    this.#down(last.index);
  }

  #up(at: number): void {
    const items = this.#items;
    const timer = items[at] as FakeTimer;
    while (at > 0) {
      const parentAt = (at - 1) >> 1;
      const parent = items[parentAt] as FakeTimer;
      if (!before(timer, parent)) break;
      items[at] = parent;
      parent.index = at;
      at = parentAt;
    }
    items[at] = timer;
    timer.index = at;
  }

  #down(at: number): void {
    const items = this.#items;
    const count = items.length;
    const timer = items[at] as FakeTimer;
    for (;;) {
      const leftAt = 2 * at + 1;
      if (leftAt >= count) break;
      const rightAt = leftAt + 1;
      const left = items[leftAt] as FakeTimer;
      const right = items[rightAt];
      const childAt = right !== undefined && before(right, left) ? rightAt : leftAt;
      const child = items[childAt] as FakeTimer;
      if (!before(child, timer)) break;
      items[at] = child;
      child.index = at;
      at = childAt;
    }
    items[at] = timer;
    timer.index = at;
  }
}

/**
 * A {@link Clock} that only moves when told. `sleep` and `alarm` register a timer; {@link FakeClock.advance} moves
 * time forward firing timers in order and letting promise chains settle between them, so code that sleeps, retries
 * and keeps alive runs to completion without real waiting. Timers due at the same time fire in the order they were
 * set.
 */
export class FakeClock implements Clock {
  #now: number;
  #seq = 0;
  readonly #timers = new TimerHeap();
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
      if (signal === undefined) {
        this.#set(ms, resolve);
        return;
      }
      const onAbort = (): void => {
        timer.cancel();
        resolve();
      };
      const timer = this.#set(ms, () => {
        signal.removeEventListener('abort', onAbort);
        resolve();
      });
      signal.addEventListener('abort', onAbort, { once: true });
    });
  }

  alarm(ms: number, fire: () => void): Alarm {
    return this.#set(ms, fire);
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
    return this.#timers.size;
  }

  /** The due time of the next timer, if any. */
  nextDue(): number | undefined {
    return this.#timers.peek()?.due;
  }

  /** Moves time forward by `ms`, firing every timer due on the way (in due order) and settling promises between. */
  async advance(ms: number): Promise<void> {
    const target = this.#now + ms;
    await this.#quiet();
    for (let timer = this.#timers.peek(); timer !== undefined && timer.due <= target; timer = this.#timers.peek()) {
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
      const timer = this.#timers.peek();
      if (timer === undefined) {
        await this.#quiet();
        if (settled) break;
        if (this.#timers.peek() !== undefined) continue;
        throw new Error('FakeClock.run: the promise is waiting on something other than this clock');
      }
      if (fired >= maxTimers) throw new Error(`FakeClock.run: still unsettled after ${maxTimers} timers`);
      this.#fire(timer);
      await this.#quiet();
    }
    return tracked;
  }

  #set(ms: number, fire: () => void): FakeTimer {
    const timer = new FakeTimer(this.#timers, this.#now + Math.max(0, ms), this.#seq++, fire);
    this.#timers.push(timer);
    return timer;
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

  #fire(timer: FakeTimer): void {
    this.#timers.remove(timer);
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
