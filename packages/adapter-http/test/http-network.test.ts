import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { inspect } from 'node:util';
import {
  ClientConfigError,
  MalformedResponseError,
  runnerInfo,
  TransportError,
  UnexpectedStatusError,
} from '@runner-core/core';
import nock from 'nock';
import { afterEach, describe, expect, it } from 'vitest';
import { HttpNetwork, type HttpNetworkOptions } from '../src/index.js';
import { CaptureLogger } from './support/capture-logger.js';
import {
  fakeClock,
  fixture,
  fixtureText,
  GITLAB,
  JOB_TOKEN,
  jobCredentials,
  NOW,
  RUNNER_TOKEN,
  runnerCredentials,
} from './support/fixtures.js';
import { systemError, unmatchedRequests, useNock } from './support/nock-setup.js';

useNock({ allowLoopback: true });

const network = (options: Partial<HttpNetworkOptions> = {}) =>
  new HttpNetwork({ url: GITLAB, clock: fakeClock(), ...options });
const askForJob = (http: HttpNetwork) => http.requestJob({ credentials: runnerCredentials(), info: runnerInfo() });
const confirm = (http: HttpNetwork) => http.updateJob(jobCredentials(), { info: runnerInfo(), state: 'running' });
const patch = (http: HttpNetwork) =>
  http.patchTrace(jobCredentials(), { content: new TextEncoder().encode('hello'), offset: 0 });
const json = { 'Content-Type': 'application/json' };

async function rejection(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof Error) return error;
    throw new Error(`expected an Error, got ${inspect(error)}`);
  }
  throw new Error('expected a rejection, got a result');
}

