import { silentLogger } from '@runner-core/core';
import { FakeClock } from '@runner-core/core/testing';
import { describe, expect, it } from 'vitest';
import { Shutdown } from '../src/service/shutdown.js';

function setup(timeoutMs?: number) {
  const clock = new FakeClock();
  const calls: string[] = [];
  const shutdown = new Shutdown(
    { stop: () => calls.push('stop'), abort: () => calls.push('abort') },
    clock,
    silentLogger,
    timeoutMs,
  );
  return { clock, calls, shutdown };
}

describe('signals (docs/operations.md)', () => {
  it('SIGQUIT drains: no new jobs, jobs in flight finish; another SIGQUIT changes nothing', () => {
    const { calls, shutdown } = setup();
    shutdown.onSignal('SIGQUIT', 1);
    shutdown.onSignal('SIGQUIT', 1);
    expect(calls).toEqual(['stop']);
    expect(shutdown.draining).toBe(true);
  });

  it('the first SIGINT or SIGTERM drains too; a second one aborts the jobs in flight, once', () => {
    const { calls, shutdown } = setup();
    shutdown.onSignal('SIGTERM', 2);
    shutdown.onSignal('SIGINT', 2);
    shutdown.onSignal('SIGTERM', 2);
    expect(calls).toEqual(['stop', 'abort']);
  });

  it('SIGTERM after SIGQUIT aborts', () => {
    const { calls, shutdown } = setup();
    shutdown.onSignal('SIGQUIT', 1);
    shutdown.onSignal('SIGTERM', 1);
    expect(calls).toEqual(['stop', 'abort']);
  });

  it('--shutdown-timeout bounds a drain: then the jobs are aborted', async () => {
    const { clock, calls, shutdown } = setup(30_000);
    shutdown.onSignal('SIGQUIT', 1);
    await clock.advance(29_999);
    expect(calls).toEqual(['stop']);
    await clock.advance(1);
    expect(calls).toEqual(['stop', 'abort']);
  });

  it('a drain that ended in time leaves no timer behind', async () => {
    const { clock, calls, shutdown } = setup(30_000);
    shutdown.onSignal('SIGQUIT', 1);
    shutdown.dispose();
    await clock.advance(60_000);
    expect(calls).toEqual(['stop']);
    expect(clock.pendingTimers).toBe(0);
  });
});
