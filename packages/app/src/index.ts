export { EXIT, runCli } from './cli/cli.js';
export { type CliIo, processIo } from './cli/cli-io.js';
export {
  type AppConfig,
  appConfig,
  type ExecutorChoice,
  LOG_LEVELS,
  type LogLevel,
  type NetworkChoice,
  SIM_PROFILES,
  type SimProfile,
} from './config/app-config.js';
export type {
  CommandConfig,
  CommandName,
  ConfirmConfig,
  DemoConfig,
  RunConfig,
  SimConfig,
} from './config/command-configs.js';
export { type CommandLine, loadConfig, parseCommandLine } from './config/command-line.js';
export { formatDuration, parseDuration } from './config/duration.js';
export { commandHelp, globalHelp } from './config/help.js';
export { ConfigError, type Environment } from './config/read-flags.js';
export {
  APP_CONFIG,
  appRunnerInfo,
  buildContainer,
  ContainerError,
  type ContainerOptions,
  createRunLoop,
  disposeContainer,
  FAKE_GITLAB,
  RUNNER_INFO,
  type RunnerParts,
  resolveParts,
  SERVER_GATE,
  verifyContainer,
} from './container.js';
export { type ChildExit, type ChildSpec, runChild } from './executors/child-process.js';
export { ExecExecutor, type ExecExecutorOptions } from './executors/exec-executor.js';
export { ShellExecutor, type ShellExecutorOptions, shellScript } from './executors/shell-executor.js';
export { eventLine, logObserver, ndjsonObserver } from './logging/event-observers.js';
export { createLogger, type LoggerOptions, PinoLogger } from './logging/pino-logger.js';
export { deriveSystemId, type MachineIdentity, randomSystemId } from './system-id.js';
export { APP_VERSION } from './version.js';