describe('answers over HTTP (one request per call: the adapter never retries)', () => {
  it.each([
    [201, json, fixtureText('jobs-request.201.json'), 'job'],
    [204, {}, '', 'no-job'],
    [403, json, fixtureText('jobs-request.403.json'), 'forbidden'],
    [503, { 'Retry-After': '1' }, '', 'unavailable'],
    [429, { 'Retry-After': '1' }, '', 'rate-limited'],
    [409, {}, '', 'failed'],
    [500, {}, '', 'failed'],
  ])('POST /jobs/request %i → %s, after exactly one request', async (status, headers, body, kind) => {
    const unmatched = unmatchedRequests();
    const scope = nock(GITLAB).post('/api/v4/jobs/request').reply(status, body, headers);
    const result = await askForJob(network());
    scope.done();
    unmatched.stop();
    expect(unmatched.count()).toBe(0);
    expect(result.kind).toBe(kind);
  });

  it('T5 / R5: a 503 with Retry-After surfaces the wait for the core, read against the injected clock', async () => {
    const scope = nock(GITLAB).post('/api/v4/jobs/request').times(2).reply(503, '', { 'Retry-After': '7' });
    const clock = fakeClock();
    const http = network({ clock });
    expect(await askForJob(http)).toMatchObject({ kind: 'unavailable', wait: { retryAfterAt: NOW + 7_000 } });
    await clock.advance(60_000);
    expect(await askForJob(http)).toMatchObject({ kind: 'unavailable', wait: { retryAfterAt: NOW + 67_000 } });
    scope.done();
  });

  it.each([
    [200, {}, { kind: 'succeeded' }],
    [200, { 'Job-Status': 'canceling' }, { kind: 'succeeded', cancelRequested: true }],
    [200, { 'Job-Status': 'canceled' }, { kind: 'aborted', reason: 'job-canceled' }],
    [403, { 'Job-Status': 'pending' }, { kind: 'aborted', reason: 'forbidden', jobStatus: 'pending' }],
    [404, {}, { kind: 'aborted', reason: 'not-found' }],
    [409, {}, { kind: 'conflict' }],
    [400, { 'Job-Status': 'running' }, { kind: 'rejected', jobStatus: 'running' }],
    [202, { 'X-GitLab-Trace-Update-Interval': '4' }, { kind: 'accepted', updateIntervalMs: 4_000 }],
    [412, {}, { kind: 'trace-invalid' }],
    [502, {}, { kind: 'retryable', status: 502 }],
    [
      429,
      { 'RateLimit-ResetTime': new Date(NOW + 2_000).toUTCString() },
      { kind: 'retryable', wait: { rateLimitResetAt: NOW + 2_000 } },
    ],
  ] as const)('PUT /jobs/:id %i %o', async (status, headers, expected) => {
    const scope = nock(GITLAB).put('/api/v4/jobs/4242').reply(status, String(status), headers);
    expect(await confirm(network())).toMatchObject(expected);
    scope.done();
  });

  it.each([
    [404, {}, { kind: 'unsupported' }],
    [405, {}, { kind: 'unsupported' }],
    [404, { 'Job-Status': 'failed' }, { kind: 'aborted' }],
    [200, {}, { kind: 'succeeded' }],
  ] as const)('POST /jobs/:id/runner_status %i %o', async (status, headers, expected) => {
    const scope = nock(GITLAB).post('/api/v4/jobs/4242/runner_status').reply(status, '', headers);
    const result = await network().postRunnerStatus(jobCredentials(), { info: runnerInfo(), status: 'pending' });
    expect(result).toMatchObject(expected);
    scope.done();
  });

  it.each([
    [202, { 'Job-Status': 'running' }, { kind: 'succeeded', offset: 5 }],
    [202, { 'Job-Status': 'failed' }, { kind: 'aborted' }],
    [403, {}, { kind: 'aborted' }],
    [404, {}, { kind: 'not-found' }],
    [416, { Range: '0-10' }, { kind: 'range-mismatch', offset: 10 }],
    [503, {}, { kind: 'retryable', status: 503 }],
  ] as const)('PATCH /jobs/:id/trace %i %o', async (status, headers, expected) => {
    const scope = nock(GITLAB).patch('/api/v4/jobs/4242/trace').query(true).reply(status, '', headers);
    expect(await patch(network())).toMatchObject(expected);
    scope.done();
  });

  it('T7 / T8 deviation: where gitlab-runner retries inside its client (5 attempts), HttpNetwork sends one request and hands `retryable` with the wait to the core', async () => {
    const unmatched = unmatchedRequests();
    const scope = nock(GITLAB)
      .put('/api/v4/jobs/4242')
      .reply(503, '', { 'Retry-After': '2' })
      .patch('/api/v4/jobs/4242/trace')
      .query(true)
      .reply(429, '', { 'Retry-After': '3' });
    const http = network();
    expect(await confirm(http)).toMatchObject({ kind: 'retryable', status: 503, wait: { retryAfterAt: NOW + 2_000 } });
    expect(await patch(http)).toMatchObject({ kind: 'retryable', status: 429, wait: { retryAfterAt: NOW + 3_000 } });
    scope.done();
    unmatched.stop();
    expect(unmatched.count()).toBe(0);
  });

  it('U7 / U9 with the bodies Rails sends: the message is read, the kind comes from the status', async () => {
    const logger = new CaptureLogger();
    const scope = nock(GITLAB)
      .put('/api/v4/jobs/4242')
      .reply(403, fixtureText('jobs-update.403.json'), { ...json, 'Job-Status': 'pending' })
      .put('/api/v4/jobs/4242')
      .reply(400, fixtureText('jobs-update.400.json'), json);
    const http = network({ logger });
    expect(await confirm(http)).toMatchObject({ kind: 'aborted', reason: 'forbidden', jobStatus: 'pending' });
    expect(await confirm(http)).toMatchObject({ kind: 'rejected' });
    scope.done();
    expect(
      logger.lines.filter((line) => line.level === 'warn').map(({ fields }) => [fields.answer, fields.message]),
    ).toEqual([
      ['aborted', '403 Forbidden - Job is not processing on runner'],
      ['rejected', '400 Bad request'],
    ]);
  });

  it('R1: logs the received job with the request id, the job id and a repo URL without credentials', async () => {
    const logger = new CaptureLogger();
    const scope = nock(GITLAB)
      .post('/api/v4/jobs/request')
      .reply(201, fixtureText('jobs-request.201.json'), { ...json, 'X-Request-Id': 'server-side-id' });
    await askForJob(network({ logger }));
    scope.done();
    const line = logger.lines.find((candidate) => candidate.message === 'Checking for jobs... received');
    expect(line?.level).toBe('info');
    expect(line?.fields).toMatchObject({
      requestId: 'server-side-id',
      job: 4242,
      repo_url: 'https://gitlab.example.com/acme/demo.git',
      runner: 'RUNNERsec',
    });
  });

  it('R3: a forbidden job request is logged as an error', async () => {
    const logger = new CaptureLogger();
    const scope = nock(GITLAB).post('/api/v4/jobs/request').reply(403, fixtureText('jobs-request.403.json'), json);
    await askForJob(network({ logger }));
    scope.done();
    expect(logger.lines.map((line) => [line.level, line.message])).toContainEqual([
      'error',
      'Checking for jobs... forbidden',
    ]);
  });
});

