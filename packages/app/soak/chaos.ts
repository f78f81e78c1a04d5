import type { FakeGitLab } from '@runner-core/adapter-fake';
import type { PendingJob } from '@runner-core/core';
import type { FakeClock } from '@runner-core/core/testing';
import type { FaultPlan, Injection } from './fault-plan.js';
import { checkStart, type Violations } from './invariants.js';
import type { Generation, Ledger } from './ledger.js';
import type { Prng } from './prng.js';
import { type ExecutionWatch, never } from './soak-executor.js';
import type { Tally } from './tally.js';

/** What the chaos acts on and where it books what it did. */
export interface ChaosDeps {
  readonly clock: FakeClock;
  readonly gitlab: FakeGitLab;
  readonly ledger: Ledger;
  readonly plan: FaultPlan;
  /** Faults and user actions, counted by name. */
  readonly faults: Tally;
  readonly violations: Violations;
  readonly random: Prng;
}

/**
 * The harness's hand in the world, following the {@link FaultPlan}: scripts the fake GitLab's answers, plays the user
 * who cancels jobs and the other runner manager that takes them, holds jobs in `prepare`, and watches each execution
 * start (invariants 1, 2, 5). {@link Chaos.stop} ends all of it, so the run can drain with no fault left.
 */
export class Chaos {
  readonly #deps: ChaosDeps;
  readonly #finalFaults = new Map<number, readonly Injection[]>();
  #active = true;
  /** Jobs whose execution started, over every runner process: the crash schedule counts them. */
  starts = 0;

  constructor(deps: ChaosDeps) {
    this.#deps = deps;
  }

  get active(): boolean {
    return this.#active;
  }

  /** Faults stop: nothing more is scripted or done, and what was scripted but not yet met is dropped. */
  stop(): void {
    this.#active = false;
    this.#finalFaults.clear();
    this.#deps.gitlab.clearInjections();
  }

  /** Server-wide faults every few seconds of fake time, until {@link Chaos.stop}. */
  async serverFaults(): Promise<void> {
    const { clock, plan, random } = this.#deps;
    while (this.#active) {
      await clock.sleep(random.int(3_000, 10_000));
      if (this.#active) for (const injection of plan.serverFault()) this.#apply(injection);
    }
  }

  /** The run loop's `prepare`: holds the job as planned; a killed process's hold never ends. */
  readonly prepare = async (pending: PendingJob, generation: Generation): Promise<void> => {
    if (!this.#active) return;
    const { clock, gitlab, plan, faults } = this.#deps;
    const { action, injections } = plan.prepare(pending.id);
    for (const injection of injections) this.#apply(injection);
    const hold = async (ms: number): Promise<void> => {
      await clock.sleep(ms, pending.signal);
      if (generation.dead) await never();
    };
    const live = (): boolean => this.#active && !pending.signal.aborted;
    switch (action.kind) {
      case 'none':
        return;
      case 'hold':
        return hold(action.holdMs);
      case 'cancel':
        await hold(action.afterMs);
        if (live()) this.#cancel(pending.id, 'pending');
        return hold(action.holdMs);
      case 'conflict':
        await hold(action.afterMs);
        if (live() && gitlab.job(pending.id).waiting) {
          gitlab.takeByOtherManager(pending.id);
          faults.add('taken by another manager (409)');
        }
        return hold(action.holdMs);
      case 'lapse':
        await hold(action.afterMs);
        if (live() && gitlab.job(pending.id).waiting) {
          gitlab.lapseAckWindow(pending.id);
          faults.add('ack window lapsed');
        }
        return hold(action.holdMs);
      case 'starve':
        for (const injection of action.injections) this.#apply(injection);
        return hold(action.holdMs);
      case 'decline':
        await hold(action.afterMs);
        faults.add('preparation failed (decline)');
        throw new Error('soak: the preparation failed');
      default: {
        const unknown: never = action;
        throw new Error(`soak: unknown prepare action ${JSON.stringify(unknown)}`);
      }
    }
  };

  /** The executor's watch: the checks at start, then the job's planned faults (a cancel, trace and final faults). */
  readonly watch: ExecutionWatch = {
    started: (job, generation, durationMs) => {
      const { clock, gitlab, ledger, plan, violations } = this.#deps;
      const entry = ledger.entry(job.id);
      checkStart(job, gitlab, entry, violations);
      entry.timesStarted += 1;
      entry.startedBy ??= generation.index;
      entry.startedAt ??= clock.now();
      this.starts += 1;
      if (!this.#active) return;
      const run = plan.run(job.id, durationMs);
      for (const injection of run.injections) this.#apply(injection);
      if (run.finalInjections.length > 0) this.#finalFaults.set(job.id, run.finalInjections);
      const cancelAfterMs = run.cancelAfterMs;
      if (cancelAfterMs !== undefined) {
        // NOTE: the user, not the runner, cancels: a crash of the runner in between does not stop them.
        void clock.sleep(cancelAfterMs).then(() => {
          if (this.#active) this.#cancel(job.id, 'running');
        });
      }
    },
    finishing: (jobId) => {
      const injections = this.#finalFaults.get(jobId) ?? [];
      this.#finalFaults.delete(jobId);
      if (this.#active) for (const injection of injections) this.#apply(injection);
    },
  };

  #apply(injection: Injection): void {
    this.#deps.gitlab.inject(injection.operation, injection.answer, {
      times: injection.times,
      ...(injection.jobId === undefined ? {} : { jobId: injection.jobId }),
    });
    this.#deps.faults.add(injection.label);
  }

  /** A user cancels the job, if it is still pending or running. */
  #cancel(jobId: number, when: 'pending' | 'running'): void {
    const { gitlab, ledger, faults } = this.#deps;
    const before = gitlab.jobStatus(jobId);
    if (before !== 'pending' && before !== 'running') return;
    const after = gitlab.cancelJob(jobId);
    ledger.entry(jobId).cancel ??= after;
    faults.add(`user cancel while ${when} (${before} → ${after})`);
  }
}
