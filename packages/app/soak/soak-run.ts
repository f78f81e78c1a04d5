import { FakeGitLab } from '@runner-core/adapter-fake';
import { InMemoryStateStore, type RunSummary } from '@runner-core/core';
import type { ServerProfile } from '@runner-core/core/simulation';
import { FakeClock } from '@runner-core/core/testing';
import { Chaos } from './chaos.js';
import { explainJob } from './explain.js';
import { FaultPlan } from './fault-plan.js';
import { checkFinalStates, checkRecoveries, type Violation, Violations } from './invariants.js';
import { Ledger } from './ledger.js';
import { createPrng } from './prng.js';
import { RunnerProcess } from './runner-process.js';
import { Tally } from './tally.js';

/** One profile's soak. */
export interface ProfileSoakOptions {
  readonly profile: ServerProfile;
  readonly seed: number;
  readonly jobs: number;
  readonly concurrency: number;
  /** Jobs to explain in full after the run (the request log is then kept whole: use it on small runs). */
  readonly explain?: readonly number[];
}

/** What one profile's soak found. */
export interface ProfileResult {
  readonly profile: ServerProfile;
  readonly seed: number;
  readonly jobs: number;
  /** The first violations, in full. */
  readonly violations: readonly Violation[];
  readonly violationCount: number;
  readonly counts: {
    readonly jobs: Tally;
    readonly outcomes: Tally;
    readonly states: Tally;
    readonly runner: Tally;
    readonly faults: Tally;
    readonly seen: Tally;
  };
  readonly restarts: number;
  /** Fake time the soak took. */
  readonly fakeMs: number;
  /** Real time it took. */
  readonly realMs: number;
  /** How the last runner process's loop ended (absent when it did not). */
  readonly summary?: RunSummary;
  /** The `explain` jobs, in full. */
  readonly explained: readonly string[];
}

/** How long the runner may go without receiving a job while some are queued, before the soak calls it stalled. */
const STALL_LIMIT_MS = 60 * 60_000;
/** How long, once faults stop, the run may take to settle every job (the outbox's rounds included). */
const DRAIN_LIMIT_MS = 3 * 60 * 60_000;
/** How long the last loop may take to end once stopped. */
const STOP_LIMIT_MS = 30 * 60_000;
const DRAIN_CHECK_MS = 5_000;
/** Jobs started between two crashes of the runner, at least and at most. */
const CRASH_EVERY: readonly [number, number] = [40, 160];
/** About 22 timers fire per job; far more means a loop that does not end (invariant 7). */
const TIMERS_PER_JOB = 400;

/**
 * Soaks the real run loop against one fake GitLab profile: `jobs` jobs are fed to the queue a few at a time while a
 * seeded plan injects faults, holds, cancels, 409 races, lapses and runner crashes; then faults stop, the run drains
 * and every invariant is checked. Everything runs on one `FakeClock`, driven to the end with a timer cap.
 */
