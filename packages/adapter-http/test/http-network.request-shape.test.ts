import { runnerFeatures, runnerInfo } from '@runner-core/core';
import nock from 'nock';
import { describe, expect, it } from 'vitest';
import { HttpNetwork, type HttpNetworkOptions } from '../src/index.js';
import {
  fakeClock,
  GITLAB,
  JOB_TOKEN,
  jobCredentials,
  RUNNER_TOKEN,
  runnerCredentials,
  sequentialIds,
} from './support/fixtures.js';
import { unmatchedRequests, useNock } from './support/nock-setup.js';

useNock();

const network = (options: Partial<HttpNetworkOptions> = {}) =>
  new HttpNetwork({ url: GITLAB, clock: fakeClock(), ...options });

/** What a nock reply function saw. */
interface Seen {
  headers: Record<string, string | string[] | undefined>;
  body: unknown;
  path: string;
}

const REQUEST_ID = /^[0-9a-f]{32}$/;
const USER_AGENT = /^runner-core 0\.1\.0 \(main; node v\d+\.\d+\.\d+; [a-z0-9]+\/[a-z0-9]+\)$/;

describe('POST /jobs/request', () => {
  it('R11 / R12: RUNNER-TOKEN equal to the body token, system_id, Accept and Content-Type JSON, a request id, the user agent and every feature', async () => {
    let seen: Seen | undefined;
    const scope = nock(GITLAB, {
      reqheaders: {
        accept: 'application/json',
        'content-type': 'application/json',
        'x-request-id': REQUEST_ID,
        'user-agent': USER_AGENT,
      },
    })
      .post('/api/v4/jobs/request')
      .reply(function (path, body) {
        seen = { headers: this.req.headers, body, path };
        return [204, ''];
      });

    await network().requestJob({ credentials: runnerCredentials(), info: runnerInfo() });

    scope.done();
    expect(seen?.headers['runner-token']).toBe(RUNNER_TOKEN);
    const body = seen?.body as Record<string, unknown>;
    expect(body.token).toBe(RUNNER_TOKEN);
    expect(body.system_id).toBe('s_0123456789ab');
    expect(body).not.toHaveProperty('last_update');
    expect(body.info).toEqual(JSON.parse(JSON.stringify(runnerInfo())));
    const features = (body.info as { features: Record<string, boolean> }).features;
    expect(Object.keys(features)).toEqual(Object.keys(runnerFeatures()));
    expect(Object.keys(features)).toHaveLength(31);
    expect(features.two_phase_job_commit).toBe(true);
    expect(features.variables).toBe(false);
  });

  it('sends the user agent given in the options', async () => {
    const scope = nock(GITLAB, { reqheaders: { 'user-agent': 'acme-dispatcher/2.0' } })
      .post('/api/v4/jobs/request')
      .reply(204);
    await network({ userAgent: 'acme-dispatcher/2.0' }).requestJob({
      credentials: runnerCredentials(),
      info: runnerInfo(),
    });
    scope.done();
  });

  it('R2: echoes the last X-GitLab-Last-Update as last_update, keeps it across answers without one, per runner token', async () => {
    const bodies: Record<string, unknown>[] = [];
    const answer =
      (status: number, headers: Record<string, string> = {}) =>
      (_path: string, body: unknown): [number, string, Record<string, string>] => {
        bodies.push(body as Record<string, unknown>);
        return [status, '', headers];
      };
    const scope = nock(GITLAB)
      .post('/api/v4/jobs/request')
      .reply(answer(204, { 'X-GitLab-Last-Update': 'a nice timestamp' }))
      .post('/api/v4/jobs/request')
      .reply(answer(204)) // Workhorse's long poll answers without the header: the value is kept
      .post('/api/v4/jobs/request')
      .reply(answer(503, { 'X-GitLab-Last-Update': 'after the outage' }))
      .post('/api/v4/jobs/request')
      .reply(answer(204, { 'X-GitLab-Last-Update': '' }))
      .post('/api/v4/jobs/request')
      .reply(answer(204));
    const http = network();
    const ask = (token?: string) => http.requestJob({ credentials: runnerCredentials(token), info: runnerInfo() });

    await ask();
    await ask();
    await ask();
    await ask();
    await ask('glrt-ANOTHERrunnerTOKEN');

    scope.done();
    expect(bodies.map((body) => body.last_update)).toEqual([
      undefined,
      'a nice timestamp',
      'a nice timestamp',
      'after the outage',
      undefined,
    ]);
  });

  it('returns and logs the server X-Request-Id when it sends one, else ours', async () => {
    const scope = nock(GITLAB)
      .post('/api/v4/jobs/request')
      .reply(204, '', { 'X-Request-Id': '01HSERVERSIDEID' })
      .post('/api/v4/jobs/request')
      .reply(204);
    const ids = sequentialIds();
    const http = network({ newRequestId: ids });
    const input = { credentials: runnerCredentials(), info: runnerInfo() };

    const first = await http.requestJob(input);
    const second = await http.requestJob(input);

    scope.done();
    expect(first.requestId).toBe('01HSERVERSIDEID');
    expect(second.requestId).toBe('00000000000000000000000000000002');
  });

  it('uses a fresh request id on every call', async () => {
    const ids: string[] = [];
    const scope = nock(GITLAB)
      .post('/api/v4/jobs/request')
      .times(3)
      .reply(function () {
        ids.push(String(this.req.headers['x-request-id']));
        return [204, ''];
      });
    const http = network();
    for (let call = 0; call < 3; call++) {
      await http.requestJob({ credentials: runnerCredentials(), info: runnerInfo() });
    }
    scope.done();
    expect(new Set(ids).size).toBe(3);
    for (const id of ids) expect(id).toMatch(REQUEST_ID);
  });
});

