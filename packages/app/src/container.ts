import 'reflect-metadata';
import { FakeGitLab, InMemoryNetwork } from '@runner-core/adapter-fake';
import { HttpNetwork } from '@runner-core/adapter-http';
import {
  CLOCK,
  ClientConfigError,
  type Clock,
  EXECUTOR,
  type Executor,
  fanOut,
  goArchitecture,
  goPlatform,
  JOB_CONFIRMATION,
  JobConfirmation,
  LOGGER,
  type Logger,
  NETWORK,
  type Network,
  OBSERVER,
  type Observer,
  RunLoop,
  type RunLoopOptions,
  type RunnerInfo,
  runnerFeatures,
  runnerInfo,
  type Secret,
  ServerGate,
  type StateStore,
  shortToken,
  systemClock,
  userAgent,
} from '@runner-core/core';
import type { WireExchange } from '@runner-core/core/wire';
import type { DestinationStream } from 'pino';
import { type DependencyContainer, instancePerContainerCachingFactory, container as rootContainer } from 'tsyringe';
import type { AppConfig } from './config/app-config.js';
import { ConfigError } from './config/read-flags.js';
import { ExecExecutor } from './executors/exec-executor.js';
import { appRunnerIdentity } from './executors/job-environment.js';
import { ShellExecutor } from './executors/shell-executor.js';
import { logObserver, ndjsonObserver } from './logging/event-observers.js';
import { createLogger } from './logging/pino-logger.js';
import { APP_BRANCH, APP_VERSION } from './version.js';

/** The injection token of the {@link AppConfig} the container was built from. */
export const APP_CONFIG: unique symbol = Symbol('AppConfig');
/** The injection token of the {@link ServerGate} shared by every call to the one GitLab. */
export const SERVER_GATE: unique symbol = Symbol('ServerGate');
/** The injection token of the {@link RunnerInfo} sent with requests and updates. */
export const RUNNER_INFO: unique symbol = Symbol('RunnerInfo');
/** The injection token of the {@link FakeGitLab} behind `network: 'in-memory'`. */
export const FAKE_GITLAB: unique symbol = Symbol('FakeGitLab');
/** The injection token of what the container built that holds resources (closed by {@link disposeContainer}). */
const OWNED_RESOURCES: unique symbol = Symbol('OwnedResources');

/** Something the container built that must be closed when the runner is done. */
interface Closeable {
  close(): Promise<void> | void;
}

/** Options of {@link buildContainer}: where output goes, and extra observers. */
export interface ContainerOptions {
  /** The container to derive from. @default tsyringe's root container (never modified) */
  readonly parent?: DependencyContainer;
  /** Where `--json` events go, one line per call. @default process.stdout */
  readonly writeEvent?: (line: string) => void;
  /** Where log lines go. @default stderr (pretty when it is a terminal) */
  readonly logDestination?: DestinationStream;
  /** More observers of the runner's events (metrics, tests, the demo). */
  readonly observers?: readonly Observer[];
  /** Where `HttpNetwork` reads `HTTPS_PROXY` / `NO_PROXY`. @default process.env */
  readonly proxyEnv?: Readonly<Record<string, string | undefined>>;
  /** The runner token, whose short form jobs see as `CI_RUNNER_SHORT_TOKEN`. @default none (the variable is unset) */
  readonly runnerToken?: Secret;
  /** Told of every request to GitLab (the metrics count them). @default none */
  readonly onExchange?: (exchange: WireExchange) => void;
}

/** The `info` block this app sends: runner-core, the executor, bash, and the features the executors support. */
export function appRunnerInfo(config: Pick<AppConfig, 'executor'>): RunnerInfo {
  return runnerInfo({
    name: 'runner-core',
    version: APP_VERSION,
    executor: config.executor,
    shell: 'bash',
    platform: goPlatform(process.platform),
    architecture: goArchitecture(process.arch),
    features: runnerFeatures({ variables: true, masking: true, return_exit_code: true, raw_variables: true }),
  });
}

