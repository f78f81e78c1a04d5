import { type Clock, JobSlots, type Logger, type RunLoop, type RunSummary, systemClock } from '@runner-core/core';
import type { WireExchange } from '@runner-core/core/wire';
import type { DependencyContainer } from 'tsyringe';
import type { CliIo } from '../cli/cli-io.js';
import type { RunConfig, RunnerConfig } from '../config/command-configs.js';
import { ConfigError } from '../config/read-flags.js';
import { buildContainer, createRunLoop, disposeContainer, resolveParts, verifyContainer } from '../container.js';
import { FileStateStore } from '../state/file-state-store.js';
import { RunnerMetrics } from './runner-metrics.js';
import { Shutdown } from './shutdown.js';
import { StatusServer } from './status-server.js';
import { verifyRunner } from './verify-runner.js';

/** One runner of the service, once built. */
interface ServedRunner {
  readonly config: RunnerConfig;
  readonly container: DependencyContainer;
  readonly logger: Logger;
  readonly loop: RunLoop;
  /** When GitLab last answered this runner (any HTTP answer); `undefined` before the first. */
  lastAnswerAt: number | undefined;
}

/** How long without any answer from GitLab before a runner is not ready (a job request long-polls up to ~50 s). */
export function readinessWindowMs(checkIntervalMs: number): number {
  return Math.max(120_000, 3 * checkIntervalMs);
}

/**
 * `runner-core run` as a service (docs/operations.md): every runner of the configuration with its own container
 * (network, gate, executor, state store), one limit over all of them (`concurrent`), the metrics and health
 * endpoints on `listenAddress`, and signals (see {@link Shutdown}).
 *
 * @returns 0 only when every runner ended clean: no final state unreported, no job GitLab lacks a result for
 */
export async function runService(config: RunConfig, io: CliIo, clock: Clock = systemClock): Promise<number> {
  const metrics = new RunnerMetrics();
  const slots = new JobSlots(config.concurrent);
  const served: ServedRunner[] = [];
  let server: StatusServer | undefined;
  let shutdown: Shutdown | undefined;
  let unsubscribe = (): void => {};
  try {
    for (const runner of config.runners) served.push(await serve(runner, config, io, metrics, slots, clock));
    const first = served[0];
    if (first === undefined) throw new ConfigError('no runner to run');
    const logger = first.logger.child({ component: 'service' });
    for (const warning of config.warnings) logger.warn(warning);
    // NOTE: a bad token says so once, before any job request; GitLab down or an odd answer tells nothing: go on.
    let refused = false;
    for (const runner of served) {
      const { network, info } = resolveParts(runner.container);
      const verdict = await verifyRunner(
        network,
        { token: runner.config.token, systemId: config.systemId },
        info,
        clock,
      );
      if (verdict.kind === 'removed') {
        runner.logger.error(`runner ${runner.config.name} ${verdict.detail}`);
        refused = true;
      } else if (verdict.kind === 'unknown') {
        runner.logger.warn(`runner ${runner.config.name} ${verdict.detail}; job requests start anyway`);
      }
    }
    if (refused) return 1;
    const loops = served.map((runner) => runner.loop);
    const activeJobs = (): number => loops.reduce((sum, loop) => sum + loop.activeJobs, 0);
    const runs = {
      stop: () => {
        for (const loop of loops) loop.stop();
      },
      abort: () => {
        for (const loop of loops) loop.abort();
      },
    };
    const stopper = new Shutdown(runs, clock, logger, config.shutdownTimeoutMs);
    shutdown = stopper;
    unsubscribe = io.onSignal((signal) => stopper.onSignal(signal, activeJobs()));
    if (config.listenAddress !== undefined) {
      const window = readinessWindowMs(config.checkIntervalMs);
      server = await StatusServer.start(config.listenAddress, metrics.registry, {
        draining: () => stopper.draining,
        unansweredRunners: () =>
          served
            .filter((runner) => runner.lastAnswerAt === undefined || clock.now() - runner.lastAnswerAt > window)
            .map((runner) => runner.config.name),
      }).catch((error: unknown) => {
        const { host, port } = config.listenAddress ?? { host: '', port: 0 };
        const code = (error as NodeJS.ErrnoException).code ?? 'error';
        throw new ConfigError(`--listen-address: cannot listen on ${host}:${port} (${code})`);
      });
      logger.info('metrics and health served', { url: server.url });
    }
    const summaries: RunSummary[] = await Promise.all(loops.map((loop) => loop.run()));
    summaries.forEach((summary, index) => {
      const runner = served[index];
      if (summary.exitCode !== 0 && runner !== undefined)
        runner.logger.error(`run ended with exit code 1: ${whyFailed(summary)}`);
    });
    return summaries.some((summary) => summary.exitCode !== 0) ? 1 : 0;
  } finally {
    unsubscribe();
    shutdown?.dispose();
    await server?.close();
    for (const runner of served.reverse()) await disposeContainer(runner.container);
  }
}

