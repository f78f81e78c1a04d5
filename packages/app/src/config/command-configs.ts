import type { Secret } from '@runner-core/core';
import type { AppConfig, LogLevel, SimProfile } from './app-config.js';

/** One runner a `run` serves: where it asks for jobs, as whom, and how it runs them (one `[[runners]]` entry). */
export interface RunnerConfig extends AppConfig {
  /** How logs and metrics name this runner. @default the machine's host name (the file's `name`) */
  readonly name: string;
  readonly token: Secret;
  /** Jobs this runner handles at once (the process-wide `concurrent` applies too). */
  readonly limit: number;
}

/** `runner-core run`: poll for jobs, confirm, execute, report — for one runner (flags) or several (`--config`). */
export interface RunConfig {
  readonly command: 'run';
  readonly runners: readonly RunnerConfig[];
  /** Jobs handled at once, over all runners (gitlab-runner's `concurrent`). @default 1 */
  readonly concurrent: number;
  /** Milliseconds between job requests while none is queued. @default 3_000 */
  readonly checkIntervalMs: number;
  /** Handle one job (or none) per runner and exit. @default false */
  readonly once: boolean;
  /** Exit after this many jobs per runner (`--max-builds`). @default no limit */
  readonly maxBuilds?: number;
  /** Exit when no job came this long after the start (`--wait-timeout`), in milliseconds. @default wait for ever */
  readonly waitTimeoutMs?: number;
  /** How long a graceful stop may take before jobs are aborted, in milliseconds. @default no bound */
  readonly shutdownTimeoutMs?: number;
  /** Where `/metrics` and `/health/*` are served. @default not served */
  readonly listenAddress?: { readonly host: string; readonly port: number };
  readonly logLevel: LogLevel;
  readonly json: boolean;
  readonly systemId: string;
  /** The state directory (journal and outbox). @default $XDG_STATE_HOME/runner-core or ~/.local/state/runner-core */
  readonly stateDir: string;
  /** What the configuration file had that runner-core ignores, one line each (logged at start). */
  readonly warnings: readonly string[];
}

/** `runner-core verify`: whether GitLab knows each runner's token. */
export interface VerifyConfig {
  readonly command: 'verify';
  readonly runners: readonly RunnerConfig[];
  readonly systemId: string;
  readonly logLevel: LogLevel;
}

/** `runner-core confirm`: confirm one job received by another tool. */
export interface ConfirmConfig extends AppConfig {
  readonly command: 'confirm';
  readonly jobId: number;
  readonly jobToken: Secret;
  /** Run with `bash -c` while keep-alives go out; a failing command declines the job. */
  readonly prepare?: string;
}

/** `runner-core sim`: the fake GitLab over HTTP on 127.0.0.1. */
export interface SimConfig {
  readonly command: 'sim';
  /** 0 picks a free port. @default 4747 */
  readonly port: number;
  /** @default 'two-phase' */
  readonly profile: SimProfile;
  /** Jobs queued at start. @default 3 */
  readonly jobs: number;
  /** @default 120_000 */
  readonly ackWindowMs: number;
  /** The runner token the fake accepts. @default a new one each start */
  readonly token?: Secret;
}

/** `runner-core demo`: the simulator and the runner in one process, through every scenario. */
export interface DemoConfig {
  readonly command: 'demo';
  readonly logLevel: LogLevel;
}

/** The configuration of any command. */
export type CommandConfig = RunConfig | VerifyConfig | ConfirmConfig | SimConfig | DemoConfig;
export type CommandName = CommandConfig['command'];
