import { FakeGitLab, FakeGitLabServer } from '@runner-core/adapter-fake';
import { EventRecorder, type PrepareJob, Secret } from '@runner-core/core';
import { afterEach, describe, expect, it } from 'vitest';
import { appConfig } from '../src/config/app-config.js';
import { buildContainer, createRunLoop, disposeContainer, FAKE_GITLAB } from '../src/container.js';
import { LogCapture } from './support/scene.js';

/**
 * One scenario, two adapters: the app's container with `InMemoryNetwork` (a child container registering the fake)
 * and with `HttpNetwork` talking to `FakeGitLabServer` over loopback. The real shell executor runs the jobs and
 * the system clock drives both, with tiny intervals. Both runs must leave GitLab in the same state.
 */
describe.each(['in-memory', 'http'] as const)('the same scenario over the %s network', (network) => {
  let server: FakeGitLabServer | undefined;
  afterEach(async () => {
    await server?.close();
    server = undefined;
  });

  it('confirms and runs good jobs, reports a failing one, never runs a job taken by another manager', async () => {
    const gitlab = new FakeGitLab({ profile: 'two-phase', ackWindowMs: 3_000 });
    const ok = gitlab.enqueueJob({ script: ['echo "building $CI_JOB_ID"'] }).id;
    const failing = gitlab.enqueueJob({ script: ['echo "about to fail"', 'exit 3'] }).id;
    const taken = gitlab.enqueueJob({ script: ['echo "must never run"'] }).id;
    if (network === 'http') server = await FakeGitLabServer.start({ gitlab });

    const recorder = new EventRecorder();
    const parent = buildContainer(
      appConfig({
        network,
        url: server?.url ?? '',
        logLevel: 'trace',
        probe: true,
        keepAliveIntervalMs: 100,
        ackWindowMs: 3_000,
        confirmationTuning: { deadlineMarginMs: 500 },
      }),
      { observers: [recorder], logDestination: new LogCapture(), writeEvent: () => {}, proxyEnv: {} },
    );
    const container = parent.createChildContainer();
    if (network === 'in-memory') container.register(FAKE_GITLAB, { useValue: gitlab });

    const takeTheThirdJob: PrepareJob = async (pending) => {
      if (pending.id !== taken) return;
      gitlab.takeByOtherManager(pending.id);
      // The next keep-alive (within 100 ms) meets the other manager: 409.
      await new Promise<void>((resolve) => pending.signal.addEventListener('abort', () => resolve(), { once: true }));
    };
    const credentials = { token: new Secret(gitlab.runnerToken), systemId: 's_0123456789ab' };
    try {
      for (let i = 0; i < 3; i++) {
        const loop = createRunLoop(container, {
          credentials,
          once: true,
          traceIntervalMs: 50,
          prepare: takeTheThirdJob,
        });
        await loop.run();
      }
    } finally {
      await disposeContainer(container);
    }

    expect(
      recorder.of('job.outcome').map(({ jobId, outcome, mode, strategy }) => ({ jobId, outcome, mode, strategy })),
    ).toEqual([
      { jobId: ok, outcome: 'confirmed', mode: 'two-phase', strategy: 'state-put' },
      { jobId: failing, outcome: 'confirmed', mode: 'two-phase', strategy: 'state-put' },
      { jobId: taken, outcome: 'conflict', mode: 'unknown', strategy: 'state-put' },
    ]);
    expect(gitlab.job(ok)).toMatchObject({ status: 'success', runnerManager: 's_0123456789ab' });
    expect(gitlab.traceText(ok)).toContain(`building ${ok}`);
    expect(gitlab.job(failing)).toMatchObject({ status: 'failed', failureReason: 'script_failure', exitCode: 3 });
    expect(gitlab.traceText(failing)).toContain('about to fail');
    expect(gitlab.job(taken)).toMatchObject({ status: 'pending', runnerManager: 's_0therrunner0', trace: '' });
    const states = (id: number) =>
      gitlab
        .requestsFor(id)
        .filter((request) => request.operation === 'update-job')
        .map((request) => request.state);
    expect(states(ok)).toEqual(['pending', 'running', 'success']);
    expect(states(failing)).toEqual(['pending', 'running', 'failed']);
    expect(states(taken)).toEqual(['pending']);
  });
});
