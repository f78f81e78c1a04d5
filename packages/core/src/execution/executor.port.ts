import type { ConfirmedJob } from '../job-confirmation/confirmation.types.js';
import type { FailureReason } from '../network/network.types.js';

/** Where an executor writes the job's output; the job session ships it to GitLab as the trace. */
export interface TraceSink {
  write(chunk: string | Uint8Array): void;
}

/**
 * Why a job must stop, as its signal's `reason`: canceled in GitLab (an executor may still run the job's
 * `after_script`, as gitlab-runner does), gone from GitLab (nothing more will be reported), or the runner is shutting
 * down and stops its jobs.
 */
export type JobStopReason = 'canceled' | 'gone' | 'shutdown';

export interface ExecutionContext {
  /** Aborted when the job must stop; its `reason` is a {@link JobStopReason}. */
  readonly signal: AbortSignal;
  /**
   * The job's trace, already masked: the job session owns masking (masked variables, the job token and GitLab's
   * token prefixes become `[MASKED]`, even when split across writes), so an executor writes raw output and masks
   * nothing itself. Writes never wait on the network.
   */
  readonly trace: TraceSink;
}

/** How the job's script ended, as reported to GitLab in the final update. */
export type ExecutionResult =
  | { readonly kind: 'success' }
  | { readonly kind: 'failed'; readonly failureReason: FailureReason; readonly exitCode?: number };

/**
 * Runs a job. Takes only a {@link ConfirmedJob}: a job GitLab has not confirmed (or the policy has not skipped)
 * cannot be handed to an executor.
 */
export interface Executor {
  /** Resolves with the result; rejects only on a fault of the executor itself (reported as `runner_system_failure`). */
  execute(job: ConfirmedJob, context: ExecutionContext): Promise<ExecutionResult>;
  /**
   * Removes what the executor left behind for a job that ended without it — the runner was killed while the job ran
   * (a build folder, a VM). Called once at start-up for each such job. @default nothing to clean up
   */
  cleanUp?(jobId: number): Promise<void>;
}

/** The injection token of {@link Executor}. */
export const EXECUTOR: unique symbol = Symbol('Executor');
