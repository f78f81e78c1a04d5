import type { Clock } from '../clock/clock.port.js';
import type { Executor } from '../execution/executor.port.js';
import type { Logger } from '../logger/logger.port.js';
import type { Observer } from '../observer/observer.port.js';
import type { OutboxCourier } from './outbox-courier.js';
import type { JournalEntry, OutboxEntry, StateStore } from './state-store.port.js';

/** What {@link recoverState} needs. */
export interface RecoveryDeps {
  readonly store: StateStore;
  readonly courier: OutboxCourier;
  readonly clock: Clock;
  readonly observer: Observer;
  readonly logger: Logger;
  readonly executor: Executor;
}

const encoder = new TextEncoder();

/** The line a job the runner lost in a crash ends its trace with. */
export const RESTART_NOTICE =
  '\nERROR: the runner stopped unexpectedly while this job was in flight (crash, kill or power loss) and has ' +
  'restarted; the job is reported failed (runner_system_failure).\n';

/**
 * What a runner does first when it starts (docs/design.md §2b, "Durable state"): it sends the outbox again — final
 * states GitLab had not taken — trying each once before job requests begin and then in the background; then it
 * reports each job the journal shows `running` or `confirming` (a crash took it, or its confirmation may have
 * landed) as `failed`/`runner_system_failure`, with a line in its trace saying so, instead of leaving it running until
 * GitLab's stuck-job timeout; a job left `pending` in mode `two-phase` lapses (GitLab retries it elsewhere), one in
 * another mode is reported like a running one (GitLab may run it). What an executor left behind for those jobs is
 * cleaned up. The restart notice is appended after whatever trace GitLab holds, learnt first (see TraceShipper).
 *
 * @param firstRoundMs how long the first try of each entry may take before job requests begin
 */
export async function recoverState(deps: RecoveryDeps, firstRoundMs: number): Promise<void> {
  const { store, courier, clock, observer, logger, executor } = deps;
  const { journal, outbox } = await store.load();
  const inOutbox = new Set(outbox.map((entry) => entry.job.id));
  const firstTries = outbox.map((entry) => courier.send(entry, firstRoundMs));
  for (const entry of journal) {
    if (inOutbox.has(entry.job.id)) continue;
    const lapses = entry.phase === 'pending' && entry.mode === 'two-phase';
    logger.warn(
      lapses
        ? 'a job left pending by the previous run lapses (GitLab hands it to another runner)'
        : 'a job left in flight by the previous run is reported failed (runner_system_failure)',
      { jobId: entry.job.id, phase: entry.phase, mode: entry.mode },
    );
    await executor.cleanUp?.(entry.job.id);
    if (lapses) {
      await store.forgetJob(entry.job.id);
      observer.notify({ event: 'job.recovered', jobId: entry.job.id, phase: entry.phase, action: 'lapsed' });
      continue;
    }
    const report = crashReport(entry, clock.now());
    await store.putFinalState(report);
    observer.notify({ event: 'job.recovered', jobId: entry.job.id, phase: entry.phase, action: 'reported' });
    firstTries.push(courier.send(report, firstRoundMs));
  }
  await Promise.all(firstTries);
}

/** The final state of a job lost in a crash: failed, with a line appended to whatever trace GitLab holds. */
function crashReport(entry: JournalEntry, now: number): OutboxEntry {
  return {
    job: entry.job,
    state: 'failed',
    failureReason: 'runner_system_failure',
    trace: { tail: encoder.encode(RESTART_NOTICE) },
    finishedAt: now,
  };
}