describe('PUT /jobs/:id', () => {
  const capture = (status = 200) => {
    const seen: Seen[] = [];
    const scope = nock(GITLAB, { badheaders: ['accept', 'runner-token'] })
      .put('/api/v4/jobs/4242')
      .reply(function (path, body) {
        seen.push({ headers: this.req.headers, body, path });
        return [status, String(status)];
      });
    return { scope, seen };
  };

  it('U12: a confirmation sends JOB-TOKEN equal to the body token, state running, info, and output {} — no Accept', async () => {
    const { scope, seen } = capture();
    await network().updateJob(jobCredentials(), { info: runnerInfo(), state: 'running' });
    scope.done();
    expect(seen[0]?.headers['job-token']).toBe(JOB_TOKEN);
    expect(seen[0]?.headers['content-type']).toBe('application/json');
    expect(seen[0]?.headers['x-request-id']).toMatch(REQUEST_ID);
    expect(seen[0]?.body).toEqual({
      info: JSON.parse(JSON.stringify(runnerInfo())),
      token: JOB_TOKEN,
      state: 'running',
      output: {},
    });
  });

  it('a keep-alive sends state pending', async () => {
    const { scope, seen } = capture();
    await network().updateJob(jobCredentials(), { info: runnerInfo(), state: 'pending' });
    scope.done();
    expect(seen[0]?.body).toMatchObject({ state: 'pending', output: {} });
  });

  it('a final failure sends failure_reason, exit_code and the trace checksum and size', async () => {
    const { scope, seen } = capture();
    await network().updateJob(jobCredentials(), {
      info: runnerInfo(),
      state: 'failed',
      failureReason: 'script_failure',
      exitCode: 2,
      output: { checksum: 'crc32:0a1b2c3d', bytesize: 120 },
    });
    scope.done();
    expect(seen[0]?.body).toEqual({
      info: JSON.parse(JSON.stringify(runnerInfo())),
      token: JOB_TOKEN,
      state: 'failed',
      failure_reason: 'script_failure',
      exit_code: 2,
      checksum: 'crc32:0a1b2c3d',
      output: { checksum: 'crc32:0a1b2c3d', bytesize: 120 },
    });
  });

  it('omits exit_code 0, and failure_reason with any state but failed', async () => {
    const { scope, seen } = capture();
    await network().updateJob(jobCredentials(), {
      info: runnerInfo(),
      state: 'success',
      failureReason: 'script_failure',
      exitCode: 0,
      output: { bytesize: 12 },
    });
    scope.done();
    const body = seen[0]?.body as Record<string, unknown>;
    expect(body).not.toHaveProperty('exit_code');
    expect(body).not.toHaveProperty('failure_reason');
    expect(body).not.toHaveProperty('checksum');
    expect(body.output).toEqual({ bytesize: 12 });
  });

  it('refuses a job id that is not a positive integer before sending anything', async () => {
    const unmatched = unmatchedRequests();
    await expect(
      network().updateJob(jobCredentials(-1), { info: runnerInfo(), state: 'running' }),
    ).rejects.toMatchObject({ code: 'network.client-config', message: expect.stringContaining('job id') });
    unmatched.stop();
    expect(unmatched.count()).toBe(0);
  });
});

