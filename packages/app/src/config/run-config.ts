import { hostname } from 'node:os';
import { defaultStateDir } from '../state/file-state-store.js';
import { deriveSystemId } from '../system-id.js';
import { appConfig } from './app-config.js';
import type { RunConfig, RunnerConfig, VerifyConfig } from './command-configs.js';
import { RUNNER_FLAGS, type runFlags, type verifyFlags } from './command-flags.js';
import { type ConfigFile, readConfigFile } from './config-file.js';
import { type FlagValues, flagName } from './flag-spec.js';
import { instanceUrl, listenAddressValue } from './flag-values.js';
import { ConfigError, type Environment } from './read-flags.js';

type RunFlagValues = FlagValues<typeof runFlags>;
type VerifyFlagValues = FlagValues<typeof verifyFlags>;

/**
 * The configuration of `verify`: the runners `run` would serve with the same flags or `--config`.
 * @throws {ConfigError} as {@link runConfigOf}
 */
export function verifyConfigOf(values: VerifyFlagValues, env: Environment): VerifyConfig {
  const run = runConfigOf(
    {
      ...values,
      strategy: 'auto',
      confirm: 'auto',
      keepAlive: 30_000,
      probe: false,
      once: false,
      executor: 'shell',
      json: false,
    } as RunFlagValues,
    env,
  );
  return Object.freeze({ command: 'verify', runners: run.runners, systemId: run.systemId, logLevel: values.logLevel });
}

/**
 * The configuration of `run`: one runner from the flags, or the runners of a gitlab-runner `config.toml`
 * (`--config`), whose global settings a flag given on the command line or in the environment overrides.
 *
 * @throws {ConfigError} one line naming the flag, variable, or file and line that was wrong
 */
export function runConfigOf(values: RunFlagValues, env: Environment): RunConfig {
  const file = values.config === undefined ? undefined : readConfigFile(values.config);
  if (file !== undefined) {
    const clash = RUNNER_FLAGS.find(
      (key) => values[key] !== undefined && !(key === 'executor' && values.executor === 'shell'),
    );
    if (clash !== undefined) {
      throw new ConfigError(`--${flagName(clash)}: not with --config (set it in the file's [[runners]])`);
    }
  }
  const concurrent = values.concurrency ?? file?.concurrent ?? 1;
  const shared = appConfig({
    strategy: values.strategy,
    confirm: values.confirm,
    keepAliveIntervalMs: values.keepAlive,
    probe: values.probe,
    logLevel: values.logLevel ?? file?.logLevel ?? 'info',
    json: values.json,
  });
  const runners =
    file === undefined ? [runnerFromFlags(values, shared, concurrent)] : runnersFromFile(file, shared, concurrent);
  const listenAddress = values.listenAddress ?? listenAddressOf(file);
  const shutdownTimeoutMs = values.shutdownTimeout ?? file?.shutdownTimeoutMs;
  return Object.freeze({
    command: 'run',
    runners: Object.freeze(runners),
    concurrent,
    checkIntervalMs: values.checkInterval ?? file?.checkIntervalMs ?? 3_000,
    once: values.once,
    ...(values.maxBuilds === undefined ? {} : { maxBuilds: values.maxBuilds }),
    ...(values.waitTimeout === undefined ? {} : { waitTimeoutMs: values.waitTimeout }),
    ...(shutdownTimeoutMs === undefined ? {} : { shutdownTimeoutMs }),
    ...(listenAddress === undefined ? {} : { listenAddress }),
    logLevel: shared.logLevel,
    json: values.json,
    systemId: values.systemId ?? deriveSystemId(),
    stateDir: values.stateDir ?? defaultStateDir(env),
    warnings: Object.freeze([...(file?.warnings ?? [])]),
  } satisfies RunConfig);
}

function runnerFromFlags(
  values: RunFlagValues,
  shared: ReturnType<typeof appConfig>,
  concurrent: number,
): RunnerConfig {
  if (values.url === undefined)
    throw new ConfigError('--url: required (or set RUNNER_CORE_URL, CI_SERVER_URL or use --config)');
  if (values.token === undefined) {
    throw new ConfigError('--token: required (or set RUNNER_CORE_TOKEN, CI_SERVER_TOKEN or use --config)');
  }
  if (values.executor === 'exec' && values.exec === undefined)
    throw new ConfigError('--exec: required with --executor exec');
  if ((values.tlsCertFile === undefined) !== (values.tlsKeyFile === undefined)) {
    const missing = values.tlsCertFile === undefined ? 'tls-cert-file' : 'tls-key-file';
    throw new ConfigError(
      `--${missing}: required with --${missing === 'tls-cert-file' ? 'tls-key-file' : 'tls-cert-file'}`,
    );
  }
  return Object.freeze({
    ...shared,
    url: values.url,
    executor: values.executor,
    ...optional({
      exec: values.exec,
      tlsCaFile: values.tlsCaFile,
      tlsCertFile: values.tlsCertFile,
      tlsKeyFile: values.tlsKeyFile,
      buildsDir: values.buildsDir,
    }),
    name: hostname(),
    token: values.token,
    limit: concurrent,
  } satisfies RunnerConfig);
}

function runnersFromFile(file: ConfigFile, shared: ReturnType<typeof appConfig>, concurrent: number): RunnerConfig[] {
  return file.runners.map((runner) =>
    Object.freeze({
      ...shared,
      url: instanceUrl(runner.url),
      executor: runner.executor,
      ...optional({
        tlsCaFile: runner.tlsCaFile,
        tlsCertFile: runner.tlsCertFile,
        tlsKeyFile: runner.tlsKeyFile,
        buildsDir: runner.buildsDir,
      }),
      ...(runner.outputLimitBytes === undefined ? {} : { outputLimitBytes: runner.outputLimitBytes }),
      name: runner.name,
      token: runner.token,
      // NOTE: `limit = 0` is gitlab-runner's "no limit of its own": the process-wide `concurrent` still applies.
      limit: runner.limit === 0 ? concurrent : Math.min(runner.limit, concurrent),
    } satisfies RunnerConfig),
  );
}

function listenAddressOf(file: ConfigFile | undefined): RunConfig['listenAddress'] {
  if (file?.listenAddress === undefined) return undefined;
  const parsed = listenAddressValue.safeParse(file.listenAddress);
  if (!parsed.success)
    throw new ConfigError(`listen_address: expected HOST:PORT, got ${JSON.stringify(file.listenAddress)}`);
  return parsed.data;
}

/** The entries whose value is set. */
function optional<T extends Record<string, string | undefined>>(entries: T): Partial<Record<keyof T, string>> {
  const out: Partial<Record<keyof T, string>> = {};
  for (const [key, value] of Object.entries(entries)) if (value !== undefined) out[key as keyof T] = value;
  return out;
}
