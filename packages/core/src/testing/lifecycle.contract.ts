import { ExecutorError } from '../execution/executor.errors.js';
import type { JobConfirmationOptions } from '../job-confirmation/confirmation.types.js';
import { JobConfirmation } from '../job-confirmation/job-confirmation.js';
import type { PrepareJob } from '../job-session/job-session.js';
import type { Network } from '../network/network.port.js';
import { runnerInfo } from '../network/runner-info.js';
import { EventRecorder } from '../observer/event-recorder.js';
import { fanOut } from '../observer/observer.port.js';
import { defaultRetryPolicy, noDelayRetryPolicy } from '../retry/retry-policy.js';
import { ServerGate } from '../retry/server-gate.js';
import { RunLoop, type RunLoopOptions } from '../run-loop/run-loop.js';
import { Secret } from '../secret/secret.js';
import type { ServerProfile, SimulatedGitLab } from '../simulation/simulated-gitlab.js';
import { aWireJob, defaultMaskedValue } from '../simulation/wire-job.js';
import { InMemoryStateStore } from '../state/in-memory-state-store.js';
import { RESTART_NOTICE } from '../state/recovery.js';
import type { OutboxEntry, StateStore } from '../state/state-store.port.js';
import { runnerCredentials } from './builders.js';
import type { FakeClock } from './fake-clock.js';
import type { ContractExpect, ContractTest } from './network.contract.js';
import { type ExecutorScript, ScriptedExecutor } from './scripted-executor.js';
import { SecretScan } from './secret-scan.js';

/** What the lifecycle suite runs against: an adapter, the fake GitLab behind it, and the fake clock both share. */
export interface LifecycleHarness {
  readonly network: Network;
  readonly gitlab: SimulatedGitLab;
  /** The clock of the runner and of the fake GitLab. */
  readonly clock: FakeClock;
  /** Frees what the harness holds (a server, sockets). */
  close?(): Promise<void> | void;
}

/** Builds one fresh lifecycle harness per test, for the given server profile. */
export type LifecycleHarnessFactory = (options: {
  readonly profile: ServerProfile;
}) => LifecycleHarness | Promise<LifecycleHarness>;

/** Options of {@link lifecycleContract}. */
export interface LifecycleContractOptions {
  /** Prefix of every test name. @default 'Job lifecycle' */
  readonly name?: string;
}

const SYSTEM_ID = 's_1ifecyc1e001';
/** Fake time for loops to make progress without waiting on anything real. */
const SETTLE = 1;

/**
 * The whole job lifecycle of the core — polling, holding, confirming, executing, shipping the trace, reporting the
 * final state, obeying cancel and shutdown — run against any `Network` adapter and the fake GitLab behind it
 * (docs/design.md §2b). Registers its tests through `test` and asserts with the context's `expect`, like
 * `networkContract`. Everything but the adapter is core: `RunLoop`, `JobSession`, `JobConfirmation` and a scripted
 * in-process executor, all on the harness's fake clock.
 *
 * A harness over real I/O (loopback HTTP) works too: the suite holds fake time while a call is in flight.
 */