export async function soakProfile(options: ProfileSoakOptions): Promise<ProfileResult> {
  const startedReal = performance.now();
  const { profile, jobs, concurrency } = options;
  const prng = createPrng(options.seed).fork(profile);
  const clock = new FakeClock();
  const startedFake = clock.now();
  const gitlab = new FakeGitLab({
    profile,
    clock,
    random: prng.fork('gitlab').next,
    // NOTE: nothing is counted from the request log (the harness watches the runner's side), so it stays small
    // unless a job is to be explained.
    requestLogLimit: (options.explain?.length ?? 0) > 0 ? 10_000_000 : 100,
    // A shorter interval than the fake's 60 s: more patches and touches per job meet more faults.
    traceUpdateIntervalSeconds: 15,
  });
  const store = new InMemoryStateStore();
  const ledger = new Ledger();
  const violations = new Violations(() => clock.now());
  const counts = {
    jobs: new Tally(),
    outcomes: new Tally(),
    states: new Tally(),
    runner: new Tally(),
    faults: new Tally(),
    seen: new Tally(),
  };
  const schedule = prng.fork('schedule');
  const chaos = new Chaos({
    clock,
    gitlab,
    ledger,
    plan: new FaultPlan(prng.fork('faults'), profile, () => clock.now()),
    faults: counts.faults,
    violations,
    random: schedule,
  });
  const processDeps = {
    clock,
    gitlab,
    store,
    ledger,
    events: counts.runner,
    outcomes: counts.outcomes,
    seen: counts.seen,
    watch: chaos.watch,
    prepare: chaos.prepare,
    random: prng.fork('runner'),
    concurrency,
  };
  let current = new RunnerProcess(processDeps);

  /** Kills the runner every so many job starts, at a random moment after; the next process starts on the store. */
  const crashes = async (): Promise<void> => {
    while (chaos.active) {
      const target = chaos.starts + schedule.int(CRASH_EVERY[0], CRASH_EVERY[1]);
      while (chaos.starts < target && chaos.active) await clock.sleep(5_000);
      if (!chaos.active) return;
      await clock.sleep(schedule.int(0, 60_000));
      if (!chaos.active) return;
      current.crash();
      counts.faults.add('runner restart (crash)');
      current.generation.leftBehind = await store.load();
      await clock.sleep(schedule.int(0, 10_000));
      current = new RunnerProcess(processDeps);
    }
  };

  /** Invariant 7 while jobs wait: the runner must keep taking them. @returns false once it stalled */
  const stallWatch = (): ((what: string) => boolean) => {
    let received = -1;
    let progressAt = clock.now();
    return (what) => {
      let now = 0;
      for (const entry of ledger.jobs.values()) now += entry.timesReceived;
      if (now !== received || gitlab.queuedJobIds().length === 0) {
        received = now;
        progressAt = clock.now();
        return true;
      }
      if (clock.now() - progressAt <= STALL_LIMIT_MS) return true;
      violations.add(7, 'stalled', `${what}: no job received for ${STALL_LIMIT_MS / 60_000} min with jobs queued`);
      return false;
    };
  };

  const openJobs = new Set<number>();
  /** Keeps the queue a little ahead of the runner until every job is enqueued, then until every one is handed out. */
  const feed = async (): Promise<void> => {
    const progressing = stallWatch();
    let enqueued = 0;
    while (enqueued < jobs && progressing('feeding')) {
      const room = concurrency * 2 - gitlab.queuedJobIds().length;
      for (let index = 0; index < room && enqueued < jobs; index++) {
        openJobs.add(gitlab.enqueueJob({ name: `soak ${enqueued}` }).id);
        enqueued += 1;
      }
      await clock.sleep(1_000);
    }
    counts.jobs.add('enqueued', enqueued);
    while (gitlab.queuedJobIds().length > 0 && progressing('handing out the last jobs')) await clock.sleep(1_000);
  };

  /** Drained: nothing queued, nothing in flight, the store empty, no job held for this runner or awaiting its report. */
  const drained = async (): Promise<boolean> => {
    if (gitlab.queuedJobIds().length > 0 || current.loop.activeJobs > 0) return false;
    const left = await store.load();
    if (left.journal.length > 0 || left.outbox.length > 0) return false;
    for (const id of [...openJobs]) {
      const view = gitlab.job(id);
      if (view.retriedAs !== undefined) openJobs.add(view.retriedAs);
      if (view.status === 'success' || view.status === 'failed' || view.status === 'canceled') openJobs.delete(id);
      // NOTE: a job left running that this runner never ran is judged by the final checks, not waited for.
      else if (view.status === 'pending' || (ledger.jobs.get(id)?.timesStarted ?? 0) > 0) return false;
    }
    return true;
  };

  const main = async (): Promise<RunSummary | undefined> => {
    const faults = [chaos.serverFaults(), crashes()];
    await feed();
    chaos.stop();
    await Promise.all(faults);
    const drainFrom = clock.now();
    let settled = await drained();
    while (!settled && clock.now() - drainFrom < DRAIN_LIMIT_MS) {
      await clock.sleep(DRAIN_CHECK_MS);
      settled = await drained();
    }
    if (!settled) violations.add(7, 'drain-timeout', `not drained ${DRAIN_LIMIT_MS / 60_000} min after faults stopped`);
    const last = current;
    if (settled) last.loop.stop();
    else last.loop.abort();
    const timeout = new AbortController();
    const ended = await Promise.race([last.done, clock.sleep(STOP_LIMIT_MS, timeout.signal).then(() => undefined)]);
    timeout.abort();
    if (ended === undefined) violations.add(7, 'loop-not-ended', `the run loop did not end within ${STOP_LIMIT_MS} ms`);
    return ended;
  };

  const onUnhandled = (reason: unknown): void => {
    const detail = reason instanceof Error ? `${reason.name}: ${reason.message}` : String(reason);
    violations.add(6, 'unhandled-rejection', detail);
  };
  process.on('unhandledRejection', onUnhandled);
  let summary: RunSummary | undefined;
  let finished = false;
  try {
    summary = await clock.run(main(), jobs * TIMERS_PER_JOB + 200_000);
    finished = true;
  } catch (error) {
    violations.add(7, 'clock', error instanceof Error ? error.message : String(error));
  } finally {
    // NOTE: a rejection noticed only after the run belongs to it too: give it one macrotask turn to surface.
    await new Promise((resolve) => setImmediate(resolve));
    process.off('unhandledRejection', onUnhandled);
  }

  // Checking a run cut short would only repeat that it was: invariant 7 already says so.
  if (finished) {
    checkFinalStates(gitlab, ledger, violations, counts);
    checkRecoveries(ledger, violations);
  }
  countJobs(gitlab, ledger, counts.jobs);
  return {
    profile,
    seed: options.seed,
    jobs,
    violations: violations.first,
    violationCount: violations.total,
    counts,
    restarts: ledger.generations.length - 1,
    fakeMs: clock.now() - startedFake,
    realMs: performance.now() - startedReal,
    ...(summary === undefined ? {} : { summary }),
    explained: (options.explain ?? []).map((jobId) => explainJob(jobId, gitlab, ledger)),
  };
}

/** The job figures: what GitLab made of the queue, and what reached the runner and its executor. */
function countJobs(gitlab: FakeGitLab, ledger: Ledger, jobs: Tally): void {
  for (const view of gitlab.jobs()) {
    if (view.retryOf !== undefined) jobs.add('retry copies (of lapsed jobs)');
    if ((ledger.jobs.get(view.id)?.timesReceived ?? 0) > 0 || !view.assigned) continue;
    jobs.add(
      view.status === 'running' || view.status === 'canceling'
        ? 'handed out, answer lost: left running (GitLab stuck-job timeout)'
        : 'handed out, answer lost: ended by GitLab (lapsed)',
    );
  }
  for (const entry of ledger.jobs.values()) {
    if (entry.timesReceived > 0) jobs.add('received by the runner');
    if (entry.timesStarted > 0) jobs.add('executed');
  }
}
