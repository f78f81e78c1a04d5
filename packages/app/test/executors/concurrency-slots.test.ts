import { describe, expect, it } from 'vitest';
import { ConcurrencySlots } from '../../src/executors/concurrency-slots.js';

describe('ConcurrencySlots', () => {
  it('numbers running jobs from 0 overall and per project, reusing the numbers of jobs that ended', () => {
    const slots = new ConcurrencySlots();
    const a = slots.take('acme/api');
    const b = slots.take('acme/web');
    const c = slots.take('acme/api');
    expect([a.id, a.projectId, b.id, b.projectId, c.id, c.projectId]).toEqual([0, 0, 1, 0, 2, 1]);
    a.release();
    a.release();
    const d = slots.take('acme/api');
    expect([d.id, d.projectId]).toEqual([0, 0]);
  });
});
