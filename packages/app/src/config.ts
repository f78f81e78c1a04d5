import type { ConfirmPolicy, JobConfirmationOptions, Secret, StrategyChoice } from '@runner-core/core';
import type { FlagTable } from './config/flag-spec.js';
import {
  booleanValue,
  choiceValue,
  durationValue,
  httpUrlValue,
  integerValue,
  secretValue,
  systemIdValue,
  textValue,
} from './config/flag-values.js';
import { ConfigError, type Environment, readFlags } from './config/read-flags.js';
import { deriveSystemId } from './system-id.js';

export { ConfigError, type Environment } from './config/read-flags.js';

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
  readonly keepAliveMs: number;
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
    keepAliveMs: 30_000,
    probe: false,
    ackWindowMs: 120_000,
    ...overrides,
  } satisfies AppConfig);
}

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

const logLevelFlag = {
  kind: 'string',
  valueName: 'LEVEL',
  description: `log level on stderr: ${LOG_LEVELS.join(', ')}`,
  default: 'info',
  value: choiceValue(LOG_LEVELS),
} as const;

const strategyFlag = {
  kind: 'string',
  valueName: 'S',
  description:
    'confirmation wire form: auto (runner-status when the job asks for it, else state-put), state-put, runner-status',
  default: 'auto',
  value: choiceValue(['auto', 'state-put', 'runner-status'] as const),
} as const;

const urlFlag = {
  kind: 'string',
  valueName: 'URL',
  description: 'GitLab instance URL (http or https)',
  required: true,
  value: httpUrlValue,
} as const;

const keepAliveFlag = {
  kind: 'string',
  valueName: 'DUR',
  description: 'time between keep-alives while a job is prepared (capped at a third of the ack window)',
  default: '30s',
  value: durationValue(),
} as const;

const jsonFlag = {
  kind: 'boolean',
  description: 'print events as NDJSON on stdout (one JSON object per line)',
  default: 'false',
  value: booleanValue,
} as const;

const tlsCaFileFlag = {
  kind: 'string',
  valueName: 'FILE',
  description: 'PEM file of extra certificate authorities for GitLab',
  value: textValue,
} as const;

/** The flags of `runner-core run`. */
export const runFlags = {
  url: urlFlag,
  token: {
    kind: 'string',
    valueName: 'TOKEN',
    description: 'runner authentication token (glrt-…); logged only in short form',
    required: true,
    secret: true,
    value: secretValue,
  },
  strategy: strategyFlag,
  confirm: {
    kind: 'string',
    valueName: 'POLICY',
    description: 'when to confirm: auto, always, when-requested, off',
    default: 'auto',
    value: choiceValue(['auto', 'always', 'when-requested', 'off'] as const),
  },
  concurrency: {
    kind: 'string',
    valueName: 'N',
    description: 'jobs handled at once',
    default: '1',
    value: integerValue(1),
  },
  checkInterval: {
    kind: 'string',
    valueName: 'DUR',
    description: 'time between job requests while none is queued (after a job: at once)',
    default: '3s',
    value: durationValue(),
  },
  keepAlive: keepAliveFlag,
  probe: {
    kind: 'boolean',
    description: 'send one keep-alive before confirming, so the server mode is known (one extra request)',
    default: 'false',
    value: booleanValue,
  },
  once: {
    kind: 'boolean',
    description: 'handle one job, or none when none is queued, then exit',
    default: 'false',
    value: booleanValue,
  },
  executor: {
    kind: 'string',
    valueName: 'E',
    description: 'shell (bash runs the job script) or exec (--exec CMD gets the job payload)',
    default: 'shell',
    value: choiceValue(['shell', 'exec'] as const),
  },
  exec: {
    kind: 'string',
    valueName: 'CMD',
    description: 'command of the exec executor (bash -c); required with --executor exec',
    value: textValue,
  },
  json: jsonFlag,
  logLevel: logLevelFlag,
  tlsCaFile: tlsCaFileFlag,
  systemId: {
    kind: 'string',
    valueName: 'ID',
    description: 'runner-manager id sent as system_id',
    defaultHelp: 's_ + 12 hex derived from this machine',
    value: systemIdValue,
  },
} as const satisfies FlagTable;

/** The flags of `runner-core confirm`. */
export const confirmFlags = {
  url: urlFlag,
  jobId: {
    kind: 'string',
    valueName: 'ID',
    description: 'id of the job to confirm',
    required: true,
    value: integerValue(1),
  },
  jobToken: {
    kind: 'string',
    valueName: 'TOKEN',
    description: 'the job token (JOB-TOKEN); never printed',
    required: true,
    secret: true,
    value: secretValue,
  },
  strategy: strategyFlag,
  keepAlive: keepAliveFlag,
  prepare: {
    kind: 'string',
    valueName: 'CMD',
    description: 'run CMD (bash -c) while keep-alives go out, then confirm; a failing CMD declines the job',
    value: textValue,
  },
  json: jsonFlag,
  logLevel: logLevelFlag,
  tlsCaFile: tlsCaFileFlag,
} as const satisfies FlagTable;

