import { describe, expect, test } from 'vitest';
import type { JobPayload } from '../job/job.types.js';
import { JobConfirmation } from '../job-confirmation/job-confirmation.js';
import type { UpdateJobResult } from '../network/network.types.js';
import { FakeClock } from '../testing/fake-clock.js';
import { jobAnswer, ScriptedNetwork } from '../testing/scripted-network.js';
import { decodeJobPayload } from '../wire/job-payload-decoding.js';
import { ServerGate } from './server-gate.js';

/*
 * A GitLab that answers 503 for a while, with many jobs confirming against it (docs/design.md §2b, "Every call to one
 * server"): the gate keeps the outage cheap for the server, and everyone resumes within about a second of its
 * return, none given up while it is back before their deadline.
 */

const JOBS = 200;
const aJob = (id: number): JobPayload => decodeJobPayload({ id, token: `glcbt-outage-${id}` });

function outage(durationMs: number, headers: { readonly retryAfterSeconds?: number } = {}) {
  const clock = new FakeClock();
  const start = clock.now();
  const network = new ScriptedNetwork(() => clock.now());
  const answer = (): UpdateJobResult =>
    clock.now() - start < durationMs
      ? jobAnswer(
          'retryable',
          { status: 503 },
          headers.retryAfterSeconds === undefined
            ? {}
            : { wait: { retryAfterAt: clock.now() + headers.retryAfterSeconds * 1_000 } },
        )
      : jobAnswer('succeeded');
  for (let chunk = 0; chunk < 20; chunk++) network.onUpdateJob(...Array.from({ length: 5_000 }, () => answer));
  const gate = new ServerGate(clock, { random: () => 0.5 });
  const confirmation = new JobConfirmation({ network, clock, gate }, { random: Math.random });
  const confirmedAt = new Map<number, number>();
  const run = Promise.all(
    Array.from({ length: JOBS }, (_, index) =>
      confirmation.confirm(aJob(index + 1)).then((outcome) => {
        confirmedAt.set(outcome.jobId, clock.now());
        return outcome;
      }),
    ),
  );
  return { clock, start, network, run, confirmedAt };
}

describe('a GitLab down for a while', () => {
  test.each([
    { title: 'without Retry-After', retryAfterSeconds: undefined },
    { title: 'with Retry-After: 5', retryAfterSeconds: 5 },
  ])(
    '60 s of 503 ($title): at most 3 requests per job, every job confirmed within 2 s of recovery',
    async ({ retryAfterSeconds }) => {
      const scene = outage(60_000, retryAfterSeconds === undefined ? {} : { retryAfterSeconds });
      const outcomes = await scene.clock.run(scene.run, 100_000);
      expect(outcomes.every((outcome) => outcome.kind === 'confirmed')).toBe(true);
      const duringOutage = scene.network.calls.filter((call) => call.at - scene.start < 60_000).length;
      expect(duringOutage / JOBS).toBeLessThanOrEqual(3);
      const lastConfirmed = Math.max(...scene.confirmedAt.values());
      expect(lastConfirmed - (scene.start + 60_000)).toBeLessThanOrEqual(2_000);
    },
  );

  test('90 s of 503: GitLab is back 25 s before the deadline, so no job is unreachable', async () => {
    const scene = outage(90_000);
    const outcomes = await scene.clock.run(scene.run, 100_000);
    expect(outcomes.filter((outcome) => outcome.kind === 'unreachable')).toHaveLength(0);
    expect(Math.max(...scene.confirmedAt.values()) - (scene.start + 90_000)).toBeLessThanOrEqual(2_000);
  });

  test('an outage past the deadline: every job gets a last try before it, then is unreachable', async () => {
    const scene = outage(10 * 60_000);
    const outcomes = await scene.clock.run(scene.run, 100_000);
    expect(outcomes.every((outcome) => outcome.kind === 'unreachable')).toBe(true);
    const deadline = scene.start + 115_000;
    for (let id = 1; id <= JOBS; id++) {
      const tries = scene.network.calls.filter(
        (call) => call.method === 'updateJob' && call.job.id === id && call.input.state === 'running',
      );
      const last = tries.at(-1)?.at ?? 0;
      expect(last).toBeLessThan(deadline);
      expect(last).toBeGreaterThan(deadline - 5_000);
    }
  });
});

describe('the first try of an operation', () => {
  test('goes out even when its deadline passed a moment ago (time moves between the check and the gate)', async () => {
    const { gatedCall } = await import('./gated-call.js');
    let now = 1_000;
    const clock = { now: () => now++, sleep: async () => {} };
    const gate = new ServerGate(clock);
    let tries = 0;
    const result = await gatedCall(
      { clock, gate, retry: { initialMs: 0, factor: 1, maxMs: 0 }, random: () => 0.5 },
      {
        caller: Symbol('late'),
        operation: 'confirm',
        jobId: 1,
        deadline: 1_000,
        firstTryPastDeadline: true,
        tryOnce: async () => {
          tries += 1;
          return { kind: 'answered', value: 'ok' };
        },
      },
    );
    expect(result).toMatchObject({ kind: 'answered', attempts: 1 });
    expect(tries).toBe(1);
  });
});
