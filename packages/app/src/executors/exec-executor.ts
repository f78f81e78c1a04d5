import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import {
  type Clock,
  type ConfirmedJob,
  type ExecutionContext,
  type ExecutionResult,
  type Executor,
  systemClock,
} from '@runner-core/core';
import { jobPayloadToWire } from '@runner-core/core/wire';
import { makeBuildFolders, projectFolderOf, removeBuildFolders } from './build-folders.js';
import { runChild } from './child-process.js';
import { ConcurrencySlots } from './concurrency-slots.js';
import {
  appRunnerIdentity,
  environmentOf,
  jobVariables,
  type RunnerIdentity,
  withFileVariables,
} from './job-environment.js';

/** Options of {@link ExecExecutor}. */
export interface ExecExecutorOptions {
  /** The command line, run with `bash -c` (`--exec CMD`). */
  readonly command: string;
  /** Where the per-job build folders are made. @default os.tmpdir() */
  readonly baseDir?: string;
  /** Time between SIGTERM and SIGKILL when a job is stopped, in milliseconds. @default 5_000 */
  readonly killGraceMs?: number;
  /** The runner, for the `CI_RUNNER_*` variables. @default this app's version, no short token */
  readonly runner?: RunnerIdentity;
  /** @default systemClock */
  readonly clock?: Clock;
}

/**
 * Hands a confirmed job to an external program (`--executor exec --exec CMD`), for embedders who run jobs their
 * own way. The program is started with `bash -c CMD` in the job's project folder (a fresh build folder, laid out as
 * the shell executor lays it out) and gets:
 * - on stdin, the job payload as GitLab sent it (JSON, secrets revealed: it is the job's own data);
 * - in its environment, the job's variables and the predefined ones, as the shell executor sets them, and
 *   `RUNNER_CORE_JOB_ID`.
 *
 * Its stdout and stderr become the trace (the job session masks it). Exit 0 → `success`, otherwise
 * `failed`/`script_failure` with the exit code. Aborting the signal kills its process group. Secrets reach only
 * the child's stdin and environment; nothing here logs them.
 *
 * @throws {ExecutorError} when the build folder cannot be made or the program cannot be started (an environment
 *   larger than the operating system allows, for one: the message names the largest variable)
 */
export class ExecExecutor implements Executor {
  readonly #options: ExecExecutorOptions;
  readonly #slots = new ConcurrencySlots();

  constructor(options: ExecExecutorOptions) {
    if (options.command.trim().length === 0) throw new Error('ExecExecutor: command must not be empty');
    this.#options = options;
  }

  /** Removes the build folders a job left behind when the runner was killed while it ran. */
  cleanUp(jobId: number): Promise<void> {
    return removeBuildFolders(this.#options.baseDir ?? tmpdir(), jobId);
  }

  async execute(job: ConfirmedJob, context: ExecutionContext): Promise<ExecutionResult> {
    const slot = this.#slots.take(projectFolderOf(job.payload));
    const folders = await makeBuildFolders(this.#options.baseDir ?? tmpdir(), job.payload).catch((error: unknown) => {
      slot.release();
      throw error;
    });
    try {
      const variables = await withFileVariables(
        jobVariables(job.payload, {
          ...folders,
          concurrentId: slot.id,
          concurrentProjectId: slot.projectId,
          runner: this.#options.runner ?? appRunnerIdentity(),
        }),
        folders.tmpDir,
      );
      const exit = await runChild({
        command: 'bash',
        args: ['--noprofile', '--norc', '-c', this.#options.command],
        cwd: folders.projectDir,
        env: { ...environmentOf(variables), RUNNER_CORE_JOB_ID: String(job.id) },
        stdin: JSON.stringify(jobPayloadToWire(job.payload)),
        output: context.trace,
        signal: context.signal,
        clock: this.#options.clock ?? systemClock,
        ...(this.#options.killGraceMs === undefined ? {} : { killGraceMs: this.#options.killGraceMs }),
      });
      if (exit.exitCode === 0 && !exit.aborted) return { kind: 'success' };
      return { kind: 'failed', failureReason: 'script_failure', exitCode: exit.exitCode };
    } finally {
      await rm(folders.root, { recursive: true, force: true });
      slot.release();
    }
  }
}
