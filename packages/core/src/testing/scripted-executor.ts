import type { Clock } from '../clock/clock.port.js';
import type { ExecutionContext, ExecutionResult, Executor } from '../execution/executor.port.js';
import type { ConfirmedJob } from '../job-confirmation/confirmation.types.js';

/** What {@link ScriptedExecutor} does with a job. */
export interface ExecutorScript {
  /** Written to the trace first. @default 'hello from the test executor\n' */
  readonly output?: string;
  /** How long the job "runs", on the injected clock. @default 0 */
  readonly durationMs?: number;
  /** @default success */
  readonly result?: ExecutionResult;
  /** Thrown after the output, as an executor's own fault. @default none */
  readonly fault?: Error;
}

/**
 * An in-process executor for tests: writes its output, takes its time on the injected clock, honours the abort
 * signal, and counts what it ran (so a test can prove no job ran twice or unconfirmed).
 */
export class ScriptedExecutor implements Executor {
  readonly jobs: ConfirmedJob[] = [];
  running = 0;
  maxRunning = 0;
  aborted = 0;
  readonly #clock: Clock;
  readonly #script: ExecutorScript;

  constructor(clock: Clock, script: ExecutorScript = {}) {
    this.#clock = clock;
    this.#script = script;
  }

  async execute(job: ConfirmedJob, context: ExecutionContext): Promise<ExecutionResult> {
    this.jobs.push(job);
    this.running += 1;
    this.maxRunning = Math.max(this.maxRunning, this.running);
    try {
      context.trace.write(this.#script.output ?? 'hello from the test executor\n');
      if (this.#script.fault !== undefined) throw this.#script.fault;
      await this.#clock.sleep(this.#script.durationMs ?? 0, context.signal);
      if (context.signal.aborted) {
        this.aborted += 1;
        return { kind: 'failed', failureReason: 'script_failure', exitCode: 143 };
      }
      return this.#script.result ?? { kind: 'success' };
    } finally {
      this.running -= 1;
    }
  }
}
