import { describe, expect, it } from 'vitest';
import { JobSlots } from './job-slots.js';

describe('JobSlots', () => {
  it('hands out slots up to its capacity, then in the order they were asked for', async () => {
    const slots = new JobSlots(1);
    const first = await slots.acquire();
    const order: string[] = [];
    const second = slots.acquire().then((release) => {
      order.push('second');
      return release;
    });
    const third = slots.acquire().then((release) => {
      order.push('third');
      return release;
    });
    expect(slots.inUse).toBe(1);
    first?.();
    first?.();
    (await second)?.();
    (await third)?.();
    expect(order).toEqual(['second', 'third']);
    expect(slots.inUse).toBe(0);
  });

  it('a waiter whose signal aborts gets nothing and holds no slot', async () => {
    const slots = new JobSlots(1);
    const held = await slots.acquire();
    const stop = new AbortController();
    const waiting = slots.acquire(stop.signal);
    stop.abort();
    expect(await waiting).toBeUndefined();
    held?.();
    expect(slots.inUse).toBe(0);
    expect(await slots.acquire(stop.signal)).toBeUndefined();
  });

  it('refuses a capacity below one', () => {
    expect(() => new JobSlots(0)).toThrow('expected a positive integer');
  });
});
