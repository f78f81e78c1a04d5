import 'reflect-metadata';
import { FakeGitLab, InMemoryNetwork } from '@runner-core/adapter-fake';
import { HttpNetwork } from '@runner-core/adapter-http';
import {
  CLOCK,
  EventRecorder,
  EXECUTOR,
  goArchitecture,
  goPlatform,
  JOB_CONFIRMATION,
  JobConfirmation,
  LOGGER,
  NETWORK,
  OBSERVER,
  Secret,
  systemClock,
} from '@runner-core/core';
import { aJobPayload, ScriptedNetwork } from '@runner-core/core/testing';
import { container as rootContainer } from 'tsyringe';
import { describe, expect, it } from 'vitest';
import { appConfig } from '../src/config/app-config.js';
import { ConfigError } from '../src/config/read-flags.js';
import {
  APP_CONFIG,
  appRunnerInfo,
  buildContainer,
  ContainerError,
  disposeContainer,
  FAKE_GITLAB,
  resolveParts,
  verifyContainer,
} from '../src/container.js';
import { ExecExecutor } from '../src/executors/exec-executor.js';
import { ShellExecutor } from '../src/executors/shell-executor.js';
import { aConfirmedJob, TextSink } from './support/jobs.js';
import { LogCapture } from './support/scene.js';

const quiet = { logDestination: new LogCapture(), writeEvent: () => {} };

function containerError(action: () => unknown): string {
  try {
    action();
  } catch (error) {
    expect(error).toBeInstanceOf(ContainerError);
    return (error as Error).message;
  }
  throw new Error('expected a ContainerError');
}

describe('buildContainer', () => {
  it('registers every port under core tokens, selecting adapters by configuration', async () => {
    const http = buildContainer(appConfig({ url: 'https://gitlab.example.com', executor: 'shell' }), quiet);
    verifyContainer(http);
    expect(http.resolve(NETWORK)).toBeInstanceOf(HttpNetwork);
    expect(http.resolve(EXECUTOR)).toBeInstanceOf(ShellExecutor);
    expect(http.resolve(JOB_CONFIRMATION)).toBeInstanceOf(JobConfirmation);
    expect(http.resolve(CLOCK)).toBe(systemClock);
    expect(http.resolve(APP_CONFIG)).toMatchObject({ url: 'https://gitlab.example.com' });
    await disposeContainer(http);

    const memory = buildContainer(appConfig({ network: 'in-memory', executor: 'exec', exec: 'cat' }), quiet);
    verifyContainer(memory);
    expect(memory.resolve(NETWORK)).toBeInstanceOf(InMemoryNetwork);
    expect(memory.resolve(FAKE_GITLAB)).toBeInstanceOf(FakeGitLab);
    expect(memory.resolve(EXECUTOR)).toBeInstanceOf(ExecExecutor);
  });

  it('never registers anything in the global container', () => {
    buildContainer(appConfig({ network: 'in-memory' }), quiet);
    expect(rootContainer.isRegistered(NETWORK, true)).toBe(false);
  });

  it('builds one instance per container', () => {
    const c = buildContainer(appConfig({ network: 'in-memory' }), quiet);
    expect(c.resolve(JOB_CONFIRMATION)).toBe(c.resolve(JOB_CONFIRMATION));
    expect(c.resolve(LOGGER)).toBe(c.resolve(LOGGER));
  });

  it('lets a child container swap an adapter: the confirmation is built on the child’s network', async () => {
    const parent = buildContainer(appConfig({ url: 'https://gitlab.example.com' }), quiet);
    const child = parent.createChildContainer();
    const scripted = new ScriptedNetwork();
    child.register(NETWORK, { useValue: scripted });
    const payload = aJobPayload();
    const outcome = await resolveParts(child).confirmation.confirm(payload);
    expect(outcome.kind).toBe('confirmed');
    expect(scripted.jobCalls(payload.id)).toEqual(['PUT running']);
    // The parent keeps its own adapter.
    expect(parent.resolve(NETWORK)).toBeInstanceOf(HttpNetwork);
    await disposeContainer(parent);
  });

  it('adds NDJSON on stdout with --json, next to extra observers', () => {
    const lines: string[] = [];
    const recorder = new EventRecorder();
    const c = buildContainer(appConfig({ network: 'in-memory', json: true }), {
      ...quiet,
      writeEvent: (line) => lines.push(line),
      observers: [recorder],
    });
    resolveParts(c).observer.notify({
      event: 'job.outcome',
      elapsedMs: 12,
      attempts: 1,
      strategy: 'state-put',
      mode: 'two-phase',
      outcome: 'confirmed',
      jobId: 4,
    });
    expect(lines).toEqual([
      '{"event":"job.outcome","jobId":4,"outcome":"confirmed","mode":"two-phase","strategy":"state-put","attempts":1,"elapsedMs":12}\n',
    ]);
    expect(recorder.events).toHaveLength(1);
    expect(c.resolve(OBSERVER)).toBe(resolveParts(c).observer);
  });
});

