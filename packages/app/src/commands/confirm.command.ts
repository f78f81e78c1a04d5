import type { Clock, ConfirmationOutcome, JobPayload, PendingJob } from '@runner-core/core';
import type { CliIo } from '../cli/cli-io.js';
import type { ConfirmConfig } from '../config/command-configs.js';
import type { Environment } from '../config/read-flags.js';
import { buildContainer, disposeContainer, resolveParts, verifyContainer } from '../container.js';
import { runChild } from '../executors/child-process.js';

/** One line describing an outcome, for people (`--json` prints the events instead). */
export function outcomeLine(outcome: ConfirmationOutcome): string {
  const facts = `mode ${outcome.mode}, strategy ${outcome.strategy}, ${outcome.attempts} attempt${
    outcome.attempts === 1 ? '' : 's'
  }, ${outcome.elapsedMs} ms`;
  return 'detail' in outcome
    ? `job ${outcome.jobId}: ${outcome.kind}: ${outcome.detail} (${facts})`
    : `job ${outcome.jobId}: ${outcome.kind} (${facts})`;
}

/**
 * The environment of `--prepare`: the runner's, without any `RUNNER_CORE_` variable or gitlab-runner's `CI_SERVER_`
 * names for them (tokens live there).
 */
function prepareEnvironment(env: Environment, jobId: number): Record<string, string> {
  const result: Record<string, string> = {};
  for (const [name, value] of Object.entries(env)) {
    if (value !== undefined && !name.startsWith('RUNNER_CORE_') && !name.startsWith('CI_SERVER_')) result[name] = value;
  }
  result.RUNNER_CORE_JOB_ID = String(jobId);
  return result;
}

/**
 * Runs `--prepare CMD` while keep-alives go out. A command that fails (or cannot start) declines the job; one stopped
 * because the job ended meanwhile (gone, canceled…) leaves that outcome as it is.
 */
async function prepare(pending: PendingJob, command: string, io: CliIo, clock: Clock): Promise<void> {
  const exit = await runChild({
    command: 'bash',
    args: ['-c', command],
    cwd: process.cwd(),
    env: prepareEnvironment(io.env, pending.id),
    output: { write: (chunk) => io.stderr(typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8')) },
    signal: pending.signal,
    clock,
  }).catch(() => undefined);
  if (exit === undefined) {
    await pending.decline('the prepare command could not be started');
    return;
  }
  if (exit.aborted) return;
  if (exit.exitCode !== 0) await pending.decline(`the prepare command exited with code ${exit.exitCode}`);
}

/**
 * `runner-core confirm`: confirms one job another tool received (it has the id and the job token). With
 * `--prepare CMD`, CMD runs (bash -c) while keep-alives go out; the job is confirmed when it succeeds and declined
 * when it fails. Prints the outcome (or, with `--json`, the events); exits 0 only when the job was confirmed.
 *
 * @returns the exit code
 */
export async function confirmCommand(config: ConfirmConfig, io: CliIo): Promise<number> {
  const container = buildContainer(config, {
    writeEvent: io.stdout,
    ...(io.logDestination === undefined ? {} : { logDestination: io.logDestination }),
  });
  try {
    verifyContainer(container);
    const { confirmation, clock } = resolveParts(container);
    // NOTE: the other tool kept the payload; id and token are all a confirmation sends.
    const payload: JobPayload = { id: config.jobId, token: config.jobToken };
    const pending = confirmation.receive(payload);
    const unsubscribe = io.onSignal(() => {
      void pending.decline('interrupted');
    });
    try {
      if (config.prepare !== undefined) await prepare(pending, config.prepare, io, clock);
      const outcome = await pending.confirm();
      if (!config.json) io.stdout(`${outcomeLine(outcome)}\n`);
      return outcome.kind === 'confirmed' ? 0 : 1;
    } finally {
      unsubscribe();
    }
  } finally {
    await disposeContainer(container);
  }
}
