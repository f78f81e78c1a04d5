import { rm, writeFile } from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  type Clock,
  type ConfirmedJob,
  type ExecutionContext,
  type ExecutionResult,
  type Executor,
  type JobStep,
  sectionEnd,
  sectionStart,
  systemClock,
  type TraceSink,
} from '@runner-core/core';
import { parseDuration } from '../config/duration.js';
import { type BuildFolders, makeBuildFolders, projectFolderOf, removeBuildFolders } from './build-folders.js';
import { type ChildExit, runChild } from './child-process.js';
import { ConcurrencySlots } from './concurrency-slots.js';
import {
  appRunnerIdentity,
  inheritedEnvironment,
  jobVariables,
  type RunnerIdentity,
  withFileVariables,
} from './job-environment.js';
import { exportScript, shellScript } from './shell-script.js';

/** Options of {@link ShellExecutor}. */
export interface ShellExecutorOptions {
  /** Where the per-job build folders are made. @default os.tmpdir() */
  readonly baseDir?: string;
  /** The bash binary. @default 'bash' */
  readonly bash?: string;
  /** Time between SIGTERM and SIGKILL when a step is stopped, in milliseconds. @default 5_000 */
  readonly killGraceMs?: number;
  /** Keep the build folder after the job (for debugging). @default false */
  readonly keepBuildDir?: boolean;
  /** The runner, for the `CI_RUNNER_*` variables. @default this app's version, no short token */
  readonly runner?: RunnerIdentity;
  /** @default systemClock */
  readonly clock?: Clock;
}

/** gitlab-runner's default bound of an after_script (`RUNNER_AFTER_SCRIPT_TIMEOUT` changes it). */
export const DEFAULT_AFTER_SCRIPT_TIMEOUT_MS = 5 * 60_000;

/** How the steps before after_script ended. */
type StepsOutcome =
  | { readonly kind: 'success' }
  | { readonly kind: 'failed'; readonly exitCode: number }
  | { readonly kind: 'timed-out'; readonly exitCode: number; readonly message: string }
  | { readonly kind: 'aborted'; readonly exitCode: number };

/** The section name of a step: `step_script`, `step_release`, … (GitLab accepts `[a-z0-9_.-]`). */
const stageOf = (step: JobStep): string => `step_${step.name.toLowerCase().replace(/[^a-z0-9_.-]/g, '_')}`;

/**
 * Runs jobs on this machine with bash, as gitlab-runner's shell executor does (docs/gitlab-protocol.md §3.4):
 *
 * - a fresh build folder per job: `CI_BUILDS_DIR` and `CI_PROJECT_DIR` inside it, file variables and scripts in
 *   `<project>.tmp`; the folder is removed afterwards (and at start-up, for a job a killed runner left);
 * - the job's variables and gitlab-runner's predefined ones (`CI_BUILDS_DIR`, `CI_PROJECT_DIR`, `CI_CONCURRENT_ID`,
 *   `CI_SERVER`, `CI_JOB_STATUS`, `CI_RUNNER_*`, …), expanded as gitlab-runner expands them, sourced from a file
 *   (so a variable larger than the operating system's environment limit still works); nothing else of the runner's
 *   environment but `PATH`, `HOME`, `LANG` and a few like them;
 * - the steps in order (`script` — GitLab's before_script and script — then any other), each in strict mode with
 *   its commands echoed, under its own `timeout` and the job's (`runner_info.timeout`), each in a collapsible section
 *   of the trace; a step's `when` (`on_success`, `on_failure`, `always`; an unknown one counts as `on_success`) says
 *   whether it runs after a failure;
 * - then `after_script`, whatever happened (failure, timeout, cancel), with `CI_JOB_STATUS` set to `success`,
 *   `failed` or `canceled` and a bound of its own (`RUNNER_AFTER_SCRIPT_TIMEOUT`, 5 minutes by default); its failure
 *   does not change the job's result. It does not run when the runner shuts down or GitLab dropped the job.
 *
 * Output goes to the trace as it comes (the job session masks it). Aborting the context's signal stops the running
 * step's whole process group (SIGTERM, SIGKILL after the grace period).
 *
 * Results: every step passed → `success`; a failing step → `failed`/`script_failure` with its exit code; the job's or
 * a step's timeout → `failed`/`job_execution_timeout`; no `script` step → `failed`/`runner_system_failure`. An aborted
 * job reports `failed`/`script_failure`: the job session knows why it aborted and reports its own reason.
 *
 * @throws {ExecutorError} when the build folder cannot be made or bash cannot be started
 */
export class ShellExecutor implements Executor {
  readonly #options: ShellExecutorOptions;
  readonly #slots = new ConcurrencySlots();

  constructor(options: ShellExecutorOptions = {}) {
    this.#options = options;
  }

