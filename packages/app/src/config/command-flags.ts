import { LOG_LEVELS, SIM_PROFILES } from './app-config.js';
import type { FlagTable } from './flag-spec.js';
import {
  booleanValue,
  choiceValue,
  durationValue,
  httpUrlValue,
  integerValue,
  listenAddressValue,
  secretValue,
  systemIdValue,
  textValue,
} from './flag-values.js';

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

/** The flags of `runner-core run`; `--config` reads gitlab-runner's `config.toml` instead of the runner flags. */
export const runFlags = {
  config: {
    kind: 'string',
    valueName: 'FILE',
    description:
      "gitlab-runner's config.toml (the keys that apply: concurrent, check_interval, shutdown_timeout, listen_address, log_level, [[runners]]); replaces the runner flags",
    value: textValue,
  },
  url: {
    kind: 'string',
    valueName: 'URL',
    value: httpUrlValue,
    description: 'GitLab instance URL (http or https); required without --config',
    envAliases: ['CI_SERVER_URL'],
  },
  token: {
    kind: 'string',
    valueName: 'TOKEN',
    description: 'runner authentication token (glrt-…); logged only in short form; required without --config',
    secret: true,
    envAliases: ['CI_SERVER_TOKEN'],
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
    description: "jobs handled at once, over all runners (config.toml's concurrent)",
    defaultHelp: '1, or concurrent from --config',
    value: integerValue(1),
  },
  checkInterval: {
    kind: 'string',
    valueName: 'DUR',
    description: 'time between job requests while none is queued (after a job: at once)',
    defaultHelp: '3s, or check_interval from --config',
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
  maxBuilds: {
    kind: 'string',
    valueName: 'N',
    description: 'exit after N jobs (per runner), as gitlab-runner run-single',
    value: integerValue(1),
  },
  waitTimeout: {
    kind: 'string',
    valueName: 'DUR',
    description: 'exit when no job came within DUR of the start, as gitlab-runner run-single',
    value: durationValue(),
  },
  shutdownTimeout: {
    kind: 'string',
    valueName: 'DUR',
    description: 'how long a graceful stop (SIGQUIT, or the first SIGINT/SIGTERM) may take before jobs are aborted',
    defaultHelp: 'no bound, or shutdown_timeout from --config',
    value: durationValue(),
  },
  listenAddress: {
    kind: 'string',
    valueName: 'HOST:PORT',
    description: 'serve Prometheus metrics (/metrics) and health checks (/health/live, /health/ready) here',
    defaultHelp: 'off, or listen_address from --config',
    value: listenAddressValue,
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
  buildsDir: {
    kind: 'string',
    valueName: 'DIR',
    description: 'where build folders are made (one per job, removed afterwards)',
    defaultHelp: 'the system temporary folder',
    value: textValue,
  },
  json: jsonFlag,
  logLevel: {
    ...logLevelFlag,
    default: undefined,
    defaultHelp: 'info, or log_level from --config',
  },
  tlsCaFile: { ...tlsCaFileFlag, envAliases: ['CI_SERVER_TLS_CA_FILE'] },
  tlsCertFile: {
    kind: 'string',
    valueName: 'FILE',
    description: 'PEM client certificate for GitLab (mutual TLS; with --tls-key-file)',
    envAliases: ['CI_SERVER_TLS_CERT_FILE'],
    value: textValue,
  },
  tlsKeyFile: {
    kind: 'string',
    valueName: 'FILE',
    description: 'PEM key of --tls-cert-file',
    envAliases: ['CI_SERVER_TLS_KEY_FILE'],
    value: textValue,
  },
  systemId: {
    kind: 'string',
    valueName: 'ID',
    description: 'runner-manager id sent as system_id',
    defaultHelp: 's_ + 12 hex derived from this machine',
    value: systemIdValue,
  },
  stateDir: {
    kind: 'string',
    valueName: 'DIR',
    description:
      'where jobs in flight and final states not yet taken by GitLab are kept across crashes and outages (0700)',
    defaultHelp: '$XDG_STATE_HOME/runner-core, else ~/.local/state/runner-core',
    value: textValue,
  },
} as const satisfies FlagTable;

/** The flags `run` takes only without `--config` (the file says them per runner). */
export const RUNNER_FLAGS = [
  'url',
  'token',
  'executor',
  'exec',
  'buildsDir',
  'tlsCaFile',
  'tlsCertFile',
  'tlsKeyFile',
] as const;

/** The flags of `runner-core verify`: the runner flags of `run`, or its `--config`. */
export const verifyFlags = {
  config: runFlags.config,
  url: runFlags.url,
  token: runFlags.token,
  tlsCaFile: runFlags.tlsCaFile,
  tlsCertFile: runFlags.tlsCertFile,
  tlsKeyFile: runFlags.tlsKeyFile,
  systemId: runFlags.systemId,
  logLevel: { ...logLevelFlag, default: 'warn' },
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
  token: {
    kind: 'string',
    valueName: 'TOKEN',
    description: 'the runner token the fake accepts, so it stays the same across starts',
    defaultHelp: 'a new glrt-… token each start',
    value: secretValue,
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
    usage: 'runner-core run --url URL --token TOKEN [flags]  |  runner-core run --config config.toml [flags]',
    flags: runFlags,
  },
  verify: {
    summary: "ask GitLab whether it knows the runner token (gitlab-runner's verify); exit 0 only when every runner is",
    usage: 'runner-core verify --url URL --token TOKEN  |  runner-core verify --config config.toml',
    flags: verifyFlags,
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
