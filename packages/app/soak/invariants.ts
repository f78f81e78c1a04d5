import type { FakeGitLab } from '@runner-core/adapter-fake';
import { type ConfirmedJob, RESTART_NOTICE } from '@runner-core/core';
import { maskedTrace, scriptOf } from './job-script.js';
import type { Generation, JobEntry, Ledger } from './ledger.js';
import { SOAK_SYSTEM_ID } from './runner-process.js';
import type { Tally } from './tally.js';

/**
 * The soak's invariants: 1 only jobs GitLab shows running for this runner start; 2 none twice; 3 every job run ends
 * with the state its script (or a cancel, or a restart) calls for, and none is left behind; 4 its trace is exactly the
 * masked output; 5 only jobs handed to this runner run; 6 no unhandled rejection; 7 the loops end in bounded time.
 */
export type InvariantNumber = 1 | 2 | 3 | 4 | 5 | 6 | 7;

/** One broken invariant: what, about which job, when (fake time), and enough detail to start looking. */
export interface Violation {
  readonly invariant: InvariantNumber;
  readonly code: string;
  readonly jobId?: number;
  readonly at: number;
  readonly detail: string;
}

/** Every violation keeps the count; only the first ones keep their detail, so a systematic fault stays printable. */
export class Violations {
  readonly first: Violation[] = [];
  total = 0;
  readonly #now: () => number;
  readonly #keep: number;

  constructor(now: () => number, keep = 200) {
    this.#now = now;
    this.#keep = keep;
  }