describe('POST /jobs/:id/runner_status', () => {
  it('sends JOB-TOKEN and {token, status, info}', async () => {
    let seen: Seen | undefined;
    const scope = nock(GITLAB, { reqheaders: { 'content-type': 'application/json' }, badheaders: ['runner-token'] })
      .post('/api/v4/jobs/4242/runner_status')
      .reply(function (path, body) {
        seen = { headers: this.req.headers, body, path };
        return [200, ''];
      });
    const result = await network().postRunnerStatus(jobCredentials(), { info: runnerInfo(), status: 'running' });
    scope.done();
    expect(result.kind).toBe('succeeded');
    expect(seen?.headers['job-token']).toBe(JOB_TOKEN);
    expect(seen?.body).toEqual({ token: JOB_TOKEN, status: 'running', info: JSON.parse(JSON.stringify(runnerInfo())) });
  });
});

describe('PATCH /jobs/:id/trace', () => {
  const bytes = (text: string) => new TextEncoder().encode(text);

  it.each([
    ['P2: 1 byte at 0', 'a', 0, '0-0', '1'],
    ['P2: 2 bytes at 0', 'ab', 0, '0-1', '2'],
    ['5 bytes at 10', 'hello', 10, '10-14', '5'],
    ['multi-byte UTF-8 counts bytes', 'héé', 3, '3-7', '5'],
  ])('%s: Content-Range %s… exact Content-Length', async (_, text, offset, range, length) => {
    let body: unknown;
    const scope = nock(GITLAB, {
      reqheaders: {
        'job-token': JOB_TOKEN,
        'content-range': range as string,
        'content-length': length as string,
        'content-type': 'text/plain',
        'x-request-id': REQUEST_ID,
      },
    })
      .patch('/api/v4/jobs/4242/trace')
      .query({ debug_trace: 'false' })
      .reply((_path, received) => {
        body = received;
        return [202, '', { Range: `0-${Number(offset) + new TextEncoder().encode(text as string).length}` }];
      });
    const result = await network().patchTrace(jobCredentials(), {
      content: bytes(text as string),
      offset: Number(offset),
    });
    scope.done();
    expect(body).toBe(text);
    expect(result).toMatchObject({ kind: 'succeeded', offset: Number(offset) + Number(length) });
  });

  it('P10: debug_trace=true when asked', async () => {
    const scope = nock(GITLAB).patch('/api/v4/jobs/4242/trace').query({ debug_trace: 'true' }).reply(202);
    await network().patchTrace(jobCredentials(), { content: bytes('x'), offset: 0, debugTrace: true });
    scope.done();
  });

  it('P1: an empty patch sends nothing and succeeds at the same offset', async () => {
    const unmatched = unmatchedRequests();
    const result = await network().patchTrace(jobCredentials(), { content: new Uint8Array(), offset: 33 });
    unmatched.stop();
    expect(unmatched.count()).toBe(0);
    expect(result).toEqual({ kind: 'succeeded', offset: 33, cancelRequested: false });
  });

  it('sends only the bytes of a view into a larger buffer', async () => {
    const backing = bytes('xxhelloxx');
    let body: unknown;
    const scope = nock(GITLAB, { reqheaders: { 'content-length': '5', 'content-range': '0-4' } })
      .patch('/api/v4/jobs/4242/trace')
      .query(true)
      .reply((_path, received) => {
        body = received;
        return [202, ''];
      });
    await network().patchTrace(jobCredentials(), { content: backing.subarray(2, 7), offset: 0 });
    scope.done();
    expect(body).toBe('hello');
  });

  it('refuses a negative offset before sending anything', async () => {
    await expect(network().patchTrace(jobCredentials(), { content: bytes('x'), offset: -1 })).rejects.toMatchObject({
      code: 'network.client-config',
      message: expect.stringContaining('offset'),
    });
  });
});
