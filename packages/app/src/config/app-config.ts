import type { ConfirmPolicy, JobConfirmationOptions, StrategyChoice } from '@runner-core/core';

/** pino's levels, plus `silent`. */
export const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

/** Which `Network` adapter the container builds: `http` (axios, a real GitLab) or `in-memory` (the fake). */
export type NetworkChoice = 'http' | 'in-memory';

/** Which executor runs confirmed jobs: `shell` (bash, the job's script) or `exec` (`--exec CMD`, the payload). */
export type ExecutorChoice = 'shell' | 'exec';

/** The server profiles of the fake GitLab (`runner-core sim --profile`). */
export const SIM_PROFILES = ['legacy', 'two-phase', 'runner-status'] as const;
export type SimProfile = (typeof SIM_PROFILES)[number];

/**
 * What the composition root needs to build the runner (see `buildContainer`). Frozen; every field has a default in
 * {@link appConfig}.
 */
export interface AppConfig {
  /** @default 'http' */
  readonly network: NetworkChoice;
  /** GitLab's URL (`network: 'http'`). @default '' (required with `http`) */
  readonly url: string;
  /** A PEM file of extra certificate authorities for GitLab's TLS certificate. */
  readonly tlsCaFile?: string;
  /** A PEM client certificate for mutual TLS (with `tlsKeyFile`). */
  readonly tlsCertFile?: string;
  /** The PEM key of `tlsCertFile`. */
  readonly tlsKeyFile?: string;
  /** Where the executors make build folders. @default os.tmpdir() */
  readonly buildsDir?: string;
  /** A job log's size limit, in bytes. @default 4 MiB */
  readonly outputLimitBytes?: number;
  /** @default 'info' */
  readonly logLevel: LogLevel;
  /** Print the runner's events as NDJSON on stdout. @default false */
  readonly json: boolean;
  /** @default 'shell' */
  readonly executor: ExecutorChoice;
  /** The command of the `exec` executor (run with `bash -c`). */
  readonly exec?: string;
  /** @default 'auto' */
  readonly strategy: StrategyChoice;
  /** @default 'auto' */
  readonly confirm: ConfirmPolicy;
  /** Milliseconds between keep-alives while a job is prepared. @default 30_000 */
  readonly keepAliveIntervalMs: number;
  /** Send one keep-alive before confirming, so the server's mode is known. @default false */
  readonly probe: boolean;
  /** How long GitLab holds an unconfirmed job, in milliseconds. @default 120_000 */
  readonly ackWindowMs: number;
  /** Finer `JobConfirmation` settings no flag exposes (embedders, tests, the demo). @default core's defaults */
  readonly confirmationTuning?: Pick<
    JobConfirmationOptions,
    'deadlineMarginMs' | 'prepareTimeoutMs' | 'retry' | 'random'
  >;
}

/** A complete, frozen {@link AppConfig}: the defaults, then `overrides`. */
export function appConfig(overrides: Partial<AppConfig> = {}): AppConfig {
  return Object.freeze({
    network: 'http',
    url: '',
    logLevel: 'info',
    json: false,
    executor: 'shell',
    strategy: 'auto',
    confirm: 'auto',
    keepAliveIntervalMs: 30_000,
    probe: false,
    ackWindowMs: 120_000,
    ...overrides,
  } satisfies AppConfig);
}
