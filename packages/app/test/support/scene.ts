import { FakeGitLab, type FakeGitLabOptions } from '@runner-core/adapter-fake';
import {
  CLOCK,
  type Clock,
  type ConfirmedJob,
  EXECUTOR,
  type ExecutionContext,
  type ExecutionResult,
  type Executor,
  noDelayRetryPolicy,
  Secret,
} from '@runner-core/core';
import { FakeClock, type ServerProfile } from '@runner-core/core/testing';
import type { DependencyContainer } from 'tsyringe';
import { type AppConfig, appConfig } from '../../src/config.js';
import { buildContainer, createRunLoop, FAKE_GITLAB } from '../../src/container.js';
import { EventRecorder } from '../../src/logging/event-observers.js';
import type { RunLoop, RunLoopOptions } from '../../src/runner/run-loop.js';

/** A pino destination that keeps every line (JSON), for assertions on logs. */
export class LogCapture {
  readonly lines: string[] = [];

  write(line: string): void {
    this.lines.push(line);
  }

  get text(): string {
    return this.lines.join('');
  }
}

/** What {@link ScriptedExecutor} does with a job. */
export interface ExecutorScript {
  /** Written to the trace first. @default 'hello from the test executor\n' */
  readonly output?: string;
  /** How long the job "runs", on the injected clock. @default 0 */
  readonly durationMs?: number;
  /** @default success */
  readonly result?: ExecutionResult;
}

/** An executor for scenario tests: writes output, takes its time on the injected clock, honours the abort signal. */
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

/** Options of {@link inMemoryScene}. */
export interface SceneOptions {
  readonly profile?: ServerProfile;
  readonly config?: Partial<AppConfig>;
  readonly gitlab?: Omit<FakeGitLabOptions, 'profile' | 'clock'>;
  readonly executor?: ExecutorScript;
}

/**
 * The runner against the in-memory fake GitLab, all on one {@link FakeClock}: the app's container with a child
 * container that swaps in the clock, the fake and a scripted executor.
 */
export function inMemoryScene(options: SceneOptions = {}) {
  const clock = new FakeClock();
  const gitlab = new FakeGitLab({ profile: options.profile ?? 'two-phase', clock, ...options.gitlab });
  const recorder = new EventRecorder();
  const ndjson: string[] = [];
  const logs = new LogCapture();
  const executor = new ScriptedExecutor(clock, options.executor);
  const parent = buildContainer(appConfig({ network: 'in-memory', json: true, logLevel: 'trace', ...options.config }), {
    observers: [recorder],
    writeEvent: (line) => ndjson.push(line),
    logDestination: logs,
  });
  const container: DependencyContainer = parent.createChildContainer();
  container.register(CLOCK, { useValue: clock });
  container.register(FAKE_GITLAB, { useValue: gitlab });
  container.register(EXECUTOR, { useValue: executor });
  const credentials = { token: new Secret(gitlab.runnerToken), systemId: 's_0123456789ab' };
  const loop = (overrides: Partial<RunLoopOptions> = {}): RunLoop =>
    createRunLoop(container, {
      credentials,
      checkIntervalMs: 1_000,
      traceIntervalMs: 500,
      retry: noDelayRetryPolicy,
      random: () => 0.5,
      ...overrides,
    });
  return { clock, gitlab, recorder, ndjson, logs, executor, container, credentials, loop };
}
