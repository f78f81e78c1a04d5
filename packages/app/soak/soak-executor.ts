import type { Clock, ConfirmedJob, ExecutionContext, ExecutionResult, Executor } from '@runner-core/core';
import { scriptOf } from './job-script.js';
import type { Generation, Ledger } from './ledger.js';

/** What the soak does around each execution: the checks at start, and the faults met at the end. */
export interface ExecutionWatch {
  /** Before the first byte: invariants 1, 2 and 5 are checked here, and the job's faults scheduled. */
  started(job: ConfirmedJob, generation: Generation, durationMs: number): void;
  /** The script ran to its end; its result is about to go back to the session. */
  finishing(jobId: number, generation: Generation): void;
}

/** A promise that never settles: what a killed process does next. Fresh each time, so nothing piles up on one. */
export function never<T>(): Promise<T> {
  return new Promise<T>(() => {});
}

/**
 * The soak's executor: runs the script of each job (from its id, see {@link scriptOf}) on the fake clock, writing
 * its output raw (the session masks it) and recording what it wrote, so the expected trace is known whatever
 * happened. One per runner process: once that process is killed it does nothing more, not even return.
 */
export class SoakExecutor implements Executor {
  readonly #clock: Clock;
  readonly #generation: Generation;
  readonly #ledger: Ledger;
  readonly #watch: ExecutionWatch;

  constructor(clock: Clock, generation: Generation, ledger: Ledger, watch: ExecutionWatch) {
    this.#clock = clock;
    this.#generation = generation;
    this.#ledger = ledger;
    this.#watch = watch;
  }

  async execute(job: ConfirmedJob, { signal, trace }: ExecutionContext): Promise<ExecutionResult> {
    const script = scriptOf(job.id);
    const durationMs = script.steps.reduce((sum, step) => sum + step.afterMs, 0);
    this.#watch.started(job, this.#generation, durationMs);
    const entry = this.#ledger.entry(job.id);
    for (const step of script.steps) {
      if (step.afterMs > 0) await this.#clock.sleep(step.afterMs, signal);
      if (this.#generation.dead) return never();
      // Stopped by the session (GitLab canceled the job): exit as a killed script would.
      if (signal.aborted) return { kind: 'failed', failureReason: 'script_failure', exitCode: 143 };
      trace.write(step.text);
      entry.written += step.text;
    }
    entry.completed = true;
    this.#watch.finishing(job.id, this.#generation);
    return script.result;
  }
}
