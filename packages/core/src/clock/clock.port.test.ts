import { describe, expect, test } from 'vitest';
import { MAX_TIMER_MS, timerClock } from './clock.port.js';

/** Timers that fire only when told, recording every delay they were asked for (as Node's would be). */
function manualTimers() {
  let now = 0;
  let next = 1;
  const pending = new Map<number, { readonly at: number; readonly fire: () => void }>();
  const delays: number[] = [];
  return {
    delays,
    timers: {
      now: () => now,
      setTimeout: (fire: () => void, ms: number): number => {
        delays.push(ms);
        const id = next++;
        // NOTE: Node fires a timer asked for more than 2^31-1 ms after 1 ms; model that, so an overflow shows.
        pending.set(id, { at: now + (ms > MAX_TIMER_MS ? 1 : ms), fire });
        return id;
      },
      clearTimeout: (id: number): void => {
        pending.delete(id);
      },
    },
    /** Moves time to the next timer and fires it. */
    fireNext(): void {
      const [id, timer] = [...pending.entries()].sort((a, b) => a[1].at - b[1].at)[0] ?? [];
      if (id === undefined || timer === undefined) throw new Error('no timer pending');
      pending.delete(id);
      now = timer.at;
      timer.fire();
    },
    get pending(): number {
      return pending.size;
    },
  };
}

const flush = () => new Promise((resolve) => setImmediate(resolve));

describe('the system clock', () => {
  test('a wait longer than a timer can hold (2^31-1 ms) is exact: timers are chained', async () => {
    const manual = manualTimers();
    const clock = timerClock(manual.timers);
    const thirtyDays = 30 * 24 * 3_600_000;
    let woke = false;
    void clock.sleep(thirtyDays).then(() => {
      woke = true;
    });
    while (!woke) {
      manual.fireNext();
      await flush();
    }
    expect(manual.timers.now()).toBe(thirtyDays);
    expect(Math.max(...manual.delays)).toBeLessThanOrEqual(MAX_TIMER_MS);
    expect(manual.delays.length).toBeGreaterThan(1);
  });

  test('an abort ends a chained wait at once and leaves no timer behind', async () => {
    const manual = manualTimers();
    const clock = timerClock(manual.timers);
    const stop = new AbortController();
    let woke = false;
    void clock.sleep(10 * MAX_TIMER_MS, stop.signal).then(() => {
      woke = true;
    });
    manual.fireNext();
    await flush();
    expect(woke).toBe(false);
    stop.abort();
    await flush();
    expect(woke).toBe(true);
    expect(manual.pending).toBe(0);
  });

  test('a short wait is one timer; a non-positive one resolves on the next turn', async () => {
    const manual = manualTimers();
    const clock = timerClock(manual.timers);
    void clock.sleep(1_500);
    void clock.sleep(-5);
    expect(manual.delays).toEqual([1_500, 0]);
  });

  test('an alarm is one timer holding the callback itself; cancel clears it, and a second cancel does nothing', () => {
    const manual = manualTimers();
    const clock = timerClock(manual.timers);
    let fired = 0;
    const fire = (): void => {
      fired++;
    };
    const alarm = clock.alarm?.(1_500, fire);
    expect(manual.delays).toEqual([1_500]);
    expect(manual.pending).toBe(1);
    alarm?.cancel();
    alarm?.cancel();
    expect(manual.pending).toBe(0);
    clock.alarm?.(10, fire);
    manual.fireNext();
    expect(fired).toBe(1);
  });

  test('an alarm longer than a timer can hold is exact, and a cancel between links stops the chain', () => {
    const manual = manualTimers();
    const clock = timerClock(manual.timers);
    let firedAt: number | undefined;
    const thirtyDays = 30 * 24 * 3_600_000;
    clock.alarm?.(thirtyDays, () => {
      firedAt = manual.timers.now();
    });
    while (firedAt === undefined) manual.fireNext();
    expect(firedAt).toBe(thirtyDays);
    expect(Math.max(...manual.delays)).toBeLessThanOrEqual(MAX_TIMER_MS);
    const stopped = clock.alarm?.(3 * MAX_TIMER_MS, () => {
      firedAt = -1;
    });
    manual.fireNext();
    expect(manual.pending).toBe(1);
    stopped?.cancel();
    expect(manual.pending).toBe(0);
    expect(firedAt).toBe(thirtyDays);
  });
});