export function lifecycleContract(
  test: ContractTest,
  makeHarness: LifecycleHarnessFactory,
  options: LifecycleContractOptions = {},
): void {
  const name = options.name ?? 'Job lifecycle';
  const define = (
    title: string,
    profile: ServerProfile,
    body: (expect: ContractExpect, scene: Scene) => Promise<void>,
  ): void => {
    test(`${name} [${profile}] ${title}`, async ({ expect }) => {
      const harness = await makeHarness({ profile });
      const scan = new SecretScan();
      try {
        const current = scene(harness, scan);
        await body(expect, current);
        // NOTE: whatever the flow was, no token and no masked value reached a log line, an event, a result or a trace.
        current.recordTraces();
        expect(scan.findings()).toEqual([]);
      } finally {
        await harness.close?.();
      }
    });
  };

  for (const profile of ['legacy', 'two-phase', 'runner-status'] as const) {
    define('confirms a job, runs it, ships the trace and reports success', profile, async (expect, scene) => {
      const { id } = scene.gitlab.enqueueJob({ name: 'build' });
      const summary = await scene.clock.run(scene.loop({ once: true }).run());
      expect(summary).toMatchObject({ ended: 'once', exitCode: 0 });
      expect(summary.reports[0]?.outcome).toMatchObject({
        kind: 'confirmed',
        strategy: profile === 'runner-status' ? 'runner-status' : 'state-put',
      });
      expect(scene.gitlab.job(id)).toMatchObject({ status: 'success', runnerManager: SYSTEM_ID });
      expect(scene.gitlab.traceText(id)).toBe('hello from the test executor\n');
      const confirmation = profile === 'runner-status' ? 'post-runner-status running' : 'update-job running';
      expect(operations(scene, id)).toEqual([confirmation, 'patch-trace', 'update-job success']);
      expect(scene.recorder.of('job.finished')[0]).toMatchObject({ jobId: id, state: 'success' });
      expect(scene.executor.jobs.map((job) => job.id)).toEqual([id]);
    });
  }

  define(
    'probes the mode, then confirms (keep-alive, confirmation, trace, final state)',
    'two-phase',
    async (expect, scene) => {
      const { id } = scene.gitlab.enqueueJob();
      const summary = await scene.clock.run(scene.loop({ once: true }, { probe: true }).run());
      expect(summary.reports[0]?.outcome).toMatchObject({ kind: 'confirmed', mode: 'two-phase' });
      expect(operations(scene, id)).toEqual([
        'update-job pending',
        'update-job running',
        'patch-trace',
        'update-job success',
      ]);
      expect(scene.recorder.events.map((event) => event.event)).toEqual([
        'job.received',
        'keep-alive.sent',
        'keep-alive.answered',
        'confirm.attempt',
        'confirm.answered',
        'job.outcome',
        'job.finished',
      ]);
    },
  );

  define(
    'masks the job token, masked variables and prefixed tokens in the trace',
    'two-phase',
    async (expect, scene) => {
      const { id, token } = scene.gitlab.enqueueJob();
      const output = `pw=${defaultMaskedValue} tok=${token.reveal()} pat=glpat-AbCdEf123456\n`;
      await scene.clock.run(scene.loop({ once: true }, {}, { output }).run());
      expect(scene.gitlab.traceText(id)).toBe('pw=[MASKED] tok=[MASKED] pat=glpat-[MASKED]\n');
    },
  );

  define('reports a failed script with failure_reason and exit_code', 'two-phase', async (expect, scene) => {
    const { id } = scene.gitlab.enqueueJob();
    const failed = { result: { kind: 'failed', failureReason: 'script_failure', exitCode: 3 } } as const;
    await scene.clock.run(scene.loop({ once: true }, {}, failed).run());
    expect(scene.gitlab.job(id)).toMatchObject({ status: 'failed', failureReason: 'script_failure', exitCode: 3 });
    expect(scene.recorder.of('job.finished')[0]).toMatchObject({ state: 'failed', exitCode: 3 });
  });

  define(
    'a failure reason the job’s GitLab does not list is reported as unknown_failure (§11 A6)',
    'two-phase',
    async (expect, scene) => {
      const { id } = scene.gitlab.enqueueJob();
      const failed = { result: { kind: 'failed', failureReason: 'image_pull_failure', exitCode: 1 } } as const;
      const summary = await scene.clock.run(scene.loop({ once: true }, {}, failed).run());
      expect(summary.reports[0]?.execution?.finalUpdate.kind).toBe('reported');
      expect(scene.gitlab.job(id)).toMatchObject({ status: 'failed', failureReason: 'unknown_failure', exitCode: 1 });
    },
  );

  define(
    "an executor's fault is reported as runner_system_failure with its cause in words, masked",
    'two-phase',
    async (expect, scene) => {
      const { id } = scene.gitlab.enqueueJob();
      const fault = new ExecutorError(
        'executor.start',
        `could not start the job: DEPLOY_PASSWORD=${defaultMaskedValue} is too large`,
      );
      const summary = await scene.clock.run(scene.loop({ once: true }, {}, { output: '', fault }).run());
      expect(summary.reports[0]?.execution?.result).toEqual({ kind: 'failed', failureReason: 'runner_system_failure' });
      expect(scene.gitlab.job(id)).toMatchObject({ status: 'failed', failureReason: 'runner_system_failure' });
      expect(scene.gitlab.traceText(id)).toBe(
        '\nERROR: the executor failed: could not start the job: DEPLOY_PASSWORD=[MASKED] is too large\n',
      );
    },
  );

  define('exits 0 without a job when none is queued', 'two-phase', async (expect, scene) => {
    const summary = await scene.clock.run(scene.loop({ once: true }).run());
    expect(summary).toEqual({ reports: [], ended: 'once', unreported: 0, exitCode: 0 });
    expect(scene.gitlab.requests().map((request) => request.operation)).toEqual(['request-job']);
  });

  define(
    'exits 1 with a clear event when GitLab refuses the runner token (403)',
    'two-phase',
    async (expect, scene) => {
      const stranger = runnerCredentials({ token: new Secret('glrt-unknown-to-this-gitlab'), systemId: SYSTEM_ID });
      const summary = await scene.clock.run(scene.loop({ once: true, credentials: stranger }).run());
      expect(summary).toMatchObject({ ended: 'unhealthy', exitCode: 1 });
      expect(scene.recorder.of('runner.unhealthy')[0]?.reason).toContain('refused the runner token (403 Forbidden)');
    },
  );

  define(
    'never runs a job another runner manager took, and reports nothing for it',
    'two-phase',
    async (expect, scene) => {
      const { id } = scene.gitlab.enqueueJob();
      const prepare: PrepareJob = async (pending) => {
        scene.gitlab.takeByOtherManager(pending.id);
        await scene.clock.sleep(10_000, pending.signal);
      };
      const summary = await scene.clock.run(scene.loop({ once: true, prepare }, { keepAliveIntervalMs: 1_000 }).run());
      expect(summary.reports[0]?.outcome.kind).toBe('conflict');
      expect(scene.executor.jobs).toHaveLength(0);
      expect(scene.gitlab.requestsFor(id).filter((request) => request.state === 'failed')).toHaveLength(0);
    },
  );

  for (const profile of ['legacy', 'two-phase'] as const) {
    define('declines a job whose preparation fails', profile, async (expect, scene) => {
      const { id } = scene.gitlab.enqueueJob();
      const prepare: PrepareJob = async () => {
        // NOTE: one keep-alive first, so the mode is known when the decline comes.
        await scene.clock.sleep(40_000);
        throw new Error('no VM available');
      };
      const summary = await scene.clock.run(scene.loop({ once: true, prepare }).run());
      expect(summary.reports[0]?.outcome).toMatchObject({ kind: 'declined', detail: 'preparation failed' });
      expect(scene.executor.jobs).toHaveLength(0);
      if (profile === 'legacy') {
        // A legacy job already runs server-side: the decline releases it.
        expect(scene.gitlab.job(id)).toMatchObject({ status: 'failed', failureReason: 'runner_system_failure' });
      } else {
        // Two-phase: nothing is sent; the window lapses and GitLab hands the job to another runner.
        expect(scene.gitlab.requestsFor(id).filter((request) => request.state === 'failed')).toHaveLength(0);
        expect(scene.gitlab.job(id).status).toBe('pending');
      }
    });
  }

  define('releases an unusable payload (invalid) and exits 1', 'legacy', async (expect, scene) => {
    const wire = aWireJob({ id: 9_090, payload: { variables: 'not a list' } });
    scene.gitlab.inject('request-job', { status: 201, headers: { 'Content-Type': 'application/json' }, body: wire });
    const summary = await scene.clock.run(scene.loop({ once: true }).run());
    expect(summary).toMatchObject({ exitCode: 1, reports: [{ jobId: 9_090, outcome: { kind: 'invalid' } }] });
    expect(scene.recorder.of('job.released')).toHaveLength(1);
    expect(scene.executor.jobs).toHaveLength(0);
  });

  define(
    'stops the job when GitLab says canceling, and reports failed once (job_canceled, through the listed reasons)',
    'legacy',
    async (expect, scene) => {
      const { id } = scene.gitlab.enqueueJob();
      const run = scene.loop({ once: true }, {}, { durationMs: 60_000 }).run();
      await scene.clock.advance(SETTLE);
      expect(scene.executor.running).toBe(1);
      scene.gitlab.cancelJob(id);
      const summary = await scene.clock.run(run);
      expect(summary.reports[0]?.execution).toMatchObject({
        stopped: 'canceled',
        // NOTE: job_canceled is no reason GitLab lists, so it goes out as unknown_failure (§11 A6); GitLab ends a
        // canceling job canceled whatever the reason.
        result: { kind: 'failed', failureReason: 'unknown_failure' },
        finalUpdate: { kind: 'reported' },
      });
      expect(scene.executor.aborted).toBe(1);
      const finals = scene.gitlab.requestsFor(id).filter((request) => request.state === 'failed');
      expect(finals.map((request) => (request.body as { failure_reason?: string }).failure_reason)).toEqual([
        'unknown_failure',
      ]);
      expect(scene.gitlab.job(id).status).toBe('canceled');
    },
  );

  define(
    'a silent job learns of a cancel at the update interval GitLab asked for, not 30 s later',
    'legacy',
    async (expect, scene) => {
      const { id } = scene.gitlab.enqueueJob();
      // Someone watches the job: GitLab asks for updates every 3 s (the confirmation's answer says so).
      scene.gitlab.inject(
        'update-job',
        { status: 200, headers: { 'Job-Status': 'running', 'X-GitLab-Trace-Update-Interval': '3' } },
        { jobId: id },
      );
      const run = scene.loop({ once: true }, {}, { durationMs: 600_000, output: '' }).run();
      await scene.clock.advance(SETTLE);
      expect(scene.executor.running).toBe(1);
      await scene.clock.advance(10_000);
      const canceledAt = scene.clock.now();
      scene.gitlab.cancelJob(id);
      await scene.clock.advance(3_500);
      expect(scene.executor.aborted).toBe(1);
      expect(scene.clock.now() - canceledAt).toBeLessThanOrEqual(3_500);
      await scene.clock.run(run);
      expect(scene.gitlab.job(id).status).toBe('canceled');
    },
  );

  define('stops a job GitLab dropped (403 on the trace) and reports nothing', 'two-phase', async (expect, scene) => {
    const { id } = scene.gitlab.enqueueJob();
    scene.gitlab.inject('patch-trace', { status: 403 }, { jobId: id });
    const summary = await scene.clock.run(scene.loop({ once: true }, {}, { durationMs: 60_000 }).run());
    expect(summary.reports[0]?.execution).toMatchObject({ stopped: 'gone', finalUpdate: { kind: 'gone' } });
    expect(
      scene.gitlab.requestsFor(id).filter((request) => request.state === 'success' || request.state === 'failed'),
    ).toHaveLength(0);
    expect(scene.recorder.of('job.finished').map((event) => event.report)).toEqual(['gone']);
  });

  define(
    'carries on after a trace patch answered 404, and reports the final state',
    'two-phase',
    async (expect, scene) => {
      const { id } = scene.gitlab.enqueueJob();
      scene.gitlab.inject('patch-trace', { status: 404 }, { jobId: id });
      const summary = await scene.clock.run(scene.loop({ once: true }, {}, { durationMs: 2_000 }).run());
      expect(summary.reports[0]?.execution).toMatchObject({ finalUpdate: { kind: 'reported' } });
      expect(scene.gitlab.job(id).status).toBe('success');
    },
  );

  define(
    'never reports a final state over an unsent trace: a failed last patch is retried first',
    'two-phase',
    async (expect, scene) => {
      const { id } = scene.gitlab.enqueueJob();
      // The job ends before the first tick, so its only patch is the final flush: it fails twice, then lands.
      scene.gitlab.injectSequence('patch-trace', [{ status: 503 }, { fault: 'reset' }], { jobId: id });
      const summary = await scene.clock.run(scene.loop({ once: true }).run());
      expect(summary.reports[0]?.execution).toMatchObject({ finalUpdate: { kind: 'reported' } });
      expect(scene.gitlab.job(id)).toMatchObject({ status: 'success', trace: 'hello from the test executor\n' });
      const sequence = operations(scene, id).filter((operation) => operation !== 'update-job running');
      expect(sequence).toEqual(['patch-trace', 'patch-trace', 'patch-trace', 'update-job success']);
    },
  );

  define(
    'repeats the final update after 202, waiting the interval GitLab asked for',
    'two-phase',
    async (expect, scene) => {
      const { id } = scene.gitlab.enqueueJob();
      const run = scene.loop({ once: true }, {}, { durationMs: 2_000 }).run();
      await scene.clock.advance(SETTLE);
      expect(scene.executor.running).toBe(1);
      // Scripted once the job is confirmed, so the 202 answers the final update.
      scene.gitlab.inject(
        'update-job',
        { status: 202, headers: { 'X-GitLab-Trace-Update-Interval': '4' } },
        { jobId: id },
      );
      await scene.clock.run(run);
      const finals = scene.gitlab.requestsFor(id).filter((request) => request.state === 'success');
      expect(finals.map((request) => request.answer)).toMatchObject([{ status: 202 }, { status: 200 }]);
      expect((finals[1]?.at ?? 0) - (finals[0]?.at ?? 0)).toBe(4_000);
      expect(scene.gitlab.job(id).status).toBe('success');
    },
  );

  define(
    'runs at most `concurrency` jobs at once, and asks again at once after a job',
    'two-phase',
    async (expect, scene) => {
      const ids = [1, 2, 3, 4, 5].map(() => scene.gitlab.enqueueJob().id);
      const loop = scene.loop({ concurrency: 2, checkIntervalMs: 60_000 }, {}, { durationMs: 5_000 });
      const run = loop.run();
      await scene.clock.advance(SETTLE);
      expect(scene.executor.running).toBe(2);
      await scene.clock.advance(20_000);
      expect(ids.map((id) => scene.gitlab.job(id).status)).toEqual([
        'success',
        'success',
        'success',
        'success',
        'success',
      ]);
      loop.stop();
      const summary = await scene.clock.run(run);
      expect(scene.executor.maxRunning).toBe(2);
      expect(summary.reports).toHaveLength(5);
      expect(summary.ended).toBe('stopped');
    },
  );

  define(
    'first signal: no new job requests; the job in flight finishes and is reported',
    'two-phase',
    async (expect, scene) => {
      const first = scene.gitlab.enqueueJob().id;
      const second = scene.gitlab.enqueueJob().id;
      const loop = scene.loop({ concurrency: 1 }, {}, { durationMs: 10_000 });
      const run = loop.run();
      await scene.clock.advance(SETTLE);
      loop.stop();
      const summary = await scene.clock.run(run);
      expect(summary.ended).toBe('stopped');
      expect(scene.gitlab.job(first).status).toBe('success');
      expect(scene.gitlab.job(second).status).toBe('pending');
      expect(scene.gitlab.requests('request-job')).toHaveLength(1);
    },
  );

  define(
    'second signal: pending jobs are declined, running jobs failed as runner_system_failure',
    'legacy',
    async (expect, scene) => {
      const running = scene.gitlab.enqueueJob().id;
      const preparing = scene.gitlab.enqueueJob().id;
      const prepare: PrepareJob = async (pending) => {
        if (pending.id === preparing) await scene.clock.sleep(60_000, pending.signal);
      };
      const loop = scene.loop({ concurrency: 2, prepare }, {}, { durationMs: 60_000 });
      const run = loop.run();
      await scene.clock.advance(SETTLE);
      expect(scene.executor.running).toBe(1);
      loop.stop();
      loop.abort();
      const summary = await scene.clock.run(run);
      const byJob = new Map(summary.reports.map((report) => [report.jobId, report]));
      expect(byJob.get(running)?.execution).toMatchObject({
        stopped: 'shutdown',
        result: { kind: 'failed', failureReason: 'runner_system_failure' },
        finalUpdate: { kind: 'reported' },
      });
      expect(byJob.get(preparing)?.outcome.kind).toBe('declined');
      expect(scene.gitlab.job(running)).toMatchObject({ status: 'failed', failureReason: 'runner_system_failure' });
      // A legacy job may already run server-side: the decline releases it.
      expect(scene.gitlab.job(preparing)).toMatchObject({ status: 'failed', failureReason: 'runner_system_failure' });
    },
  );

  // -------------------------------------------------------------------------------------------------------------
  // Never lose a job: outages and crashes (the crash is simulated: the first runner's network goes dead, as if its
  // process had been killed, and a second runner starts over the same state store)

  define(
    'a final state GitLab does not take in time is kept and delivered once GitLab is back',
    'two-phase',
    async (expect, scene) => {
      const { id } = scene.gitlab.enqueueJob();
      const store = new InMemoryStateStore();
      const loop = scene.loop(
        { once: true, finalUpdate: { timeoutMs: 10_000 }, outboxWaitMs: 600_000, retry: defaultRetryPolicy },
        {},
        { durationMs: 2_000 },
        { store },
      );
      const run = loop.run();
      await scene.clock.advance(SETTLE);
      expect(scene.executor.running).toBe(1);
      // Once the job runs, GitLab is down for about a minute: longer than the final update's 10 s.
      scene.gitlab.inject('update-job', { status: 503 }, { jobId: id, times: 40 });
      const summary = await scene.clock.run(run, 50_000);
      expect(summary).toMatchObject({ unreported: 0, exitCode: 0 });
      expect(scene.recorder.of('outbox.kept').map((event) => event.jobId)).toEqual([id]);
      expect(scene.recorder.of('outbox.delivered')).toMatchObject([{ jobId: id, result: 'reported' }]);
      expect(finals(scene, id)).toEqual(['success']);
      expect(await store.load()).toEqual({ journal: [], outbox: [] });
    },
  );

  define(
    'GitLab down past the wait: the run ends 1 and the state stays for the next start',
    'two-phase',
    async (expect, scene) => {
      const { id } = scene.gitlab.enqueueJob();
      const store = new InMemoryStateStore();
      const first = scene.loop(
        { once: true, finalUpdate: { timeoutMs: 5_000 }, outboxWaitMs: 5_000, retry: defaultRetryPolicy },
        {},
        { durationMs: 2_000 },
        { store },
      );
      const run = first.run();
      await scene.clock.advance(SETTLE);
      expect(scene.executor.running).toBe(1);
      scene.gitlab.inject('update-job', { status: 503 }, { jobId: id, times: 100 });
      expect(await scene.clock.run(run, 50_000)).toMatchObject({ unreported: 1, exitCode: 1 });
      const kept = (await store.load()).outbox;
      expect(kept.map((entry) => [entry.job.id, entry.state])).toEqual([[id, 'success']]);
      scene.gitlab.clearInjections();
      const second = scene.loop({ once: true }, {}, {}, { store });
      expect(await scene.clock.run(second.run(), 50_000)).toMatchObject({ unreported: 0, exitCode: 0 });
      expect(finals(scene, id)).toEqual(['success']);
      expect(scene.gitlab.job(id)).toMatchObject({ status: 'success', trace: 'hello from the test executor\n' });
    },
  );

  for (const point of ['while the job runs', 'after keeping the final state', 'after GitLab took it'] as const) {
    define(
      `a runner killed ${point} reports the job exactly once after its restart`,
      'two-phase',
      async (expect, scene) => {
        const { id } = scene.gitlab.enqueueJob();
        const dead = crashable(scene.network);
        const store = crashingStore(
          new InMemoryStateStore(),
          point === 'after keeping the final state'
            ? 'putFinalState'
            : point === 'after GitLab took it'
              ? 'removeFinalState'
              : undefined,
          dead.crash,
        );
        const first = scene.loop({ once: true }, {}, { durationMs: 30_000 }, { store, network: dead.network });
        void first.run();
        if (point === 'while the job runs') {
          await scene.clock.advance(5_000);
          dead.crash();
        } else {
          await scene.clock.advance(40_000);
        }
        expect(dead.crashed()).toBe(true);
        const second = scene.loop({ once: true }, {}, {}, { store: store.inner });
        const summary = await scene.clock.run(second.run(), 50_000);
        expect(summary).toMatchObject({ unreported: 0, exitCode: 0 });
        const job = scene.gitlab.job(id);
        if (point === 'while the job runs') {
          expect(job).toMatchObject({ status: 'failed', failureReason: 'runner_system_failure' });
          expect(job.trace.endsWith(RESTART_NOTICE)).toBe(true);
          expect(scene.recorder.of('job.recovered')).toMatchObject([
            { jobId: id, phase: 'running', action: 'reported' },
          ]);
        } else {
          expect(job).toMatchObject({ status: 'success', trace: 'hello from the test executor\n' });
        }
        expect(job.history.filter((change) => change.status === 'success' || change.status === 'failed')).toHaveLength(
          1,
        );
        expect(await store.inner.load()).toEqual({ journal: [], outbox: [] });
      },
    );
  }

  define(
    'a crash report whose first trace patch landed but whose answer was lost writes the restart notice once (soak D1)',
    'legacy',
    async (expect, scene) => {
      const { id } = scene.gitlab.enqueueJob();
      const dead = crashable(scene.network);
      const store = new InMemoryStateStore();
      const first = scene.loop(
        { once: true },
        {},
        { output: '', durationMs: 600_000 },
        { store, network: dead.network },
      );
      void first.run();
      await scene.clock.advance(1_000);
      dead.crash();
      // GitLab holds none of the trace; the first patch of the report lands, its answer is lost.
      scene.gitlab.inject('patch-trace', { fault: 'reset', afterModel: true }, { jobId: id });
      const second = scene.loop({ once: true }, {}, {}, { store });
      const summary = await scene.clock.run(second.run(), 50_000);
      expect(summary).toMatchObject({ unreported: 0, exitCode: 0 });
      expect(scene.gitlab.job(id)).toMatchObject({ status: 'failed', failureReason: 'runner_system_failure' });
      expect(scene.gitlab.job(id).trace).toBe(RESTART_NOTICE);
    },
  );

  define(
    'a runner killed while its confirmation was on the wire reports the job on restart instead of letting it lapse (soak D2)',
    'two-phase',
    async (expect, scene) => {
      const { id } = scene.gitlab.enqueueJob();
      const dead = crashable(scene.network);
      const store = new InMemoryStateStore();
      // GitLab takes the confirmation; the runner dies before its answer arrives.
      const network: Network = {
        ...dead.network,
        updateJob: async (job, input) => {
          const answer = await dead.network.updateJob(job, input);
          if (input.state !== 'running') return answer;
          dead.crash();
          return new Promise<never>(() => {});
        },
      };
      // NOTE: the probe's keep-alive first, so the runner knows the server is two-phase when it confirms.
      const first = scene.loop({ once: true }, { probe: true }, {}, { store, network });
      void first.run();
      await scene.clock.advance(1_000);
      expect(dead.crashed()).toBe(true);
      expect(scene.gitlab.job(id).status).toBe('running');
      const second = scene.loop({ once: true }, {}, {}, { store });
      const summary = await scene.clock.run(second.run(), 50_000);
      expect(summary).toMatchObject({ unreported: 0, exitCode: 0 });
      expect(scene.recorder.of('job.recovered')).toMatchObject([{ jobId: id, action: 'reported' }]);
      expect(scene.gitlab.job(id)).toMatchObject({ status: 'failed', failureReason: 'runner_system_failure' });
    },
  );

  define(
    'a runner killed while a job was pending in two-phase mode lets it lapse on restart',
    'two-phase',
    async (expect, scene) => {
      const { id } = scene.gitlab.enqueueJob();
      const dead = crashable(scene.network);
      const store = new InMemoryStateStore();
      const prepare: PrepareJob = (pending) => scene.clock.sleep(600_000, pending.signal);
      const first = scene.loop({ once: true, prepare }, {}, {}, { store, network: dead.network });
      void first.run();
      await scene.clock.advance(35_000);
      dead.crash();
      const second = scene.loop({ once: true }, {}, {}, { store });
      await scene.clock.run(second.run(), 50_000);
      expect(scene.recorder.of('job.recovered')).toMatchObject([{ jobId: id, phase: 'pending', action: 'lapsed' }]);
      expect(scene.gitlab.requestsFor(id).filter((request) => request.state === 'failed')).toHaveLength(0);
      expect(await store.load()).toEqual({ journal: [], outbox: [] });
    },
  );
}