describe('malformed job payloads', () => {
  it('a 201 that is not JSON is a MalformedResponseError without credentials', async () => {
    const scope = nock(GITLAB).post('/api/v4/jobs/request').reply(201, '{"id": 4242, "token": "glcbt-', json);
    const error = await rejection(askForJob(network()));
    scope.done();
    expect(error).toBeInstanceOf(MalformedResponseError);
    expect(error.message).toMatch(/not JSON/);
    expect((error as MalformedResponseError).job).toBeUndefined();
    expect(error.message).not.toContain('glcbt-');
  });

  it('a 201 with the wrong MIME type is a MalformedResponseError carrying the readable credentials', async () => {
    const scope = nock(GITLAB)
      .post('/api/v4/jobs/request')
      .reply(201, fixtureText('jobs-request.201.json'), { 'Content-Type': 'text/html; charset=utf-8' });
    const error = await rejection(askForJob(network()));
    scope.done();
    expect(error).toBeInstanceOf(MalformedResponseError);
    expect(error.message).toContain('text/html');
    expect((error as MalformedResponseError).job?.id).toBe(4242);
  });

  it('a schema failure names the field and carries the credentials when id and token are readable', async () => {
    const body = { ...fixture('jobs-request.201.json'), steps: [{ name: 'script', script: 'make test' }] };
    const scope = nock(GITLAB).post('/api/v4/jobs/request').reply(201, body, json);
    const error = await rejection(askForJob(network()));
    scope.done();
    expect(error).toBeInstanceOf(MalformedResponseError);
    expect(error.message).toContain('steps[0].script');
    expect((error as MalformedResponseError).job?.token.reveal()).toBe(JOB_TOKEN);
  });

  it('a schema failure without a readable id carries no credentials', async () => {
    const body = { ...fixture('jobs-request.201.json'), id: '4242' };
    const scope = nock(GITLAB).post('/api/v4/jobs/request').reply(201, body, json);
    const error = await rejection(askForJob(network()));
    scope.done();
    expect(error).toBeInstanceOf(MalformedResponseError);
    expect(error.message).toContain('field id ');
    expect((error as MalformedResponseError).job).toBeUndefined();
  });

  it('still records the last update of a malformed answer', async () => {
    let second: Record<string, unknown> | undefined;
    const scope = nock(GITLAB)
      .post('/api/v4/jobs/request')
      .reply(201, 'nope', { ...json, 'X-GitLab-Last-Update': 'seen' })
      .post('/api/v4/jobs/request')
      .reply((_path, body) => {
        second = body as Record<string, unknown>;
        return [204, ''];
      });
    const http = network();
    await rejection(askForJob(http));
    await askForJob(http);
    scope.done();
    expect(second?.last_update).toBe('seen');
  });
});

/*
 * NOTE: gitlab-runner returns transport errors at once and never retries them. runner-core's core retries them for
 * idempotent calls (keep-alive, confirmation) and, for the non-idempotent job request, only when `sent` is false;
 * the adapter's part is one attempt and an accurate `sent` flag.
 */