/** The flags of `runner-core sim`. */
export const simFlags = {
  port: {
    kind: 'string',
    valueName: 'P',
    description: 'TCP port on 127.0.0.1 (0 picks a free one)',
    default: '4747',
    value: integerValue(0, 65_535),
  },
  profile: {
    kind: 'string',
    valueName: 'NAME',
    description: `server behaviour: ${SIM_PROFILES.join(', ')}`,
    default: 'two-phase',
    value: choiceValue(SIM_PROFILES),
  },
  jobs: {
    kind: 'string',
    valueName: 'N',
    description: 'jobs queued at start',
    default: '3',
    value: integerValue(0, 10_000),
  },
  ackWindow: {
    kind: 'string',
    valueName: 'DUR',
    description: 'how long the server holds an unconfirmed job',
    default: '2m',
    value: durationValue(),
  },
} as const satisfies FlagTable;

/** The flags of `runner-core demo`. */
export const demoFlags = {
  logLevel: { ...logLevelFlag, default: 'error' },
} as const satisfies FlagTable;

/** Every command with its one-line summary, usage and flags (the help texts are built from this). */
export const COMMANDS = {
  run: {
    summary: 'poll GitLab for jobs, confirm each, run it, report the result',
    usage: 'runner-core run --url URL --token TOKEN [flags]',
    flags: runFlags,
  },
  confirm: {
    summary: 'confirm one job received by another tool; exit 0 only when confirmed',
    usage: 'runner-core confirm --url URL --job-id ID --job-token TOKEN [flags]',
    flags: confirmFlags,
  },
  sim: {
    summary:
      'serve the fake GitLab on 127.0.0.1 and print its URL and runner token (a fake: printing its token is the point)',
    usage: 'runner-core sim [flags]',
    flags: simFlags,
  },
  demo: {
    summary: 'simulator and runner in one process over real HTTP, through every scenario, then a table of outcomes',
    usage: 'runner-core demo',
    flags: demoFlags,
  },
} as const;

/** What the command line asked for: a command's help, or a command with its frozen configuration. */
export type CommandLine =
  | { readonly kind: 'help'; readonly command?: CommandName }
  | { readonly kind: 'version' }
  | { readonly kind: 'command'; readonly config: CommandConfig };

/** Whether `name` is a command. */
export function isCommandName(name: string): name is CommandName {
  return Object.hasOwn(COMMANDS, name);
}

/**
 * Parses the whole command line (`argv` without `node` and the script) once: flags, then `RUNNER_CORE_<FLAG>`
 * variables, then defaults.
 *
 * @throws {ConfigError} one line naming the flag or variable that was wrong.
 */
export function parseCommandLine(argv: readonly string[], env: Environment): CommandLine {
  const [first, ...rest] = argv;
  if (first === undefined) throw new ConfigError('missing command (see runner-core --help)');
  if (first === '--help' || first === '-h') return { kind: 'help' };
  if (first === '--version') return { kind: 'version' };
  if (first === 'help') {
    const [topic] = rest;
    if (topic === undefined) return { kind: 'help' };
    if (!isCommandName(topic))
      throw new ConfigError(`unknown command ${JSON.stringify(topic)} (see runner-core --help)`);
    return { kind: 'help', command: topic };
  }
  if (first.startsWith('-')) throw new ConfigError(`${first}: expected a command first (see runner-core --help)`);
  if (!isCommandName(first)) throw new ConfigError(`unknown command ${JSON.stringify(first)} (see runner-core --help)`);
  const config = loadConfig(first, rest, env);
  return config === 'help' ? { kind: 'help', command: first } : { kind: 'command', config };
}

/**
 * Parses one command's flags into its frozen configuration, or `'help'` when `--help` was given.
 *
 * @throws {ConfigError} one line naming the flag or variable that was wrong.
 */
export function loadConfig(command: CommandName, argv: readonly string[], env: Environment): CommandConfig | 'help' {
  switch (command) {
    case 'run': {
      const reading = readFlags(command, runFlags, argv, env, (values) =>
        values.executor === 'exec' && values.exec === undefined ? ['exec', 'required with --executor exec'] : undefined,
      );
      if (reading.kind === 'help') return 'help';
      const { systemId, keepAlive, checkInterval, ...values } = reading.values;
      return Object.freeze({
        ...appConfig(),
        ...values,
        command,
        keepAliveMs: keepAlive,
        checkIntervalMs: checkInterval,
        systemId: systemId ?? deriveSystemId(),
      } satisfies RunConfig);
    }
    case 'confirm': {
      const reading = readFlags(command, confirmFlags, argv, env);
      if (reading.kind === 'help') return 'help';
      const { keepAlive, ...values } = reading.values;
      return Object.freeze({ ...appConfig(), ...values, command, keepAliveMs: keepAlive } satisfies ConfirmConfig);
    }
    case 'sim': {
      const reading = readFlags(command, simFlags, argv, env);
      if (reading.kind === 'help') return 'help';
      const { ackWindow, ...values } = reading.values;
      return Object.freeze({ ...values, command, ackWindowMs: ackWindow } satisfies SimConfig);
    }
    case 'demo': {
      const reading = readFlags(command, demoFlags, argv, env);
      if (reading.kind === 'help') return 'help';
      return Object.freeze({ ...reading.values, command } satisfies DemoConfig);
    }
    default: {
      const unreachable: never = command;
      throw new ConfigError(`unknown command ${JSON.stringify(unreachable)}`);
    }
  }
}
