import { describe, expect, test } from 'vitest';
import type { JobPayload } from '../job/job.types.js';
import { type ConfirmedJob, isRunnable, type PendingJob } from '../job-confirmation/confirmation.types.js';
import { JobConfirmation } from '../job-confirmation/job-confirmation.js';
import { FakeClock } from '../testing/fake-clock.js';
import { jobAnswer, ScriptedNetwork } from '../testing/scripted-network.js';
import { decodeJobPayload } from '../wire/job-payload-decoding.js';
import type { ExecutionContext, ExecutionResult, Executor } from './executor.port.js';

/**
 * Type tests: running an unconfirmed job must not compile. Each `@ts-expect-error` below fails the typecheck
 * (`tsc -b`, part of CI) if the line after it ever type-checks, so these are checks that can fail.
 */
const executor: Executor = {
  execute: async (job: ConfirmedJob): Promise<ExecutionResult> =>
    job.id > 0 ? { kind: 'success' } : { kind: 'success' },
};
const context: ExecutionContext = { signal: new AbortController().signal, trace: { write: () => {} } };

function unconfirmedCallsDoNotCompile(payload: JobPayload, pending: PendingJob): void {
  // @ts-expect-error: a raw payload is not a confirmed job
  void executor.execute(payload, context);
  // @ts-expect-error: a pending job is not a confirmed job
  void executor.execute(pending, context);
  const lookalike = {
    id: payload.id,
    credentials: { id: payload.id, token: payload.token },
    payload,
    confirmation: 'confirmed',
    mode: 'unknown',
    strategy: 'none',
    at: 0,
  } as const;
  // @ts-expect-error: nor is an object shaped like one, built by hand (it lacks the brand only the core can add)
  void executor.execute(lookalike, context);
  void pending.outcome.then((outcome) => {
    // @ts-expect-error: an outcome has a job only after narrowing to confirmed or skipped
    void executor.execute(outcome.job, context);
    // Narrowing works both ways: with the type guard, and with a plain check of the kind.
    if (isRunnable(outcome)) void executor.execute(outcome.job, context);
    if (outcome.kind === 'confirmed' || outcome.kind === 'skipped') void executor.execute(outcome.job, context);
    switch (outcome.kind) {
      case 'confirmed':
      case 'skipped':
        return executor.execute(outcome.job, context);
      case 'gone':
      case 'canceled':
      case 'conflict':
      case 'rejected':
      case 'unexpected':
      case 'unreachable':
      case 'declined':
      case 'invalid':
        // @ts-expect-error: refused outcomes carry no job
        return executor.execute(outcome.job, context);
      default: {
        const unreachable: never = outcome;
        return unreachable;
      }
    }
  });
}

describe('the confirmed-job type', () => {
  test('only confirmed and skipped outcomes carry a job an executor accepts', async () => {
    const clock = new FakeClock();
    const network = new ScriptedNetwork(() => clock.now()).onUpdateJob(jobAnswer('succeeded'), jobAnswer('conflict'));
    const confirmation = new JobConfirmation({ network, clock });
    const payload = decodeJobPayload({ id: 5, token: 'glcbt-token' });

    const confirmed = await clock.run(confirmation.confirm(payload));
    const conflict = await clock.run(confirmation.confirm(decodeJobPayload({ id: 6, token: 'glcbt-token' })));

    expect(confirmed.kind === 'confirmed' && (await executor.execute(confirmed.job, context))).toEqual({
      kind: 'success',
    });
    expect(confirmed.kind === 'confirmed' && Object.isFrozen(confirmed.job)).toBe(true);
    expect(conflict.kind).toBe('conflict');
    expect('job' in conflict).toBe(false);
    expect(typeof unconfirmedCallsDoNotCompile).toBe('function');
  });
});
