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
});