async function serve(
  runner: RunnerConfig,
  config: RunConfig,
  io: CliIo,
  metrics: RunnerMetrics,
  slots: JobSlots,
  clock: Clock,
): Promise<ServedRunner> {
  let served: ServedRunner | undefined;
  const onExchange = (exchange: WireExchange): void => {
    metrics.recordRequest(runner.name, exchange.operation, exchange.status ?? 'error', exchange.durationMs / 1_000);
    if (exchange.status !== undefined && served !== undefined) served.lastAnswerAt = clock.now();
    // NOTE: GitLab is up for this runner while its job requests get answers other than a refusal of the token.
    if (exchange.operation === 'request-job') {
      metrics.setUp(runner.name, exchange.status !== undefined && exchange.status !== 401 && exchange.status !== 403);
    }
  };
  const container = buildContainer(runner, {
    writeEvent: io.stdout,
    ...(io.logDestination === undefined ? {} : { logDestination: io.logDestination }),
    runnerToken: runner.token,
    observers: [metrics.observerFor(runner.name)],
    onExchange,
  });
  verifyContainer(container);
  const logger = resolveParts(container).logger.child({ name: runner.name });
  const store = await openStore(config, runner, logger);
  const loop = createRunLoop(container, {
    credentials: { token: runner.token, systemId: config.systemId },
    concurrency: runner.limit,
    checkIntervalMs: config.checkIntervalMs,
    once: config.once,
    ...(config.maxBuilds === undefined ? {} : { maxJobs: config.maxBuilds }),
    ...(config.waitTimeoutMs === undefined ? {} : { waitTimeoutMs: config.waitTimeoutMs }),
    ...(runner.outputLimitBytes === undefined ? {} : { outputLimitBytes: runner.outputLimitBytes }),
    slots,
    store,
  });
  metrics.watch(runner.name, { outboxEntries: () => loop.unreportedFinalStates });
  served = { config: runner, container, logger, loop, lastAnswerAt: undefined };
  return served;
}

/** The runner's state store; a directory that cannot be used is a configuration mistake, named as such. */
async function openStore(config: RunConfig, runner: RunnerConfig, logger: Logger): Promise<FileStateStore> {
  try {
    return await FileStateStore.open({
      dir: config.stateDir,
      gitlabUrl: runner.url,
      runnerToken: runner.token,
      logger: logger.child({ component: 'state-store' }),
    });
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? 'error';
    throw new ConfigError(`--state-dir: cannot use ${config.stateDir} (${code})`);
  }
}

/** The one line that says why a run did not end clean. */
function whyFailed(summary: RunSummary): string {
  if (summary.unreported > 0) {
    return `${summary.unreported} final state(s) GitLab has not taken stay in the state directory for the next start`;
  }
  if (summary.ended === 'unhealthy') return 'GitLab refused the runner token';
  const refused = summary.reports.filter(
    (report) => report.outcome.kind === 'unreachable' || report.outcome.kind === 'invalid',
  );
  if (refused.length > 0) return `${refused.length} job(s) could not be confirmed or read (see above)`;
  return summary.reports.length === 0
    ? 'the job request failed (see above)'
    : 'a job could not be reported or released (see above)';
}
