import { FakeGitLab, FakeGitLabServer } from '@runner-core/adapter-fake';
import { HttpNetwork } from '@runner-core/adapter-http';
import {
  EventRecorder,
  JobConfirmation,
  type PendingJob,
  RunLoop,
  runnerInfo,
  Secret,
  silentLogger,
  systemClock,
} from '@runner-core/core';
import { ScriptedShellExecutor } from './scripted-shell.executor.js';

/*
 * An embedded runner on @runner-core/core and one adapter, with its own executor and no app package. Against a
 * GitLab when RUNNER_CORE_URL and RUNNER_CORE_TOKEN are set; otherwise against the fake GitLab over loopback
 * HTTP, with three jobs queued, checking afterwards that GitLab holds the results it should (exit 1 if not).
 */

/** Simulated provisioning: the job is held pending (keep-alives go out) until the "VM" is up. */
async function provision(job: PendingJob): Promise<void> {
  console.log(`job ${job.id}: provisioning a VM while GitLab holds the job (mode so far: ${job.mode})`);
  await systemClock.sleep(300, job.signal);
  if (job.signal.aborted) throw new Error('the job went away while provisioning');
}

async function main(): Promise<number> {
  const url = process.env.RUNNER_CORE_URL;
  const token = process.env.RUNNER_CORE_TOKEN;
  const gitlab = url === undefined ? new FakeGitLab({ profile: 'two-phase' }) : undefined;
  const server = gitlab === undefined ? undefined : await FakeGitLabServer.start({ gitlab });
  const jobs =
    gitlab === undefined
      ? []
      : [
          gitlab.enqueueJob({ name: 'build', script: ['echo building', 'echo password is $DEPLOY_PASSWORD'] }),
          gitlab.enqueueJob({ name: 'test', script: ['echo testing', 'exit 3'] }),
          gitlab.enqueueJob({ name: 'deploy', script: ['echo deploying'] }),
        ];

  const network = new HttpNetwork({ url: url ?? server?.url ?? '' });
  const recorder = new EventRecorder();
  const info = runnerInfo({ name: 'embedded-runner-example', executor: 'custom' });
  const confirmation = new JobConfirmation({ network, clock: systemClock, observer: recorder }, { info, probe: true });
  const loop = new RunLoop(
    {
      network,
      clock: systemClock,
      confirmation,
      executor: new ScriptedShellExecutor(),
      observer: recorder,
      logger: silentLogger,
    },
    {
      credentials: { token: new Secret(token ?? gitlab?.runnerToken ?? ''), systemId: 's_e4a3p1e00001' },
      info,
      concurrency: 2,
      checkIntervalMs: 200,
      traceIntervalMs: 100,
      prepare: provision,
    },
  );

  try {
    if (gitlab === undefined) {
      process.once('SIGINT', () => loop.stop());
      const summary = await loop.run();
      return summary.exitCode;
    }
    // Against the fake: stop once every queued job has ended.
    const done = setInterval(() => {
      if (jobs.every(({ id }) => ['success', 'failed', 'canceled'].includes(gitlab.jobStatus(id)))) loop.stop();
    }, 50);
    const summary = await loop.run().finally(() => clearInterval(done));
    for (const report of summary.reports) {
      const ended = report.execution?.result;
      console.log(
        `job ${report.jobId}: ${report.outcome.kind} (${report.outcome.mode}), ` +
          `${ended === undefined ? 'not run' : ended.kind === 'success' ? 'success' : `failed: ${ended.failureReason}`}`,
      );
    }
    return verify(gitlab, jobs);
  } finally {
    await network.close();
    await server?.close();
  }
}

/** What GitLab must hold once the runner is done: each job's state, and a trace with the secret masked. */
function verify(gitlab: FakeGitLab, jobs: ReadonlyArray<{ readonly id: number }>): number {
  const [build, test, deploy] = jobs.map(({ id }) => gitlab.job(id));
  const problems = [
    build?.status === 'success' ? undefined : `build ended ${build?.status}`,
    build?.trace.includes('password is [MASKED]') ? undefined : 'the build trace does not mask the password',
    test?.status === 'failed' && test.failureReason === 'script_failure' && test.exitCode === 3
      ? undefined
      : `test ended ${test?.status}/${test?.failureReason}`,
    deploy?.status === 'success' ? undefined : `deploy ended ${deploy?.status}`,
  ].filter((problem): problem is string => problem !== undefined);
  for (const problem of problems) console.error(`embedded-runner example: ${problem}`);
  if (problems.length === 0) console.log('embedded-runner example: every job reported as expected');
  return problems.length === 0 ? 0 : 1;
}

process.exitCode = await main();