/** The final states GitLab recorded for a job: `success`/`failed` changes of its history. */
function finals(scene: Scene, id: number): string[] {
  return scene.gitlab
    .job(id)
    .history.filter((change) => change.status === 'success' || change.status === 'failed')
    .map((change) => change.status);
}

/** A network that goes dead on `crash()`: every call from then on never settles, as if the process had died. */
function crashable(network: Network) {
  let dead = false;
  const never = new Promise<never>(() => {});
  const guard = <T>(call: () => Promise<T>): Promise<T> => (dead ? never : call());
  return {
    crash: () => {
      dead = true;
    },
    crashed: () => dead,
    network: {
      verifyRunner: (input) => guard(() => network.verifyRunner(input)),
      requestJob: (input) => guard(() => network.requestJob(input)),
      updateJob: (job, input) => guard(() => network.updateJob(job, input)),
      postRunnerStatus: (job, input) => guard(() => network.postRunnerStatus(job, input)),
      patchTrace: (job, input) => guard(() => network.patchTrace(job, input)),
      close: () => network.close(),
    } satisfies Network,
  };
}

/** A store that "kills the process" (`crash`) right after `method` wrote, before the runner can go on. */
function crashingStore(inner: StateStore, method: 'putFinalState' | 'removeFinalState' | undefined, crash: () => void) {
  const never = new Promise<never>(() => {});
  const store: StateStore & { readonly inner: StateStore } = {
    inner,
    recordJob: (entry) => inner.recordJob(entry),
    forgetJob: (jobId) => inner.forgetJob(jobId),
    putFinalState: async (entry: OutboxEntry) => {
      await inner.putFinalState(entry);
      if (method === 'putFinalState') {
        crash();
        return never;
      }
    },
    removeFinalState: async (jobId) => {
      // NOTE: GitLab took the state; the kill comes before the entry is removed.
      if (method === 'removeFinalState') {
        crash();
        return never;
      }
      await inner.removeFinalState(jobId);
    },
    load: () => inner.load(),
  };
  return store;
}

