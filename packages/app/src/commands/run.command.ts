import type { Logger } from '@runner-core/core';
import type { CliIo } from '../cli/cli-io.js';
import type { RunConfig } from '../config/command-configs.js';
import { ConfigError } from '../config/read-flags.js';
import { buildContainer, createRunLoop, disposeContainer, resolveParts, verifyContainer } from '../container.js';
import { FileStateStore } from '../state/file-state-store.js';

/**
 * `runner-core run`: the runner until a signal (or one job with `--once`). The first SIGINT/SIGTERM stops requesting
 * jobs and lets jobs in flight finish; a second aborts them (pending jobs declined, running ones failed as
 * `runner_system_failure`). It exits 0 only when GitLab has every result: a final state still in the outbox (kept in
 * `--state-dir` for the next start) means 1.
 *
 * @returns the exit code
 */
export async function runCommand(config: RunConfig, io: CliIo): Promise<number> {
  const container = buildContainer(config, {
    writeEvent: io.stdout,
    runnerToken: config.token,
    ...(io.logDestination === undefined ? {} : { logDestination: io.logDestination }),
  });
  try {
    verifyContainer(container);
    const { logger } = resolveParts(container);
    const store = await openStore(config, logger);
    const loop = createRunLoop(container, {
      credentials: { token: config.token, systemId: config.systemId },
      concurrency: config.concurrency,
      checkIntervalMs: config.checkIntervalMs,
      once: config.once,
      store,
    });
    let signals = 0;
    const unsubscribe = io.onSignal((signal) => {
      signals += 1;
      if (signals === 1) {
        logger.warn(`${signal}: no new jobs; jobs in flight finish (signal again to abort them)`, {
          jobs: loop.activeJobs,
        });
        loop.stop();
      } else {
        logger.warn(`${signal}: aborting jobs in flight`, { jobs: loop.activeJobs });
        loop.abort();
      }
    });
    try {
      const summary = await loop.run();
      // NOTE: even when stopped by a signal, a final state GitLab does not have yet means exit 1.
      return summary.exitCode;
    } finally {
      unsubscribe();
    }
  } finally {
    await disposeContainer(container);
  }
}

/** The run's state directory; one that cannot be made is a configuration mistake, named as such. */
async function openStore(config: RunConfig, logger: Logger): Promise<FileStateStore> {
  try {
    return await FileStateStore.open({
      dir: config.stateDir,
      gitlabUrl: config.url,
      runnerToken: config.token,
      logger: logger.child({ component: 'state-store' }),
    });
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? 'error';
    throw new ConfigError(`--state-dir: cannot use ${config.stateDir} (${code})`);
  }
}