/**
 * The composition root: the only place that knows tsyringe. Builds a child of `options.parent` (never the global
 * container itself) with every port of the runner, each under core's symbol token, by `useValue` / `useFactory`
 * (no decorators, no type metadata):
 *
 * | token | what | selected by |
 * | --- | --- | --- |
 * | `APP_CONFIG` | the frozen {@link AppConfig} | — |
 * | `CLOCK` | `systemClock` | — |
 * | `LOGGER` | pino on stderr | `logLevel` |
 * | `OBSERVER` | log lines, plus NDJSON on stdout | `json` |
 * | `NETWORK` | `HttpNetwork` or `InMemoryNetwork` | `network` (`url`, `tlsCaFile`) |
 * | `FAKE_GITLAB` | the fake behind `in-memory` | `network: 'in-memory'` |
 * | `SERVER_GATE` | one gate per GitLab | — |
 * | `RUNNER_INFO` | the `info` block | `executor` |
 * | `EXECUTOR` | `ShellExecutor` or `ExecExecutor` | `executor` (`exec`) |
 * | `JOB_CONFIRMATION` | `JobConfirmation` | `confirm`, `strategy`, `keepAliveIntervalMs`, `probe`, `ackWindowMs` |
 *
 * Factories cache one instance per container, so a test's child container that re-registers `NETWORK` or `CLOCK`
 * gets a `JobConfirmation` built on its own registrations.
 */
