import type { CliIo } from '../cli/cli-io.js';
import type { RunConfig } from '../config/command-configs.js';
import { runService } from '../service/runner-service.js';

/**
 * `runner-core run`: the runner until a signal (or one job with `--once`), for one runner (flags) or the runners of
 * a gitlab-runner `config.toml` (`--config`). SIGQUIT, and the first SIGINT/SIGTERM, stop requesting jobs and let jobs
 * in flight finish (within `--shutdown-timeout`); a second SIGINT/SIGTERM aborts them (pending jobs declined, running
 * ones failed as `runner_system_failure`). It exits 0 only when GitLab has every result: a final state still in the
 * outbox (kept in `--state-dir` for the next start) means 1.
 *
 * @returns the exit code
 */
export function runCommand(config: RunConfig, io: CliIo): Promise<number> {
  return runService(config, io);
}
