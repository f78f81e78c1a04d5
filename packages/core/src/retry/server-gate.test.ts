import { describe, expect, it } from 'vitest';
import { FakeClock } from '../testing/fake-clock.js';
import { ServerGate } from './server-gate.js';

describe('ServerGate', () => {
  it('a failure of a request sent before the server last answered is stale: it fails nothing (found by the gate property)', async () => {
    const clock = new FakeClock();
    const gate = new ServerGate(clock);
    const scout = Symbol('scout');
    const sentDuringOutage = clock.now();
    await clock.advance(5);
    gate.failed(scout, undefined, sentDuringOutage);
    expect(gate.failing).toBe(true);
    await clock.advance(3);
    gate.answered();
    expect(gate.failing).toBe(false);
    // The scout's own call, sent during the outage, fails late: no news, the server is back.
    await clock.advance(1);
    gate.failed(Symbol('late'), undefined, sentDuringOutage);
    expect(gate.failing).toBe(false);
    expect(await gate.enter(Symbol('anyone'), clock.now() + 10_000)).toBe('go');
    // A request sent after the answer that fails is news.
    gate.failed(Symbol('fresh'), undefined, clock.now());
    expect(gate.failing).toBe(true);
  });

  it('a stale failure still brings its Retry-After: the server asked for the wait', () => {
    const clock = new FakeClock();
    const gate = new ServerGate(clock);
    const sent = clock.now();
    gate.answered();
    gate.failed(Symbol('late'), clock.now() + 30_000, sent - 1);
    expect(gate.failing).toBe(false);
    expect(gate.heldUntil).toBe(clock.now() + 30_000);
  });

  it('enterNow: the entry enter would give at once, and undefined exactly where enter would wait', async () => {
    const clock = new FakeClock();
    const gate = new ServerGate(clock, { lastTryLeadMs: 1_000 });
    const scout = Symbol('scout');
    const other = Symbol('other');
    const deadline = clock.now() + 10_000;
    expect(gate.enterNow(other, deadline)).toBe('go');
    expect(gate.enterNow(other, clock.now())).toBe('closed');
    const aborted = new AbortController();
    aborted.abort();
    expect(gate.enterNow(other, deadline, aborted.signal)).toBe('closed');

    // Failing: the scout passes, anyone else would wait — until its last try, or for good without one.
    gate.failed(scout);
    expect(gate.enterNow(scout, deadline)).toBe('go');
    expect(gate.enterNow(other, deadline)).toBeUndefined();
    expect(gate.enterNow(other, clock.now() + 500)).toBe('last-try');
    expect(gate.enterNow(other, clock.now() + 500, undefined, false)).toBeUndefined();
    gate.answered();

    // A hold: everyone would wait for it, unless it ends past the deadline.
    gate.failed(scout, clock.now() + 3_000);
    gate.answered();
    expect(gate.enterNow(other, deadline)).toBeUndefined();
    expect(gate.enterNow(other, clock.now() + 2_000)).toBe('closed');
    const entered = gate.enter(other, deadline);
    await clock.advance(3_000);
    expect(await entered).toBe('go');
    expect(gate.enterNow(other, deadline)).toBe('go');
  });
});