export function buildContainer(config: AppConfig, options: ContainerOptions = {}): DependencyContainer {
  const c = (options.parent ?? rootContainer).createChildContainer();
  const owned: Closeable[] = [];
  const own = <T extends Closeable>(resource: T): T => {
    owned.push(resource);
    return resource;
  };
  c.register(OWNED_RESOURCES, { useValue: owned });
  const writeEvent = options.writeEvent ?? ((line: string) => process.stdout.write(line));
  c.register(APP_CONFIG, { useValue: config });
  c.register<Clock>(CLOCK, { useValue: systemClock });
  c.register<Logger>(LOGGER, {
    useFactory: instancePerContainerCachingFactory(() =>
      createLogger({
        level: config.logLevel,
        ...(options.logDestination === undefined ? {} : { destination: options.logDestination }),
      }),
    ),
  });
  c.register<Observer>(OBSERVER, {
    useFactory: instancePerContainerCachingFactory((r) =>
      fanOut(
        logObserver(r.resolve<Logger>(LOGGER).child({ component: 'runner' })),
        ...(config.json ? [ndjsonObserver(writeEvent)] : []),
        ...(options.observers ?? []),
      ),
    ),
  });
  c.register<FakeGitLab>(FAKE_GITLAB, {
    useFactory: instancePerContainerCachingFactory(
      (r) => new FakeGitLab({ profile: 'two-phase', clock: r.resolve<Clock>(CLOCK) }),
    ),
  });
  c.register<Network>(NETWORK, {
    useFactory: instancePerContainerCachingFactory((r): Network => {
      switch (config.network) {
        case 'http':
          return own(
            new HttpNetwork({
              url: config.url,
              ...(config.tlsCaFile === undefined ? {} : { tlsCaFile: config.tlsCaFile }),
              ...(config.tlsCertFile === undefined ? {} : { tlsCertFile: config.tlsCertFile }),
              ...(config.tlsKeyFile === undefined ? {} : { tlsKeyFile: config.tlsKeyFile }),
              ...(options.onExchange === undefined ? {} : { onExchange: options.onExchange }),
              ...(options.proxyEnv === undefined ? {} : { env: options.proxyEnv }),
              userAgent: userAgent({ version: APP_VERSION, branch: APP_BRANCH }),
              logger: r.resolve<Logger>(LOGGER),
              clock: r.resolve<Clock>(CLOCK),
            }),
          );
        case 'in-memory':
          return own(
            new InMemoryNetwork({
              gitlab: r.resolve<FakeGitLab>(FAKE_GITLAB),
              clock: r.resolve<Clock>(CLOCK),
              ...(options.onExchange === undefined ? {} : { onExchange: options.onExchange }),
            }),
          );
        default: {
          const unreachable: never = config.network;
          throw new Error(`unknown network ${String(unreachable)}`);
        }
      }
    }),
  });
  c.register<ServerGate>(SERVER_GATE, {
    useFactory: instancePerContainerCachingFactory((r) => new ServerGate(r.resolve<Clock>(CLOCK))),
  });
  c.register<RunnerInfo>(RUNNER_INFO, { useValue: appRunnerInfo(config) });
  const runner = appRunnerIdentity(
    options.runnerToken === undefined ? undefined : shortToken(options.runnerToken.reveal()),
  );
  const baseDir = config.buildsDir === undefined ? {} : { baseDir: config.buildsDir };
  c.register<Executor>(EXECUTOR, {
    useFactory: instancePerContainerCachingFactory((r): Executor => {
      switch (config.executor) {
        case 'shell':
          return new ShellExecutor({ clock: r.resolve<Clock>(CLOCK), runner, ...baseDir });
        case 'exec':
          if (config.exec === undefined) throw new Error('the exec executor needs a command (--exec CMD)');
          return new ExecExecutor({ command: config.exec, clock: r.resolve<Clock>(CLOCK), runner, ...baseDir });
        default: {
          const unreachable: never = config.executor;
          throw new Error(`unknown executor ${String(unreachable)}`);
        }
      }
    }),
  });
  c.register<JobConfirmation>(JOB_CONFIRMATION, {
    useFactory: instancePerContainerCachingFactory(
      (r) =>
        new JobConfirmation(
          {
            network: r.resolve<Network>(NETWORK),
            clock: r.resolve<Clock>(CLOCK),
            observer: r.resolve<Observer>(OBSERVER),
            gate: r.resolve<ServerGate>(SERVER_GATE),
          },
          {
            info: r.resolve<RunnerInfo>(RUNNER_INFO),
            confirm: config.confirm,
            strategy: config.strategy,
            keepAliveIntervalMs: config.keepAliveIntervalMs,
            probe: config.probe,
            ackWindowMs: config.ackWindowMs,
            ...config.confirmationTuning,
          },
        ),
    ),
  });
  return c;
}

/** Every token {@link verifyContainer} resolves, with its name and the configuration that selects it. */
const VERIFIED: ReadonlyArray<{ readonly token: symbol; readonly name: string; readonly selectedBy: string }> = [
  { token: APP_CONFIG, name: 'AppConfig', selectedBy: 'buildContainer(config)' },
  { token: CLOCK, name: 'Clock', selectedBy: 'always registered (systemClock)' },
  { token: LOGGER, name: 'Logger', selectedBy: 'config key "logLevel" (--log-level)' },
  { token: OBSERVER, name: 'Observer', selectedBy: 'config key "json" (--json)' },
  {
    token: NETWORK,
    name: 'Network',
    selectedBy: 'config key "network" with "url" / "tlsCaFile" (--url, --tls-ca-file)',
  },
  { token: SERVER_GATE, name: 'ServerGate', selectedBy: 'always registered' },
  { token: RUNNER_INFO, name: 'RunnerInfo', selectedBy: 'config key "executor" (--executor)' },
  { token: EXECUTOR, name: 'Executor', selectedBy: 'config key "executor" with "exec" (--executor, --exec)' },
  {
    token: JOB_CONFIRMATION,
    name: 'JobConfirmation',
    selectedBy: 'config keys "confirm", "strategy", "keepAliveIntervalMs", "probe", "ackWindowMs"',
  },
];