  /** Removes the build folders a job left behind when the runner was killed while it ran. */
  cleanUp(jobId: number): Promise<void> {
    return removeBuildFolders(this.#baseDir, jobId);
  }

  async execute(job: ConfirmedJob, context: ExecutionContext): Promise<ExecutionResult> {
    const { trace } = context;
    const steps = job.payload.steps ?? [];
    if (!steps.some((step) => step.name === 'script')) {
      trace.write('ERROR: the job payload has no "script" step\n');
      return { kind: 'failed', failureReason: 'runner_system_failure' };
    }
    const clock = this.#clock;
    trace.write(sectionStart('prepare_executor', 'Preparing the "shell" executor', clock.now()));
    trace.write(`Using Shell (bash) executor with runner-core ${this.#runner.version}...\n`);
    trace.write(sectionEnd('prepare_executor', clock.now()));
    const slot = this.#slots.take(projectFolderOf(job.payload));
    let folders: BuildFolders | undefined;
    try {
      trace.write(sectionStart('prepare_script', 'Preparing environment', clock.now()));
      folders = await makeBuildFolders(this.#baseDir, job.payload);
      trace.write(`Running on ${hostname()}...\n`);
      const variables = await withFileVariables(
        jobVariables(job.payload, {
          ...folders,
          concurrentId: slot.id,
          concurrentProjectId: slot.projectId,
          runner: this.#runner,
        }),
        folders.tmpDir,
      );
      const variablesFile = join(folders.tmpDir, 'variables.sh');
      await writeFile(variablesFile, exportScript(variables), { mode: 0o600 });
      trace.write(sectionEnd('prepare_script', clock.now()));

      const run = new StepRunner(this.#options, clock, folders, variablesFile, trace);
      const outcome = await run.steps(
        steps.filter((step) => step.name !== 'after_script'),
        job.payload.runner_info?.timeout,
        context.signal,
      );
      const afterScript = steps.find((step) => step.name === 'after_script');
      if (afterScript !== undefined && afterScript.script.length > 0) {
        const timeout = variables.find((variable) => variable.key === 'RUNNER_AFTER_SCRIPT_TIMEOUT')?.value;
        await run.afterScript(afterScript, outcome, timeout, context.signal);
      }
      return resultOf(outcome, trace);
    } finally {
      if (folders !== undefined) await this.#removeFolders(folders, trace);
      slot.release();
    }
  }

  async #removeFolders(folders: BuildFolders, trace: TraceSink): Promise<void> {
    const clock = this.#clock;
    trace.write(
      sectionStart('cleanup_file_variables', 'Cleaning up project directory and file based variables', clock.now()),
    );
    if (this.#options.keepBuildDir === true) trace.write(`Keeping the build folder ${folders.root}\n`);
    else await rm(folders.root, { recursive: true, force: true });
    trace.write(sectionEnd('cleanup_file_variables', clock.now()));
  }

  get #baseDir(): string {
    return this.#options.baseDir ?? tmpdir();
  }

  get #clock(): Clock {
    return this.#options.clock ?? systemClock;
  }

  get #runner(): RunnerIdentity {
    return this.#options.runner ?? appRunnerIdentity();
  }
}

/** Runs the steps of one job, each as its own bash process. */
class StepRunner {
  readonly #options: ShellExecutorOptions;
  readonly #clock: Clock;
  readonly #folders: BuildFolders;
  readonly #variablesFile: string;
  readonly #trace: TraceSink;

  constructor(
    options: ShellExecutorOptions,
    clock: Clock,
    folders: BuildFolders,
    variablesFile: string,
    trace: TraceSink,
  ) {
    this.#options = options;
    this.#clock = clock;
    this.#folders = folders;
    this.#variablesFile = variablesFile;
    this.#trace = trace;
  }

  /** The steps before after_script, in order, within the job's timeout (seconds; none when absent or 0). */
  async steps(steps: readonly JobStep[], jobTimeout: number | undefined, signal: AbortSignal): Promise<StepsOutcome> {
    const jobDeadline = jobTimeout !== undefined && jobTimeout > 0 ? this.#clock.now() + jobTimeout * 1_000 : undefined;
    let outcome: StepsOutcome = { kind: 'success' };
    for (const step of steps) {
      if (!runsAfter(step, outcome) || signal.aborted) continue;
      const stepDeadline =
        step.timeout !== undefined && step.timeout > 0 ? this.#clock.now() + step.timeout * 1_000 : undefined;
      const deadline = Math.min(jobDeadline ?? Number.POSITIVE_INFINITY, stepDeadline ?? Number.POSITIVE_INFINITY);
      const stage = stageOf(step);
      this.#trace.write(sectionStart(stage, `Executing "${stage}" stage of the job script`, this.#clock.now()));
      const exit = await this.#run(step.script, {}, signal, deadline);
      this.#trace.write(sectionEnd(stage, this.#clock.now()));
      if (exit.aborted) return { kind: 'aborted', exitCode: exit.exitCode };
      if (exit.timedOut) {
        const message =
          deadline === jobDeadline
            ? `execution took longer than ${jobTimeout} seconds`
            : `step ${step.name} took longer than its timeout of ${step.timeout} seconds`;
        return { kind: 'timed-out', exitCode: exit.exitCode, message };
      }
      if (exit.exitCode === 0) continue;
      if (step.allow_failure === true) {
        this.#trace.write(`WARNING: step ${step.name} failed (exit code ${exit.exitCode}), which it is allowed to\n`);
        continue;
      }
      if (outcome.kind === 'success') outcome = { kind: 'failed', exitCode: exit.exitCode };
    }
    return outcome;
  }

