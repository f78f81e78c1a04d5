import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
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
import { runChild } from './child-process.js';
import { jobEnvironment } from './job-environment.js';

/** Options of {@link ShellExecutor}. */
export interface ShellExecutorOptions {
  /** Where the per-job build directories are created. @default os.tmpdir() */
  readonly baseDir?: string;
  /** The bash binary. @default 'bash' */
  readonly bash?: string;
  /** Time between SIGTERM and SIGKILL when a job is stopped, in milliseconds. @default 5_000 */
  readonly killGraceMs?: number;
  /** Keep the build directory after the job (for debugging). @default false */
  readonly keepBuildDir?: boolean;
  /** @default systemClock */
  readonly clock?: Clock;
}

/** Build folders are `<base>/runner-core-job-<job id>-<random>`, so a restart finds what a killed runner left. */
const BUILD_DIR_PREFIX = 'runner-core-job-';

/** Quotes `text` for bash as one word. */
function shellQuote(text: string): string {
  return `'${text.replace(/'/g, `'\\''`)}'`;
}

/** The bash script of a job: strict mode, then each command echoed like a runner (`$ make test`) and run. */
export function shellScript(lines: readonly string[]): string {
  const parts = ['set -eo pipefail', ''];
  for (const line of lines) {
    // NOTE: green `$ command`, as gitlab-runner prints it; printf so that no character of the line is interpreted.
    parts.push(`printf '\\033[32;1m%s\\033[0;m\\n' ${shellQuote(`$ ${line}`)}`, line);
  }
  return `${parts.join('\n')}\n`;
}

/**
 * The minimal executor: runs the `script` step of a confirmed job with bash (`set -eo pipefail`, each command
 * echoed) in a fresh temporary build directory, with the job's variables in the environment. Output goes to the
 * trace as it comes (the job session masks it). Aborting the context's signal kills the process group.
 *
 * Results: exit 0 → `success`; otherwise `failed` with `script_failure` and the exit code; the job's timeout
 * (`runner_info.timeout`) → `failed` with `job_execution_timeout`; a payload without a `script` step → `failed`
 * with `runner_system_failure`. An aborted job reports `failed`/`script_failure`: the caller knows why it
 * aborted and reports its own reason.
 */
export class ShellExecutor implements Executor {
  readonly #options: ShellExecutorOptions;

  constructor(options: ShellExecutorOptions = {}) {
    this.#options = options;
  }

  /** Removes the build folders a job left behind when the runner was killed while it ran. */
  async cleanUp(jobId: number): Promise<void> {
    const baseDir = this.#options.baseDir ?? tmpdir();
    const prefix = `${BUILD_DIR_PREFIX}${jobId}-`;
    const names = await readdir(baseDir).catch(() => [] as string[]);
    for (const name of names) {
      if (name.startsWith(prefix)) await rm(join(baseDir, name), { recursive: true, force: true });
    }
  }

  async execute(job: ConfirmedJob, context: ExecutionContext): Promise<ExecutionResult> {
    const { trace } = context;
    const step = job.payload.steps?.find((candidate) => candidate.name === 'script');
    if (step === undefined) {
      trace.write('ERROR: the job payload has no "script" step\n');
      return { kind: 'failed', failureReason: 'runner_system_failure' };
    }
    const buildDir = await mkdtemp(join(this.#options.baseDir ?? tmpdir(), `${BUILD_DIR_PREFIX}${job.id}-`));
    try {
      const scriptPath = join(buildDir, '.runner-core-script.sh');
      await writeFile(scriptPath, shellScript(step.script), { mode: 0o600 });
      const env = await jobEnvironment(job.payload, buildDir);
      const timeoutSeconds = job.payload.runner_info?.timeout;
      trace.write(`Running with runner-core (shell executor) in ${buildDir}\n`);
      const exit = await runChild({
        command: this.#options.bash ?? 'bash',
        args: ['--noprofile', '--norc', scriptPath],
        cwd: buildDir,
        env,
        output: trace,
        signal: context.signal,
        clock: this.#options.clock ?? systemClock,
        ...(this.#options.killGraceMs === undefined ? {} : { killGraceMs: this.#options.killGraceMs }),
        ...(typeof timeoutSeconds === 'number' && timeoutSeconds > 0 ? { timeoutMs: timeoutSeconds * 1_000 } : {}),
      });
      if (exit.timedOut) {
        trace.write(`\nERROR: Job failed: execution took longer than ${timeoutSeconds} seconds\n`);
        return { kind: 'failed', failureReason: 'job_execution_timeout', exitCode: exit.exitCode };
      }
      if (exit.exitCode === 0 && !exit.aborted) {
        trace.write('\nJob succeeded\n');
        return { kind: 'success' };
      }
      trace.write(`\nERROR: Job failed: exit code ${exit.exitCode}\n`);
      return { kind: 'failed', failureReason: 'script_failure', exitCode: exit.exitCode };
    } finally {
      if (this.#options.keepBuildDir !== true) await rm(buildDir, { recursive: true, force: true });
    }
  }
}
