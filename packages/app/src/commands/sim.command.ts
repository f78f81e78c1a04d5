import { FakeGitLab, FakeGitLabServer } from '@runner-core/adapter-fake';
import type { CliIo } from '../cli/cli-io.js';
import type { SimConfig } from '../config/command-configs.js';
import { formatDuration } from '../config/duration.js';

/** The script of the jobs the simulator queues: a few lines that show output, variables and masking. */
export const SIM_SCRIPT: readonly string[] = [
  'echo "Hello from job $CI_JOB_ID"',
  'echo "the deploy password is $DEPLOY_PASSWORD (masked in the trace)"',
  'sleep 1',
  'echo done',
];

/** The lines `runner-core sim` prints once it listens. */
export function simBanner(server: { readonly url: string }, gitlab: FakeGitLab, config: SimConfig): string {
  const { url } = server;
  const queued = gitlab.queuedJobIds();
  return [
    `runner-core sim: a fake GitLab (profile ${config.profile}, ack window ${formatDuration(config.ackWindowMs)})`,
    `  URL:          ${url}`,
    // NOTE: this is the fake's own token, printed on purpose so that a runner can be pointed at it.
    `  runner token: ${gitlab.runnerToken}   (a fake's token, printed on purpose)`,
    `  jobs queued:  ${queued.length === 0 ? 'none' : queued.join(', ')}`,
    '',
    'Control endpoints:',
    `  POST ${url}/-/sim/jobs              queue a job (optional JSON body, e.g. {"script":["echo hi"]})`,
    `  GET  ${url}/-/sim/jobs              every job and its state`,
    `  GET  ${url}/-/sim/jobs/ID           one job`,
    `  POST ${url}/-/sim/jobs/ID/cancel    cancel a job as a user would`,
    `  POST ${url}/-/sim/expire            run the expiry worker now`,
    `  GET  ${url}/-/sim/requests          the request log (tokens redacted)`,
    '',
    'Try, in another terminal (in this checkout; "runner-core run …" once the package is installed):',
    `  pnpm runner-core run --once --url ${url} --token ${gitlab.runnerToken}`,
    '',
    'Job requests carry the runner token in the RUNNER-TOKEN header and in the body, as gitlab-runner sends them;',
    'a request without it is answered 403 with the reason in its message.',
    '',
    'Ctrl-C stops the simulator.',
    '',
  ].join('\n');
}

/**
 * `runner-core sim`: serves the fake GitLab on 127.0.0.1 with `--jobs` jobs queued, prints its URL, its runner
 * token and the control endpoints, and runs until SIGINT/SIGTERM.
 *
 * @returns the exit code
 */
export async function simCommand(config: SimConfig, io: CliIo): Promise<number> {
  const gitlab = new FakeGitLab({
    profile: config.profile,
    ackWindowMs: config.ackWindowMs,
    ...(config.token === undefined ? {} : { runnerToken: config.token.reveal() }),
  });
  for (let i = 0; i < config.jobs; i++) gitlab.enqueueJob({ script: SIM_SCRIPT });
  let server: FakeGitLabServer;
  try {
    server = await FakeGitLabServer.start({ gitlab, port: config.port, host: '127.0.0.1' });
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    io.stderr(`runner-core: --port: cannot listen on 127.0.0.1:${config.port}: ${reason}\n`);
    return 1;
  }
  io.stdout(simBanner(server, gitlab, config));
  await new Promise<void>((resolve) => {
    const unsubscribe = io.onSignal(() => {
      unsubscribe();
      resolve();
    });
  });
  await server.close();
  io.stderr('runner-core sim: stopped\n');
  return 0;
}