  add(invariant: InvariantNumber, code: string, detail: string, jobId?: number): void {
    this.total += 1;
    if (this.first.length < this.#keep) {
      this.first.push({ invariant, code, at: this.#now(), detail, ...(jobId === undefined ? {} : { jobId }) });
    }
  }
}

const terminal = new Set(['success', 'failed', 'canceled']);

/**
 * Invariants 1, 2 and 5, at the moment the executor starts a job: GitLab shows it `running` for this runner's
 * manager, it never started before, and a job request of this runner received it (with this token).
 */
export function checkStart(job: ConfirmedJob, gitlab: FakeGitLab, entry: JobEntry, violations: Violations): void {
  if (entry.timesStarted > 0) {
    violations.add(2, 'executed-twice', `started again (first by runner process ${entry.startedBy})`, job.id);
  }
  if (entry.receivedBy === undefined || entry.receivedToken?.equals(job.credentials.token) !== true) {
    violations.add(5, 'not-handed-out', 'no job request of this runner received this job and token', job.id);
  }
  const view = gitlab.job(job.id);
  if (view.status !== 'running' || view.runnerManager !== SOAK_SYSTEM_ID) {
    violations.add(
      1,
      'not-running-at-start',
      `GitLab shows ${view.status}, manager ${view.runnerManager ?? 'none'} (${job.confirmation}, mode ${job.mode})`,
      job.id,
    );
  }
}

/** What GitLab must end up with for a job the executor ran. */
interface Expectation {
  readonly why: 'script' | 'canceled' | 'restarted';
  readonly status: string;
  readonly failureReason?: string;
  readonly exitCode?: number;
}

/**
 * A job's expected end: a user's cancel wins (GitLab ends a canceling job `canceled` whatever the runner says); a job
 * whose runner process died before it kept the final state is reported by the next start as
 * `failed`/`runner_system_failure`; otherwise the script's own result.
 */
function expectationOf(entry: JobEntry, generation: Generation | undefined): Expectation {
  if (entry.cancel === 'canceling') return { why: 'canceled', status: 'canceled' };
  if (generation?.dead === true && !generation.keptFinal.has(entry.id)) {
    return { why: 'restarted', status: 'failed', failureReason: 'runner_system_failure' };
  }
  const { result } = scriptOf(entry.id);
  if (result.kind === 'success') return { why: 'script', status: 'success' };
  return {
    why: 'script',
    status: 'failed',
    failureReason: result.failureReason,
    ...(result.exitCode === undefined || result.exitCode === 0 ? {} : { exitCode: result.exitCode }),
  };
}

/**
 * Invariants 3 and 4 once the run drained, for every job the executor ran: a terminal state on GitLab that matches
 * the expectation, and a trace equal to the masked output (plus the restart notice when a restart reported it; a
 * prefix of it when the run was cut short). Also: no job this runner received is left running unreported, and the
 * figures of the final states.
 */
export function checkFinalStates(
  gitlab: FakeGitLab,
  ledger: Ledger,
  violations: Violations,
  figures: { readonly states: Tally; readonly jobs: Tally },
): void {
  const { states } = figures;
  for (const entry of ledger.jobs.values()) {
    if (entry.timesStarted === 0) {
      checkNotStarted(gitlab, ledger, entry, violations, figures.jobs);
      continue;
    }
    const view = gitlab.job(entry.id);
    const expected = expectationOf(entry, ledger.generation(entry.startedBy ?? -1));
    states.add(`${expected.why}: ${view.status}${view.failureReason === undefined ? '' : `/${view.failureReason}`}`);
    if (!terminal.has(view.status)) {
      violations.add(
        3,
        'final-state-missing',
        `GitLab still shows ${view.status} (expected ${describe(expected)})`,
        entry.id,
      );
      continue;
    }
    const actual = {
      status: view.status,
      ...(view.failureReason === undefined ? {} : { failureReason: view.failureReason }),
      ...(view.exitCode === undefined ? {} : { exitCode: view.exitCode }),
    };
    const matches =
      expected.status === actual.status &&
      (expected.why === 'canceled' ||
        (expected.failureReason === actual.failureReason && expected.exitCode === actual.exitCode));
    if (!matches) {
      violations.add(
        3,
        'final-state-wrong',
        `GitLab shows ${describe(actual)}, expected ${describe(expected)} (${history(view.history)})`,
        entry.id,
      );
    }
    checkTrace(view.trace, entry, expected, violations);
  }
}

function checkTrace(trace: string, entry: JobEntry, expected: Expectation, violations: Violations): void {
  const written = maskedTrace(entry.written);
  const restartedToo = expected.why === 'restarted' || (expected.why === 'canceled' && trace.endsWith(RESTART_NOTICE));
  if (restartedToo) {
    if (!trace.endsWith(RESTART_NOTICE)) {
      violations.add(4, 'trace-without-restart-notice', `trace ends ${JSON.stringify(trace.slice(-60))}`, entry.id);
      return;
    }
    const before = trace.slice(0, trace.length - RESTART_NOTICE.length);
    if (written.startsWith(before)) return;
    const twice =
      before.endsWith(RESTART_NOTICE) && written.startsWith(before.slice(0, before.length - RESTART_NOTICE.length));
    if (twice) {
      violations.add(4, 'restart-notice-twice', 'the trace is right but ends with the restart notice twice', entry.id);
    } else {
      violations.add(4, 'trace-wrong', `before the restart notice: ${difference(before, written)}`, entry.id);
    }
    return;
  }
  if (expected.why === 'script' && !entry.completed) {
    violations.add(3, 'script-cut-short', 'the executor was stopped, yet nothing explains it', entry.id);
  }
  if (trace !== written) violations.add(4, 'trace-wrong', difference(trace, written), entry.id);
}

/**
 * A job this runner received and never ran must not be left running on GitLab, unless the runner said so (its
 * release was tried and never landed). The code tells the two ways the soak has seen it happen apart: the process
 * died before the confirmation settled (`stranded-after-crash`), or the confirmation ended `unreachable` with no
 * release sent (`stranded-after-unreachable`).
 */
function checkNotStarted(
  gitlab: FakeGitLab,
  ledger: Ledger,
  entry: JobEntry,
  violations: Violations,
  jobs: Tally,
): void {
  if (entry.timesReceived === 0) return;
  const view = gitlab.job(entry.id);
  if (view.status !== 'running' && view.status !== 'canceling') return;
  if (entry.release === 'unreachable') {
    jobs.add('received, not run, left running: release undelivered (the runner said so)');
    return;
  }
  const receiver = ledger.generation(entry.receivedBy ?? -1);
  const recovered = ledger
    .generation((entry.receivedBy ?? -2) + 1)
    ?.recovered.find((event) => event.jobId === entry.id);
  const code =
    entry.outcome === undefined && receiver?.dead === true
      ? 'stranded-after-crash'
      : entry.outcome === 'unreachable' && entry.release === undefined
        ? 'stranded-after-unreachable'
        : 'stranded';
  const restart =
    recovered === undefined ? '' : `, the next start recovered it as ${recovered.phase}/${recovered.action}`;
  violations.add(
    3,
    code,
    `received and never run (outcome ${entry.outcome ?? 'none'}${restart}), GitLab still shows ${view.status} (${history(view.history)})`,
    entry.id,
  );
}

/**
 * "The new run's recovery must report what the old one left": for each crash, the next process (once it got as far
 * as its first job request) recovered every journal entry the store held that had no final state in the outbox —
 * `lapsed` for a job pending in two-phase mode, `reported` otherwise — and nothing else.
 */
export function checkRecoveries(ledger: Ledger, violations: Violations): void {
  for (const generation of ledger.generations) {
    const left = generation.leftBehind;
    const next = ledger.generation(generation.index + 1);
    if (left === undefined || next === undefined || next.firstRequestAt === undefined) continue;
    const inOutbox = new Set(left.outbox.map((entry) => entry.job.id));
    const expected = new Map<number, string>();
    for (const entry of left.journal) {
      if (inOutbox.has(entry.job.id)) continue;
      expected.set(entry.job.id, entry.phase === 'pending' && entry.mode === 'two-phase' ? 'lapsed' : 'reported');
    }
    const actual = new Map(next.recovered.map((event) => [event.jobId, event.action]));
    for (const [jobId, action] of expected) {
      const got = actual.get(jobId);
      if (got === undefined) {
        violations.add(3, 'recovery-missed', `process ${next.index} did not recover it (expected ${action})`, jobId);
      } else if (got !== action) {
        violations.add(3, 'recovery-wrong', `process ${next.index} ${got} it, expected ${action}`, jobId);
      }
    }
    for (const jobId of actual.keys()) {
      if (!expected.has(jobId)) {
        violations.add(3, 'recovery-unexpected', `process ${next.index} recovered a job the store did not hold`, jobId);
      }
    }
  }
}

function describe(state: {
  readonly status: string;
  readonly failureReason?: string;
  readonly exitCode?: number;
}): string {
  return [state.status, state.failureReason, state.exitCode === undefined ? undefined : `exit ${state.exitCode}`]
    .filter((part) => part !== undefined)
    .join('/');
}

function history(changes: readonly { readonly event: string; readonly status: string }[]): string {
  return changes.map((change) => `${change.event}→${change.status}`).join(', ');
}

/** Where two traces part, shown briefly (JSON-quoted, so newlines and notices stay visible). */
function difference(actual: string, expected: string): string {
  let at = 0;
  while (at < actual.length && at < expected.length && actual[at] === expected[at]) at++;
  const around = (text: string): string => JSON.stringify(text.slice(Math.max(0, at - 20), at + 60));
  return `differs at ${at} (lengths ${actual.length} vs ${expected.length}): got ${around(actual)}, expected ${around(expected)}`;
}
