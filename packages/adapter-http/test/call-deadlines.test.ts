import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { CallDeadlines } from '../src/call-deadlines.js';

/*
 * The deadlines of calls in flight: one timer per timeout instead of one per call. Fake timers (performance.now
 * included), so nothing here waits for real.
 */
beforeEach(() => {
  vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'performance'] });
});
afterEach(() => {
  vi.useRealTimers();
});

describe('call deadlines', () => {
  it('a call past its timeout is aborted as timed out, and its listener told once', () => {
    const deadlines = new CallDeadlines();
    const signal = deadlines.start(1_000);
    const listener = vi.fn();
    signal.addEventListener('abort', listener);
    vi.advanceTimersByTime(999);
    expect(signal.aborted).toBe(false);
    vi.advanceTimersByTime(1);
    expect(signal).toMatchObject({ aborted: true, timedOut: true });
    expect(listener).toHaveBeenCalledTimes(1);
    signal.end();
    expect(vi.getTimerCount()).toBe(0);
  });

  it('calls sharing a timeout share one timer, each expiring at its own time, in the order they started', () => {
    const deadlines = new CallDeadlines();
    const expired: string[] = [];
    const first = deadlines.start(1_000);
    first.addEventListener('abort', () => expired.push('first'));
    vi.advanceTimersByTime(300);
    const second = deadlines.start(1_000);
    second.addEventListener('abort', () => expired.push('second'));
    vi.advanceTimersByTime(300);
    const third = deadlines.start(1_000);
    third.addEventListener('abort', () => expired.push('third'));
    expect(vi.getTimerCount()).toBe(1);
    vi.advanceTimersByTime(400);
    expect(expired).toEqual(['first']);
    // The second ends in time: only the third expires after it.
    second.end();
    vi.advanceTimersByTime(600);
    expect(expired).toEqual(['first', 'third']);
    expect(second.aborted).toBe(false);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('a call that ends leaves no timer behind once none is in flight, so nothing keeps the process alive', () => {
    const deadlines = new CallDeadlines();
    const calls = [deadlines.start(60_000), deadlines.start(60_000), deadlines.start(70_000)];
    expect(vi.getTimerCount()).toBe(2);
    for (const call of calls) call.end();
    expect(vi.getTimerCount()).toBe(0);
    vi.advanceTimersByTime(100_000);
    expect(calls.some((call) => call.aborted)).toBe(false);
  });

  it("the caller's signal aborts the call at once, not as a timeout; an ended call no longer follows it", () => {
    const deadlines = new CallDeadlines();
    const caller = new AbortController();
    const signal = deadlines.start(1_000, caller.signal);
    const listener = vi.fn();
    signal.addEventListener('abort', listener);
    caller.abort();
    expect(signal).toMatchObject({ aborted: true, timedOut: false });
    expect(listener).toHaveBeenCalledTimes(1);
    signal.end();
    expect(vi.getTimerCount()).toBe(0);

    const later = new AbortController();
    const ended = deadlines.start(1_000, later.signal);
    ended.end();
    later.abort();
    expect(ended.aborted).toBe(false);
  });

  it('a removed listener is not told; several listeners all are', () => {
    const deadlines = new CallDeadlines();
    const signal = deadlines.start(10);
    const removed = vi.fn();
    const kept = [vi.fn(), vi.fn()];
    signal.addEventListener('abort', removed);
    for (const listener of kept) signal.addEventListener('abort', listener);
    signal.removeEventListener('abort', removed);
    vi.advanceTimersByTime(10);
    expect(removed).not.toHaveBeenCalled();
    for (const listener of kept) expect(listener).toHaveBeenCalledTimes(1);
  });
});
