import type { Secret } from '@runner-core/core';
import type { AppConfig, LogLevel, SimProfile } from './app-config.js';

/** `runner-core run`: poll for jobs, confirm, execute, report. */
export interface RunConfig extends AppConfig {
  readonly command: 'run';
  readonly token: Secret;
  readonly systemId: string;
  /** Jobs handled at once. @default 1 */
  readonly concurrency: number;
  /** Milliseconds between job requests while none is queued. @default 3_000 */
  readonly checkIntervalMs: number;
  /** Handle one job (or none) and exit. @default false */
  readonly once: boolean;
  /** The state directory (journal and outbox). @default $XDG_STATE_HOME/runner-core or ~/.local/state/runner-core */
  readonly stateDir: string;
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
}

/** `runner-core demo`: the simulator and the runner in one process, through every scenario. */
export interface DemoConfig {
  readonly command: 'demo';
  readonly logLevel: LogLevel;
}

/** The configuration of any command. */
export type CommandConfig = RunConfig | ConfirmConfig | SimConfig | DemoConfig;
export type CommandName = CommandConfig['command'];
