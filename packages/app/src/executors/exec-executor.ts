import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  type Clock,
  type ConfirmedJob,
  type ExecutionContext,
  type ExecutionResult,
  type Executor,
  systemClock,
} from '@runner-core/core';
import { jobPayloadToWire } from '@runner-core/core/wire';
import { runChild } from './child-process.js';
import { jobEnvironment } from './job-environment.js';

/** Options of {@link ExecExecutor}. */
export interface ExecExecutorOptions {
  /** The command line, run with `bash -c` (`--exec CMD`). */
  readonly command: string;
  /** Where the per-job working directories are created. @default os.tmpdir() */
  readonly baseDir?: string;
  /** Time between SIGTERM and SIGKILL when a job is stopped, in milliseconds. @default 5_000 */
  readonly killGraceMs?: number;
  /** @default systemClock */
  readonly clock?: Clock;
}

/**
 * Hands a confirmed job to an external program (`--executor exec --exec CMD`), for embedders who run jobs their
 * own way. The program is started with `bash -c CMD` in a fresh temporary directory and gets:
 * - on stdin, the job payload as GitLab sent it (JSON, secrets revealed: it is the job's own data);
 * - in its environment, the job's variables (as the shell executor sets them) and `RUNNER_CORE_JOB_ID`.
 *
 * Its stdout and stderr become the trace (the job session masks it). Exit 0 → `success`, otherwise
 * `failed`/`script_failure` with the exit code. Aborting the signal kills its process group. Secrets reach only
 * the child's stdin and environment; nothing here logs them.
 */
export class ExecExecutor implements Executor {
  readonly #options: ExecExecutorOptions;

  constructor(options: ExecExecutorOptions) {
    if (options.command.trim().length === 0) throw new Error('ExecExecutor: command must not be empty');
    this.#options = options;
  }

  async execute(job: ConfirmedJob, context: ExecutionContext): Promise<ExecutionResult> {
    const workDir = await mkdtemp(join(this.#options.baseDir ?? tmpdir(), `runner-core-exec-${job.id}-`));
    try {
      const env = { ...(await jobEnvironment(job.payload, workDir)), RUNNER_CORE_JOB_ID: String(job.id) };
      const exit = await runChild({
        command: 'bash',
        args: ['--noprofile', '--norc', '-c', this.#options.command],
        cwd: workDir,
        env,
        stdin: JSON.stringify(jobPayloadToWire(job.payload)),
        output: context.trace,
        signal: context.signal,
        clock: this.#options.clock ?? systemClock,
        ...(this.#options.killGraceMs === undefined ? {} : { killGraceMs: this.#options.killGraceMs }),
      });
      if (exit.exitCode === 0 && !exit.aborted) return { kind: 'success' };
      return { kind: 'failed', failureReason: 'script_failure', exitCode: exit.exitCode };
    } finally {
      await rm(workDir, { recursive: true, force: true });
    }
  }
}