describe('transport faults', () => {
  it.each([
    ['ECONNREFUSED', false],
    ['ENOTFOUND', false],
    ['EAI_AGAIN', false],
    ['ECONNRESET', true],
    ['EPIPE', true],
    ['ETIMEDOUT', true],
  ])('T9 / R10: %s is a TransportError with sent: %s after one attempt', async (code, sent) => {
    const scope = nock(GITLAB).post('/api/v4/jobs/request').replyWithError(systemError(code));
    const error = await rejection(askForJob(network()));
    scope.done();
    expect(error).toBeInstanceOf(TransportError);
    expect(error).toMatchObject({ code: 'network.transport', sent });
    expect(error.message).toContain('POST /api/v4/jobs/request');
    expect(error.message).toContain(code);
  });

  it('P9: a trace patch to a server that is down is a TransportError', async () => {
    const scope = nock(GITLAB).patch('/api/v4/jobs/4242/trace').query(true).replyWithError(systemError('ECONNREFUSED'));
    await expect(patch(network())).rejects.toMatchObject({ code: 'network.transport', sent: false });
    scope.done();
  });

  it('the cause is sanitized: only the system fields, never the request config with its tokens', async () => {
    const scope = nock(GITLAB).put('/api/v4/jobs/4242').replyWithError(systemError('ECONNRESET', 'socket hang up'));
    const error = await rejection(confirm(network()));
    scope.done();
    const cause = error.cause as Record<string, unknown>;
    expect(cause).toBeInstanceOf(Error);
    expect(cause.code).toBe('ECONNRESET');
    expect(cause).not.toHaveProperty('config');
    expect(cause).not.toHaveProperty('request');
    expect(cause).not.toHaveProperty('response');
    const printed = inspect(error, { depth: 20, showHidden: true });
    expect(printed).not.toContain(JOB_TOKEN);
  });

  it('a server error message echoing a token is redacted in the error', async () => {
    const scope = nock(GITLAB)
      .post('/api/v4/jobs/request')
      .replyWithError(systemError('ECONNRESET', `reset while sending ${RUNNER_TOKEN}`));
    const error = await rejection(askForJob(network()));
    scope.done();
    // The message says what happened in words; the cause keeps the client's own text, redacted.
    expect(error.message).toBe(
      'POST /api/v4/jobs/request failed: the connection to gitlab.example.com was reset (ECONNRESET)',
    );
    expect((error.cause as Error).message).toContain('[REDACTED]');
    expect(inspect(error, { depth: 20, showHidden: true })).not.toContain(RUNNER_TOKEN);
  });

  it('an already aborted signal fails without sending (sent: false)', async () => {
    const unmatched = unmatchedRequests();
    const controller = new AbortController();
    controller.abort();
    const error = await rejection(
      network().requestJob({ credentials: runnerCredentials(), info: runnerInfo(), signal: controller.signal }),
    );
    unmatched.stop();
    expect(unmatched.count()).toBe(0);
    expect(error).toMatchObject({ code: 'network.transport', sent: false });
  });

  it('aborting a long poll in flight is a TransportError with sent: true', async () => {
    const scope = nock(GITLAB).post('/api/v4/jobs/request').delayConnection(60_000).reply(204);
    const controller = new AbortController();
    const pending = network().requestJob({
      credentials: runnerCredentials(),
      info: runnerInfo(),
      signal: controller.signal,
    });
    scope.once('request', () => controller.abort());
    const error = await rejection(pending);
    expect(error).toBeInstanceOf(TransportError);
    expect(error).toMatchObject({ sent: true, message: expect.stringContaining('aborted') });
    scope.done();
  });

  describe('timeouts (a loopback server that never answers)', () => {
    let server: Server | undefined;
    afterEach(async () => {
      server?.closeAllConnections();
      server?.close();
      server = undefined;
    });

    it('a request that outlives timeoutMs is a TransportError with sent: true', async () => {
      // NOTE: the one real wait of this suite: a socket timeout cannot be driven by an injected clock.
      server = createServer(() => {});
      server.listen(0, '127.0.0.1');
      await once(server, 'listening');
      const { port } = server.address() as AddressInfo;
      const http = network({ url: `http://127.0.0.1:${port}`, timeoutMs: 50 });
      const error = await rejection(confirm(http));
      http.close();
      expect(error).toBeInstanceOf(TransportError);
      expect(error).toMatchObject({ sent: true, message: expect.stringMatching(/timed out/) });
    });
  });
});