/** One test's runner: the core's use cases over the harness's adapter. */
interface Scene {
  readonly gitlab: SimulatedGitLab;
  readonly clock: FakeClock;
  readonly recorder: EventRecorder;
  /** The executor of the last loop built. */
  readonly executor: ScriptedExecutor;
  loop(
    options?: Partial<RunLoopOptions>,
    confirmation?: JobConfirmationOptions,
    script?: ExecutorScript,
    parts?: { readonly store?: StateStore; readonly network?: Network },
  ): RunLoop;
  /** The harness's network, as the loops use it (wrap it to simulate a crash). */
  readonly network: Network;
  /** Hands the traces of every job queued to the secret scan. */
  recordTraces(): void;
}

function scene(harness: LifecycleHarness, scan: SecretScan): Scene {
  const { clock } = harness;
  scan.watch('the runner token', harness.gitlab.runnerToken);
  scan.watch('the masked variable DEPLOY_PASSWORD', defaultMaskedValue);
  const jobIds: number[] = [];
  // Every job's token is watched: the scene's GitLab records them as jobs are queued.
  const enqueueJob: SimulatedGitLab['enqueueJob'] = (spec) => {
    const enqueued = harness.gitlab.enqueueJob(spec);
    scan.watch(`job ${enqueued.id} token`, enqueued.token);
    jobIds.push(enqueued.id);
    return enqueued;
  };
  const gitlab = new Proxy(harness.gitlab, {
    get(target, property) {
      if (property === 'enqueueJob') return enqueueJob;
      const value: unknown = Reflect.get(target, property, target);
      // NOTE: bound to the fake itself, whose private fields a proxy receiver could not reach.
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
  let inFlight = 0;
  clock.holdWhile(() => inFlight > 0);
  const network = counted(harness.network, (delta) => {
    inFlight += delta;
  });
  const recorder = new EventRecorder();
  const observer = fanOut(recorder, scan.observer);
  let executor = new ScriptedExecutor(clock);
  const gate = new ServerGate(clock);
  return {
    gitlab,
    clock,
    recorder,
    recordTraces() {
      for (const id of jobIds) scan.record(`the trace of job ${id}`, harness.gitlab.job(id).trace);
    },
    get executor() {
      return executor;
    },
    network,
    loop(options = {}, confirmationOptions = {}, script = {}, parts = {}) {
      executor = new ScriptedExecutor(clock, script);
      const info = runnerInfo();
      const used = parts.network ?? network;
      const confirmation = new JobConfirmation(
        { network: used, clock, observer, gate: parts.network === undefined ? gate : new ServerGate(clock) },
        { info, retry: noDelayRetryPolicy, random: () => 0.5, ...confirmationOptions },
      );
      return new RunLoop(
        {
          network: used,
          clock,
          confirmation,
          executor,
          observer,
          logger: scan.logger,
          ...(parts.store === undefined ? {} : { store: parts.store }),
        },
        {
          credentials: runnerCredentials({ token: new Secret(gitlab.runnerToken), systemId: SYSTEM_ID }),
          info,
          checkIntervalMs: 1_000,
          traceIntervalMs: 500,
          retry: noDelayRetryPolicy,
          random: () => 0.5,
          ...options,
        },
      );
    },
  };
}

/** The operations and states sent about a job, in order: `update-job running`, `patch-trace`, … */
function operations(scene: Scene, id: number): string[] {
  return scene.gitlab.requestsFor(id).map((request) => `${request.operation} ${request.state ?? ''}`.trim());
}

/** The same network, counting calls in flight (the fake clock waits for them; see `FakeClock.holdWhile`). */
function counted(network: Network, onChange: (delta: 1 | -1) => void): Network {
  const track = <T>(call: () => Promise<T>): Promise<T> => {
    onChange(1);
    return call().finally(() => onChange(-1));
  };
  return {
    verifyRunner: (input) => track(() => network.verifyRunner(input)),
    requestJob: (input) => track(() => network.requestJob(input)),
    updateJob: (job, input) => track(() => network.updateJob(job, input)),
    postRunnerStatus: (job, input) => track(() => network.postRunnerStatus(job, input)),
    patchTrace: (job, input) => track(() => network.patchTrace(job, input)),
    close: () => network.close(),
  };
}
