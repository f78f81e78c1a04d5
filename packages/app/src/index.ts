/**
 * `@runner-core/app`: the `runner-core` command line, and its composition root for those who embed it (see the
 * README's "Embedding" section): build the container from an `AppConfig`, swap a port in a child container, verify,
 * run, dispose; or run the command line itself in-process. The process executors are exported for embedders who
 * run the core with a shell.
 */
export { EXIT, runCli } from './cli/cli.js';
export { type CliIo, processIo } from './cli/cli-io.js';
export { type AppConfig, appConfig } from './config/app-config.js';
export {
  APP_CONFIG,
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
export { ExecExecutor, type ExecExecutorOptions } from './executors/exec-executor.js';
export { ShellExecutor, type ShellExecutorOptions } from './executors/shell-executor.js';
