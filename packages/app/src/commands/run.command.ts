import type { CliIo } from '../cli/cli-io.js';
import type { RunConfig } from '../config/command-configs.js';
import { buildContainer, createRunLoop, disposeContainer, resolveParts, verifyContainer } from '../container.js';

/**
 * `runner-core run`: the runner until a signal (or one job with `--once`). The first SIGINT/SIGTERM stops requesting
 * jobs and lets jobs in flight finish; a second aborts them (pending jobs declined, running ones failed as
 * `runner_system_failure`). Stopped by a signal, it exits 0.
 *
 * @returns the exit code
 */
export async function runCommand(config: RunConfig, io: CliIo): Promise<number> {
  const container = buildContainer(config, {
    writeEvent: io.stdout,
    ...(io.logDestination === undefined ? {} : { logDestination: io.logDestination }),
  });
  try {
    verifyContainer(container);
    const { logger } = resolveParts(container);
    const loop = createRunLoop(container, {
      credentials: { token: config.token, systemId: config.systemId },
      concurrency: config.concurrency,
      checkIntervalMs: config.checkIntervalMs,
      once: config.once,
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
      return signals > 0 ? 0 : summary.exitCode;
    } finally {
      unsubscribe();
    }
  } finally {
    await disposeContainer(container);
  }
}