/** A container that cannot provide what the runner needs; the message names the token and what selects it. */
export class ContainerError extends Error {
  override readonly name = 'ContainerError';
}

/**
 * Resolves every token the runner needs, at start-up, so a wiring mistake fails at once with a message naming the
 * token and the configuration that selects it (instead of mid-run).
 *
 * @throws {ContainerError}
 */
export function verifyContainer(c: DependencyContainer): void {
  for (const { token, name, selectedBy } of VERIFIED) {
    if (!c.isRegistered(token, true)) {
      throw new ContainerError(`nothing registered for ${name} (token ${String(token)}; selected by ${selectedBy})`);
    }
    try {
      c.resolve(token);
    } catch (error) {
      // NOTE: a setting the client cannot use (an unreadable CA file) is the operator's mistake, named by its flag.
      const asFlag = error instanceof ClientConfigError ? inFlagWords(error.message) : undefined;
      if (asFlag !== undefined) throw new ConfigError(asFlag, { cause: error });
      const reason = error instanceof Error ? error.message : String(error);
      throw new ContainerError(`cannot build ${name} (selected by ${selectedBy}): ${reason}`, { cause: error });
    }
  }
}

/**
 * A message about one of HttpNetwork's file options in the words of the flag that sets it (`tlsCaFile "x" …` →
 * `--tls-ca-file: "x" …`); `undefined` for a message about anything else.
 */
function inFlagWords(message: string): string | undefined {
  const flags: Readonly<Record<string, string>> = {
    tlsCaFile: '--tls-ca-file',
    tlsCertFile: '--tls-cert-file',
    tlsKeyFile: '--tls-key-file',
  };
  const option = /^(\w+) /.exec(message)?.[1];
  const flag = option === undefined ? undefined : flags[option];
  return flag === undefined ? undefined : `${flag}: ${message.slice((option ?? '').length + 1)}`;
}

/** The runner's parts, resolved from a container (so callers need not know tsyringe). */
export interface RunnerParts {
  readonly config: AppConfig;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly observer: Observer;
  readonly network: Network;
  readonly executor: Executor;
  readonly confirmation: JobConfirmation;
  readonly info: RunnerInfo;
}

/** Resolves the runner's parts from a container built by {@link buildContainer} (or a child of one). */
export function resolveParts(c: DependencyContainer): RunnerParts {
  return {
    config: c.resolve<AppConfig>(APP_CONFIG),
    clock: c.resolve<Clock>(CLOCK),
    logger: c.resolve<Logger>(LOGGER),
    observer: c.resolve<Observer>(OBSERVER),
    network: c.resolve<Network>(NETWORK),
    executor: c.resolve<Executor>(EXECUTOR),
    confirmation: c.resolve<JobConfirmation>(JOB_CONFIRMATION),
    info: c.resolve<RunnerInfo>(RUNNER_INFO),
  };
}

/** A {@link RunLoop} on the container's parts (its `info` unless `options.info` says otherwise). */
export function createRunLoop(
  c: DependencyContainer,
  options: Omit<RunLoopOptions, 'info'> & { readonly info?: RunnerInfo; readonly store?: StateStore },
): RunLoop {
  const parts = resolveParts(c);
  const { store, ...loopOptions } = options;
  return new RunLoop(
    { ...parts, ...(store === undefined ? {} : { store }) },
    { ...loopOptions, info: options.info ?? parts.info },
  );
}

/**
 * Closes everything the container built that holds resources (the network adapter's kept-alive sockets), newest
 * first, so the process can exit. What a caller registered itself (`useValue`) is the caller's to close.
 */
export async function disposeContainer(c: DependencyContainer): Promise<void> {
  if (!c.isRegistered(OWNED_RESOURCES, true)) return;
  const owned = c.resolve<Closeable[]>(OWNED_RESOURCES);
  for (const resource of owned.splice(0).reverse()) await resource.close();
}
