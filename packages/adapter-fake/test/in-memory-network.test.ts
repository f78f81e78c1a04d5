import { MalformedResponseError, runnerInfo, Secret, TransportError } from '@runner-core/core';
import { runnerCredentials } from '@runner-core/core/testing';
import { describe, expect, test } from 'vitest';
import { createInMemoryNetwork, type FakeGitLab, InMemoryNetwork } from '../src/index.js';
import { aFake } from './support/wire.js';

const info = runnerInfo();

function runnerOf(gitlab: FakeGitLab, token = gitlab.runnerToken) {
  return runnerCredentials({ token: new Secret(token), systemId: 's_0123456789ab' });
}

async function receive(network: InMemoryNetwork, gitlab: FakeGitLab) {
  gitlab.enqueueJob();
  const result = await network.requestJob({ credentials: runnerOf(gitlab), info });
  if (result.kind !== 'job') throw new Error(`expected a job, got ${result.kind}`);
  return { id: result.job.id, token: result.job.token };
}

describe('InMemoryNetwork', () => {
  test('a scripted delay waits on the fake clock', async () => {
    const { gitlab, clock } = aFake('two-phase');
    const network = new InMemoryNetwork({ gitlab });
    const job = await receive(network, gitlab);
    gitlab.inject('update-job', { delayMs: 5_000 });
    let settled = false;
    const pending = network.updateJob(job, { info, state: 'running' }).then((result) => {
      settled = true;
      return result;
    });
    await clock.advance(4_999);
    expect(settled).toBe(false);
    await clock.advance(1);
    expect((await pending).kind).toBe('succeeded');
  });

  test('an aborted signal throws TransportError: sent false before sending, sent true while waiting', async () => {
    const { gitlab, clock } = aFake('two-phase');
    const network = new InMemoryNetwork({ gitlab });
    await expect(
      network.requestJob({ credentials: runnerOf(gitlab), info, signal: AbortSignal.abort() }),
    ).rejects.toMatchObject({ sent: false });
    expect(gitlab.requests()).toHaveLength(0);
    gitlab.inject('request-job', { delayMs: 50_000 });
    const controller = new AbortController();
    const polling = network.requestJob({ credentials: runnerOf(gitlab), info, signal: controller.signal });
    await clock.advance(1_000);
    controller.abort();
    await expect(polling).rejects.toMatchObject({ code: 'network.transport', sent: true });
  });

  test('a job assigned whose answer was lost: TransportError (sent: true), and the job is gone from the queue', async () => {
    const { gitlab } = aFake('two-phase');
    const { id } = gitlab.enqueueJob();
    gitlab.inject('request-job', { fault: 'reset', afterModel: true });
    const network = createInMemoryNetwork({ gitlab });
    const error = await network.requestJob({ credentials: runnerOf(gitlab), info }).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(TransportError);
    expect(error).toMatchObject({ sent: true });
    expect(gitlab.job(id)).toMatchObject({ assigned: true, status: 'pending' });
    expect((await network.requestJob({ credentials: runnerOf(gitlab), info })).kind).toBe('no-job');
  });

  test('last_update is kept per runner token, from 204 answers (a 201 carries none)', async () => {
    const { gitlab } = aFake('legacy');
    const other = gitlab.addRunner('glrt-second-runner-token');
    const network = new InMemoryNetwork({ gitlab });
    const first = await network.requestJob({ credentials: runnerOf(gitlab), info });
    gitlab.enqueueJob();
    expect((await network.requestJob({ credentials: runnerOf(gitlab, other), info })).kind).toBe('job');
    await network.requestJob({ credentials: runnerOf(gitlab), info });
    const otherEmpty = await network.requestJob({ credentials: runnerOf(gitlab, other), info });
    await network.requestJob({ credentials: runnerOf(gitlab, other), info });
    const sent = gitlab
      .requests('request-job')
      .map((request) => (request.body as { last_update?: string }).last_update);
    expect(sent).toEqual([
      undefined,
      undefined,
      first.kind === 'no-job' ? first.lastUpdate : 'none',
      undefined,
      otherEmpty.kind === 'no-job' ? otherEmpty.lastUpdate : 'none',
    ]);
  });

  test('the request id is ours, echoed by the server, and reported on the result', async () => {
    const { gitlab } = aFake('two-phase');
    const network = new InMemoryNetwork({ gitlab, newRequestId: () => 'fixed0request0id' });
    const result = await network.requestJob({ credentials: runnerOf(gitlab), info });
    expect(result.requestId).toBe('fixed0request0id');
    expect(gitlab.requests()[0]?.headers['x-request-id']).toBe('fixed0request0id');
    const generated = new InMemoryNetwork({ gitlab });
    expect((await generated.requestJob({ credentials: runnerOf(gitlab), info })).requestId).toMatch(/^[0-9a-f]{32}$/);
  });

  test('the update body: output {} on a confirmation, exit_code only when not 0, failure_reason only with failed', async () => {
    const { gitlab } = aFake('legacy');
    const network = new InMemoryNetwork({ gitlab });
    const job = await receive(network, gitlab);
    await network.updateJob(job, { info, state: 'running' });
    await network.updateJob(job, { info, state: 'failed', failureReason: 'script_failure', exitCode: 0 });
    const [confirm, final] = gitlab.requests('update-job').map((request) => request.body as Record<string, unknown>);
    expect(confirm).toMatchObject({ state: 'running', output: {} });
    expect(confirm).not.toHaveProperty('exit_code');
    expect(confirm).not.toHaveProperty('failure_reason');
    expect(final).toMatchObject({ state: 'failed', failure_reason: 'script_failure' });
    expect(final).not.toHaveProperty('exit_code');
    expect(gitlab.requests('update-job')[0]?.headers['user-agent']).toBe('runner-core-in-memory');
  });

  test('a 201 that is not application/json throws MalformedResponseError with the readable credentials', async () => {
    const { gitlab } = aFake('two-phase');
    gitlab.inject('request-job', {
      status: 201,
      body: '{"id":1,"token":"glcbt-x"}',
      headers: { 'Content-Type': 'text/html' },
    });
    const network = new InMemoryNetwork({ gitlab });
    const error = await network.requestJob({ credentials: runnerOf(gitlab), info }).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(MalformedResponseError);
    expect(String(error)).toContain('content type "text/html"');
    expect((error as MalformedResponseError).job?.id).toBe(1);
  });

  test('an error message echoing a token is redacted', async () => {
    const { gitlab } = aFake('two-phase');
    gitlab.inject('request-job', { status: 422, body: { message: `runner ${gitlab.runnerToken} is orphaned` } });
    const network = new InMemoryNetwork({ gitlab });
    const result = await network.requestJob({ credentials: runnerOf(gitlab), info });
    expect(result).toMatchObject({ kind: 'failed', status: 422, message: 'runner [REDACTED] is orphaned' });
  });

  test('trace answers carry the update interval in ms; a negative offset is refused', async () => {
    const { gitlab } = aFake('legacy', { traceUpdateIntervalSeconds: 5 });
    const network = new InMemoryNetwork({ gitlab });
    const job = await receive(network, gitlab);
    const result = await network.patchTrace(job, { content: Buffer.from('x'), offset: 0, debugTrace: true });
    expect(result).toMatchObject({ kind: 'succeeded', updateIntervalMs: 5_000 });
    expect(gitlab.requests('patch-trace')[0]?.query).toEqual({ debug_trace: 'true' });
    await expect(network.patchTrace(job, { content: Buffer.from('x'), offset: -1 })).rejects.toThrow(
      'trace offset must be a non-negative integer, got -1',
    );
  });
});

describe('onExchange (for metrics)', () => {
  test('tells of every request: its operation, status (none without an answer) and duration', async () => {
    const { gitlab, clock } = aFake('two-phase');
    const exchanges: unknown[] = [];
    const network = new InMemoryNetwork({ gitlab, onExchange: (exchange) => exchanges.push(exchange) });
    const job = await receive(network, gitlab);
    gitlab.inject('update-job', { delayMs: 250 });
    const confirming = network.updateJob(job, { info, state: 'running' });
    await clock.advance(250);
    await confirming;
    gitlab.inject('update-job', { fault: 'refused' });
    await network.updateJob(job, { info, state: 'running' }).catch(() => undefined);
    expect(exchanges).toEqual([
      { operation: 'request-job', status: 201, durationMs: 0 },
      { operation: 'update-job', status: 200, durationMs: 250 },
      { operation: 'update-job', status: undefined, durationMs: 0 },
    ]);
  });
});