describe('redirects', () => {
  it('T10: a same-origin 307 on PATCH is followed with method, headers and body re-sent', async () => {
    const bodies: unknown[] = [];
    const scope = nock(GITLAB, { reqheaders: { 'job-token': JOB_TOKEN, 'content-range': '0-4' } })
      .patch('/api/v4/jobs/4242/trace')
      .query({ debug_trace: 'false' })
      .reply((_path, body) => {
        bodies.push(body);
        return [307, '', { Location: '/api/v4/jobs/4242/trace-moved?debug_trace=false' }];
      })
      .patch('/api/v4/jobs/4242/trace-moved')
      .query({ debug_trace: 'false' })
      .reply((_path, body) => {
        bodies.push(body);
        return [202, ''];
      });
    const result = await patch(network());
    scope.done();
    expect(result).toMatchObject({ kind: 'succeeded', offset: 5 });
    expect(bodies).toEqual(['hello', 'hello']);
  });

  it('a same-origin 308 on the job request re-sends the body and RUNNER-TOKEN', async () => {
    const tokens: unknown[] = [];
    const scope = nock(GITLAB, { reqheaders: { 'runner-token': RUNNER_TOKEN } })
      .post('/api/v4/jobs/request')
      .reply(308, '', { Location: `${GITLAB}/api/v4/jobs/request2` })
      .post('/api/v4/jobs/request2', (body: { token?: unknown }) => {
        tokens.push(body.token);
        return true;
      })
      .reply(204);
    expect((await askForJob(network())).kind).toBe('no-job');
    scope.done();
    expect(tokens).toEqual([RUNNER_TOKEN]);
  });

  it.each([
    ['another host', 'https://evil.example.net/steal?token=x'],
    ['another scheme', 'http://gitlab.example.com/api/v4/jobs/4242'],
    ['another port', 'https://gitlab.example.com:8443/api/v4/jobs/4242'],
  ])('a 307 to %s is refused, naming only the target origin', async (_, location) => {
    const unmatched = unmatchedRequests();
    const scope = nock(GITLAB).put('/api/v4/jobs/4242').reply(307, '', { Location: location });
    const error = await rejection(confirm(network()));
    scope.done();
    unmatched.stop();
    expect(unmatched.count()).toBe(0);
    expect(error).toBeInstanceOf(UnexpectedStatusError);
    expect(error).toMatchObject({ status: 307 });
    expect(error.message).toContain(new URL(location).origin);
    const target = error.message.slice(error.message.indexOf('redirecting'));
    expect(target).toContain(new URL(location).origin);
    expect(target).not.toMatch(/steal|token=|\/api\/v4/);
  });

  it.each([301, 302, 303])('a %i is refused even within the origin', async (status) => {
    const scope = nock(GITLAB).put('/api/v4/jobs/4242').reply(status, '', { Location: '/api/v4/jobs/4242/elsewhere' });
    const error = await rejection(confirm(network()));
    scope.done();
    expect(error).toBeInstanceOf(UnexpectedStatusError);
    expect(error).toMatchObject({ status });
    expect(error.message).toContain(String(status));
    expect(error.message).toContain(GITLAB);
  });

  it('a redirect without Location is an UnexpectedStatusError', async () => {
    const scope = nock(GITLAB).put('/api/v4/jobs/4242').reply(307);
    await expect(confirm(network())).rejects.toMatchObject({ code: 'network.unexpected-status', status: 307 });
    scope.done();
  });

  it('stops after 10 hops', async () => {
    const scope = nock(GITLAB)
      .put(/\/api\/v4\/jobs\/4242/)
      .times(11)
      .reply(307, '', { Location: '/api/v4/jobs/4242/again' });
    const error = await rejection(confirm(network()));
    scope.done();
    expect(error).toBeInstanceOf(UnexpectedStatusError);
    expect(error.message).toMatch(/more than 10 times/);
  });

  it('credentials in the target origin are not echoed', async () => {
    const scope = nock(GITLAB)
      .put('/api/v4/jobs/4242')
      .reply(307, '', { Location: 'https://user:hunter2@evil.example.net/x' });
    const error = await rejection(confirm(network()));
    scope.done();
    expect(error.message).not.toContain('hunter2');
    expect(error.message).toContain('evil.example.net');
  });
});

describe('configuration errors surface as ClientConfigError', () => {
  it('R4: a URL without a scheme', () => {
    expect(() => network({ url: 'invalid' })).toThrow(ClientConfigError);
  });
});

describe('logging of final updates', () => {
  it.each([
    ['failed', 'warn'],
    ['canceled', 'warn'],
  ])(
    'a final failed answered 200 + Job-Status: %s is the update landing: logged at debug, not %s',
    async (jobStatus) => {
      const logger = new CaptureLogger();
      const scope = nock(GITLAB).put('/api/v4/jobs/4242').reply(200, '200', { 'Job-Status': jobStatus });
      const result = await network({ logger }).updateJob(jobCredentials(), {
        info: runnerInfo(),
        state: 'failed',
        failureReason: 'script_failure',
      });
      scope.done();
      expect(result.kind).toBe('aborted');
      expect(logger.lines.filter((line) => line.level === 'warn')).toEqual([]);
      expect(logger.lines.some((line) => line.message.includes(`ok (job ${jobStatus})`))).toBe(true);
    },
  );

  it('a confirmation answered 200 + Job-Status: failed is still a warning (the job is gone)', async () => {
    const logger = new CaptureLogger();
    const scope = nock(GITLAB).put('/api/v4/jobs/4242').reply(200, '200', { 'Job-Status': 'failed' });
    await network({ logger }).updateJob(jobCredentials(), { info: runnerInfo(), state: 'running' });
    scope.done();
    expect(logger.lines.filter((line) => line.level === 'warn')).toHaveLength(1);
  });
});

describe('onExchange (for metrics)', () => {
  it('tells of every request: its operation, HTTP status, or none when no answer came', async () => {
    const exchanges: Array<{ operation: string; status: number | undefined }> = [];
    const http = network({ onExchange: ({ operation, status }) => exchanges.push({ operation, status }) });
    const scope = nock(GITLAB)
      .post('/api/v4/jobs/request')
      .reply(204)
      .post('/api/v4/jobs/request')
      .replyWithError(systemError('ECONNRESET'));
    await askForJob(http);
    await rejection(askForJob(http));
    scope.done();
    expect(exchanges).toEqual([
      { operation: 'request-job', status: 204 },
      { operation: 'request-job', status: undefined },
    ]);
  });
});