  /** The after_script: after anything but a shutdown or a job gone from GitLab, with its own bound. */
  async afterScript(
    step: JobStep,
    outcome: StepsOutcome,
    configuredTimeout: string | undefined,
    signal: AbortSignal,
  ): Promise<void> {
    const reason: unknown = signal.reason;
    if (signal.aborted && reason !== 'canceled') {
      this.#trace.write(`Skipping after_script: the job stopped (${String(reason)})\n`);
      return;
    }
    let timeoutMs = DEFAULT_AFTER_SCRIPT_TIMEOUT_MS;
    if (configuredTimeout !== undefined && configuredTimeout.trim() !== '') {
      const parsed = parseDuration(configuredTimeout);
      if (parsed === undefined) {
        this.#trace.write(`WARNING: ignoring malformed RUNNER_AFTER_SCRIPT_TIMEOUT: ${configuredTimeout}\n`);
      } else if (parsed > 0) timeoutMs = parsed;
    }
    const status = outcome.kind === 'success' ? 'success' : outcome.kind === 'aborted' ? 'canceled' : 'failed';
    this.#trace.write(sectionStart('after_script', 'Running after_script', this.#clock.now()));
    // NOTE: its own signal: the job's may already be aborted (a cancel), and the after_script still runs.
    const exit = await this.#run(
      step.script,
      { CI_JOB_STATUS: status },
      new AbortController().signal,
      this.#clock.now() + timeoutMs,
    );
    this.#trace.write(sectionEnd('after_script', this.#clock.now()));
    if (exit.timedOut) {
      this.#trace.write(`WARNING: after_script timed out after ${timeoutMs / 1_000} seconds; the job goes on\n`);
    } else if (exit.exitCode !== 0) {
      this.#trace.write(`WARNING: after_script failed, but job will continue unaffected: exit code ${exit.exitCode}\n`);
    }
  }

  async #run(
    commands: readonly string[],
    overrides: Readonly<Record<string, string>>,
    signal: AbortSignal,
    deadline: number,
  ): Promise<ChildExit> {
    const scriptPath = join(this.#folders.tmpDir, 'step.sh');
    const script = shellScript(commands, {
      variablesFile: this.#variablesFile,
      overrides,
      workDir: this.#folders.projectDir,
    });
    await writeFile(scriptPath, script, { mode: 0o600 });
    const remaining = deadline - this.#clock.now();
    return runChild({
      command: this.#options.bash ?? 'bash',
      args: ['--noprofile', '--norc', scriptPath],
      cwd: this.#folders.projectDir,
      env: inheritedEnvironment(),
      output: this.#trace,
      signal,
      clock: this.#clock,
      ...(this.#options.killGraceMs === undefined ? {} : { killGraceMs: this.#options.killGraceMs }),
      ...(Number.isFinite(remaining) ? { timeoutMs: Math.max(0, remaining) } : {}),
    });
  }
}

/** Whether a step runs after what ran before it (an unknown `when` counts as `on_success`). */
function runsAfter(step: JobStep, outcome: StepsOutcome): boolean {
  switch (step.when) {
    case 'always':
      return true;
    case 'on_failure':
      return outcome.kind === 'failed';
    default:
      return outcome.kind === 'success';
  }
}

function resultOf(outcome: StepsOutcome, trace: TraceSink): ExecutionResult {
  switch (outcome.kind) {
    case 'success':
      trace.write('\nJob succeeded\n');
      return { kind: 'success' };
    case 'timed-out':
      trace.write(`\nERROR: Job failed: ${outcome.message}\n`);
      return { kind: 'failed', failureReason: 'job_execution_timeout', exitCode: outcome.exitCode };
    case 'failed':
    case 'aborted':
      trace.write(`\nERROR: Job failed: exit code ${outcome.exitCode}\n`);
      return { kind: 'failed', failureReason: 'script_failure', exitCode: outcome.exitCode };
    default: {
      const unreachable: never = outcome;
      throw new Error(`unknown steps outcome ${JSON.stringify(unreachable)}`);
    }
  }
}
