import { type ConfirmedJob, JobConfirmation, type JobPayload, type RunnerEvent, systemClock } from '@runner-core/core';
import type { JobSpec } from '@runner-core/core/simulation';
import { aJobPayload, ScriptedNetwork } from '@runner-core/core/testing';

/**
 * A runnable job for executor tests. A `ConfirmedJob` can only come out of `JobConfirmation`: policy `off` skips the
 * confirmation (no request is sent) and yields one.
 */
export async function aConfirmedJob(spec: JobSpec = {}, payload?: JobPayload): Promise<ConfirmedJob> {
  const confirmation = new JobConfirmation({ network: new ScriptedNetwork(), clock: systemClock }, { confirm: 'off' });
  const outcome = await confirmation.confirm(payload ?? aJobPayload({ spec }));
  if (outcome.kind !== 'skipped') throw new Error(`expected a skipped outcome, got ${outcome.kind}`);
  return outcome.job;
}

export { TextTraceSink as TextSink } from '@runner-core/core/testing';

/** Polls `condition` every few milliseconds (real time), failing after `timeoutMs`: no blind sleeps in tests. */
export async function eventually(condition: () => boolean, timeoutMs = 5_000, what = 'the condition'): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** The `event` names of a list of events, in order. */
export function eventNames(events: readonly RunnerEvent[]): string[] {
  return events.map((event) => event.event);
}
