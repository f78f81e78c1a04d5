import { describe, expect, test } from 'vitest';
import type { Clock } from '../clock/clock.port.js';
import type { JobPayload } from '../job/job.types.js';
import { ServerGate } from '../retry/server-gate.js';
import { FakeClock } from '../testing/fake-clock.js';
import { jobAnswer, ScriptedNetwork } from '../testing/scripted-network.js';
import { decodeJobPayload } from '../wire/job-payload-decoding.js';
import { JobConfirmation } from './job-confirmation.js';

/*
 * What a held job costs and how its hold ends: one alarm per job, none left once it settles, and the interrupt of a
 * confirmation (made per operation, reused once un-aborted) still ends a decline's waits at once.
 */

const aJob = (id: number): JobPayload => decodeJobPayload({ id, token: `glcbt-64_job-${id}` });

function setup(clock: Clock = new FakeClock()) {
  const network = new ScriptedNetwork(() => clock.now());
  const confirmation = new JobConfirmation(
    { network, clock, gate: new ServerGate(clock, { random: () => 0.5 }) },
    { random: () => 0.5, keepAliveIntervalMs: 30_000 },
  );
  return { network, confirmation };
}

describe('a held job', () => {
  test('is one timer until it settles, and leaves none behind once confirmed or declined', async () => {
    const clock = new FakeClock();
    const { confirmation } = setup(clock);
    const held = Array.from({ length: 100 }, (_, index) => confirmation.receive(aJob(index + 1)));
    expect(clock.pendingTimers).toBe(100);
    await clock.advance(33_000);
    expect(clock.pendingTimers).toBe(100);
    const settled = await clock.run(
      Promise.all(held.map((job, index) => (index % 2 === 0 ? job.confirm() : job.decline()))),
    );
    expect(settled.map((outcome) => outcome.kind)).toEqual(
      held.map((_, index) => (index % 2 === 0 ? 'confirmed' : 'declined')),
    );
    expect(clock.pendingTimers).toBe(0);
  });

  test('keeps alive every interval on its one alarm, on a clock without alarms too', async () => {
    const fake = new FakeClock();
    const plain: Clock = { now: () => fake.now(), sleep: (ms, signal) => fake.sleep(ms, signal) };
    const { network, confirmation } = setup(plain);
    const pending = confirmation.receive(aJob(7));
    await fake.advance(100_000);
    expect(network.jobCalls(7)).toEqual(['PUT pending', 'PUT pending', 'PUT pending']);
    expect(await fake.run(pending.confirm())).toMatchObject({ kind: 'confirmed', mode: 'two-phase' });
    expect(fake.pendingTimers).toBe(0);
  });
});

describe('the interrupt of a confirmation', () => {
  test("a decline ends one job's backoff at once; the next job's confirmation still waits out its own", async () => {
    const clock = new FakeClock();
    const { network, confirmation } = setup(clock);
    // The first job: two-phase (its keep-alive answered), then its confirmation backs off on 503s until declined.
    network.onUpdateJob(
      jobAnswer('succeeded', {}, { jobStatus: 'pending' }),
      ...Array.from({ length: 20 }, () => jobAnswer('retryable', { status: 503 })),
    );
    const first = confirmation.receive(aJob(1));
    await clock.advance(33_000);
    const confirming = first.confirm();
    await clock.advance(3_000);
    const declined = first.decline('shutting down');
    await clock.advance(0);
    expect(await declined).toMatchObject({ kind: 'declined', detail: 'shutting down' });
    expect(await confirming).toBe(await declined);

    // The second job's confirmation retries through the rest of the 503s and lands: nothing aborted it early.
    const second = confirmation.receive(aJob(2));
    const outcome = await clock.run(second.confirm(), 1_000);
    expect(outcome).toMatchObject({ kind: 'confirmed', attempts: expect.any(Number) });
    expect(outcome.attempts).toBeGreaterThan(1);
  });

  test('a job confirmed at once retries transient answers and confirms', async () => {
    const clock = new FakeClock();
    const { network, confirmation } = setup(clock);
    network.onUpdateJob(jobAnswer('retryable', { status: 503 }), jobAnswer('retryable', { status: 502 }));
    const outcome = await clock.run(confirmation.confirm(aJob(3)));
    expect(outcome).toMatchObject({ kind: 'confirmed', attempts: 3 });
    expect(network.jobCalls(3)).toEqual(['PUT running', 'PUT running', 'PUT running']);
  });
});
