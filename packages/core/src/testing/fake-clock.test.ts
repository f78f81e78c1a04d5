import { describe, expect, test } from 'vitest';
import { type Alarm, setAlarm } from '../clock/clock.port.js';
import { FakeClock } from './fake-clock.js';

const START = 1_767_225_600_000;

/** A seeded generator (mulberry32), so the shuffled cases are the same on every run. */
function seeded(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let mixed = Math.imul(state ^ (state >>> 15), 1 | state);
    mixed = (mixed + Math.imul(mixed ^ (mixed >>> 7), 61 | mixed)) ^ mixed;
    return ((mixed ^ (mixed >>> 14)) >>> 0) / 4_294_967_296;
  };
}

describe('FakeClock', () => {
  test('timers fire in due order, and those due at the same time in the order they were set', async () => {
    const clock = new FakeClock();
    const fired: string[] = [];
    void clock.sleep(30).then(() => fired.push('a@30'));
    clock.alarm(10, () => fired.push('b@10'));
    void clock.sleep(10).then(() => fired.push('c@10'));
    clock.alarm(0, () => fired.push('d@0'));
    void clock.sleep(-5).then(() => fired.push('e@0'));
    await clock.advance(30);
    expect(fired).toEqual(['d@0', 'e@0', 'b@10', 'c@10', 'a@30']);
    expect(clock.now()).toBe(START + 30);
    expect(clock.pendingTimers).toBe(0);
  });

  test('advance stops at its target; a later timer stays pending and is the next due', async () => {
    const clock = new FakeClock();
    let woke = false;
    void clock.sleep(100).then(() => {
      woke = true;
    });
    await clock.advance(99);
    expect(woke).toBe(false);
    expect(clock.pendingTimers).toBe(1);
    expect(clock.nextDue()).toBe(START + 100);
    await clock.advance(1);
    expect(woke).toBe(true);
    expect(clock.nextDue()).toBeUndefined();
  });

  test('a timer set while advancing fires in the same advance when it is due within it', async () => {
    const clock = new FakeClock();
    const at: number[] = [];
    void clock.sleep(10).then(async () => {
      at.push(clock.now());
      await clock.sleep(10);
      at.push(clock.now());
    });
    await clock.advance(25);
    expect(at).toEqual([START + 10, START + 20]);
  });

  test('a cancelled alarm never fires and leaves no timer; cancelling twice or after firing does nothing', async () => {
    const clock = new FakeClock();
    const fired: number[] = [];
    const first = clock.alarm(10, () => fired.push(1));
    const second = clock.alarm(20, () => fired.push(2));
    first.cancel();
    first.cancel();
    expect(clock.pendingTimers).toBe(1);
    await clock.advance(30);
    second.cancel();
    expect(fired).toEqual([2]);
    expect(clock.pendingTimers).toBe(0);
  });

  test('an aborted sleep resolves at once and its timer is gone; an already aborted one sets none', async () => {
    const clock = new FakeClock();
    const stop = new AbortController();
    let woke = false;
    void clock.sleep(1_000, stop.signal).then(() => {
      woke = true;
    });
    expect(clock.pendingTimers).toBe(1);
    stop.abort();
    await clock.advance(0);
    expect(woke).toBe(true);
    expect(clock.pendingTimers).toBe(0);
    await clock.sleep(1_000, stop.signal);
    expect(clock.pendingTimers).toBe(0);
  });

  test('many timers, set and cancelled in a shuffled order, fire exactly as a sorted list would fire them', async () => {
    const clock = new FakeClock();
    const random = seeded(7);
    const expected: { readonly due: number; readonly seq: number }[] = [];
    const fired: number[] = [];
    const alarms: { readonly seq: number; readonly alarm: Alarm }[] = [];
    for (let seq = 0; seq < 2_000; seq++) {
      // Few distinct due times, so ties (broken by the order set) are common.
      const due = Math.floor(random() * 50);
      alarms.push({ seq, alarm: clock.alarm(due, () => fired.push(seq)) });
      expected.push({ due, seq });
    }
    const cancelled = new Set<number>();
    for (const { seq, alarm } of alarms) {
      if (random() < 0.3) {
        alarm.cancel();
        cancelled.add(seq);
      }
    }
    expect(clock.pendingTimers).toBe(2_000 - cancelled.size);
    await clock.advance(50);
    const order = expected
      .filter((timer) => !cancelled.has(timer.seq))
      .sort((a, b) => a.due - b.due || a.seq - b.seq)
      .map((timer) => timer.seq);
    expect(fired).toEqual(order);
  });

  test('run drives time until the promise settles, and fails a loop that never ends', async () => {
    const clock = new FakeClock();
    const value = await clock.run(
      (async () => {
        await clock.sleep(5_000);
        await clock.sleep(5_000);
        return 'done';
      })(),
    );
    expect(value).toBe('done');
    expect(clock.now()).toBe(START + 10_000);
    const forever = (async () => {
      for (;;) await clock.sleep(1);
    })();
    await expect(clock.run(forever, 100)).rejects.toThrow('still unsettled after 100 timers');
  });

  test('run fails at once for a promise that waits on something else', async () => {
    const clock = new FakeClock();
    await expect(clock.run(new Promise(() => {}))).rejects.toThrow('waiting on something other than this clock');
  });
});

describe('setAlarm', () => {
  test("uses the clock's own alarm when it has one", async () => {
    const clock = new FakeClock();
    let fired = 0;
    setAlarm(clock, 10, () => fired++);
    await clock.advance(10);
    expect(fired).toBe(1);
  });

  test('falls back to sleep on a clock without alarms: fires once, and never after a cancel', async () => {
    const fake = new FakeClock();
    const plain = { now: () => fake.now(), sleep: (ms: number, signal?: AbortSignal) => fake.sleep(ms, signal) };
    let fired = 0;
    setAlarm(plain, 10, () => fired++);
    const cancelled = setAlarm(plain, 10, () => fired++);
    cancelled.cancel();
    await fake.advance(20);
    expect(fired).toBe(1);
    expect(fake.pendingTimers).toBe(0);
  });
});