describe('verifyContainer', () => {
  it('names the token and the configuration that selects it when an adapter cannot be built', () => {
    const message = containerError(() => verifyContainer(buildContainer(appConfig({ url: '' }), quiet)));
    expect(message).toMatch(/^cannot build Network \(selected by config key "network".*--url.*\): /);
    expect(message).toContain('"url" is required');
  });

  it('names the executor and --exec when exec has no command', () => {
    const c = buildContainer(appConfig({ network: 'in-memory', executor: 'exec' }), quiet);
    expect(containerError(() => verifyContainer(c))).toBe(
      'cannot build Executor (selected by config key "executor" with "exec" (--executor, --exec)): the exec executor needs a command (--exec CMD)',
    );
  });

  it('names a token nothing registered', () => {
    const bare = rootContainer.createChildContainer();
    bare.register(APP_CONFIG, { useValue: appConfig() });
    expect(containerError(() => verifyContainer(bare))).toBe(
      'nothing registered for Clock (token Symbol(Clock); selected by always registered (systemClock))',
    );
  });

  it('reports a bad TLS file by the flag that set it, in one line (a configuration mistake, not a wiring one)', () => {
    const c = buildContainer(appConfig({ url: 'https://gitlab.example.com', tlsCaFile: '/nonexistent/ca.pem' }), quiet);
    expect(() => verifyContainer(c)).toThrow(ConfigError);
    expect(() => verifyContainer(c)).toThrow('--tls-ca-file: "/nonexistent/ca.pem" cannot be read (ENOENT)');
  });
});

describe('the runner as GitLab shows it (docs/gitlab-protocol.md §2.2)', () => {
  it("reports platform and architecture in Go's names, as gitlab-runner does", () => {
    const info = appRunnerInfo({ executor: 'shell' });
    expect(info.platform).toBe(goPlatform(process.platform));
    expect(info.architecture).toBe(goArchitecture(process.arch));
    if (process.arch === 'x64') expect(info.architecture).toBe('amd64');
  });

  it("jobs see the runner token's short form, never the token", async () => {
    const token = new Secret('glrt-t3_abcdefghijklmnopqrstuvw');
    const container = buildContainer(appConfig({ executor: 'shell' }), { ...quiet, runnerToken: token });
    const executor = container.resolve<ShellExecutor>(EXECUTOR);
    const job = await aConfirmedJob({ script: ['echo "short=$CI_RUNNER_SHORT_TOKEN"', 'env'] });
    const trace = new TextSink();
    await executor.execute(job, { signal: new AbortController().signal, trace });
    expect(trace.text).toContain('short=abcdefghi\n');
    expect(trace.text).not.toContain(token.reveal());
    await disposeContainer(container);
  });
});
