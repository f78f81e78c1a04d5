import type { CliIo } from '../cli/cli-io.js';
import type { VerifyConfig } from '../config/command-configs.js';
import { buildContainer, disposeContainer, resolveParts, verifyContainer } from '../container.js';
import { verifyRunner } from '../service/verify-runner.js';

/**
 * `runner-core verify`: asks GitLab, for each runner (the flags' one or every `[[runners]]` of `--config`), whether it
 * knows the runner token, and prints one line per runner: `runner NAME (SHORT TOKEN): is alive`.
 *
 * @returns 0 when every runner is alive, 1 otherwise
 */
export async function verifyCommand(config: VerifyConfig, io: CliIo): Promise<number> {
  let alive = true;
  for (const runner of config.runners) {
    const container = buildContainer(runner, {
      writeEvent: io.stdout,
      ...(io.logDestination === undefined ? {} : { logDestination: io.logDestination }),
    });
    try {
      verifyContainer(container);
      const { network, info } = resolveParts(container);
      const verdict = await verifyRunner(network, { token: runner.token, systemId: config.systemId }, info);
      io.stdout(`runner ${runner.name} (${runner.token.short()}): ${verdict.detail}\n`);
      if (verdict.kind !== 'alive') alive = false;
    } finally {
      await disposeContainer(container);
    }
  }
  return alive ? 0 : 1;
}
