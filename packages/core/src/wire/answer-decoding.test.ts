import { readFileSync } from 'node:fs';
import { inspect } from 'node:util';
import { describe, expect, it } from 'vitest';
import { MalformedResponseError } from '../network/network.errors.js';
import { Secret } from '../secret/secret.js';
import {
  decodePatchTrace,
  decodeRequestJob,
  decodeRunnerStatus,
  decodeUpdateJob,
  isJsonContentType,
} from './answer-decoding.js';
import { serverMessage } from './server-message.js';
import type { WireRequest, WireResponse } from './wire-message.js';

/*
 * Table tests of the codec's answer decoding, one row per line of docs/gitlab-protocol.md §2.5, §4.3, §7 and
 * §8.1–§8.5 that applies to one request per call. The rows about retries (T1, T3–T8) belong to the core's retry
 * loops: here they check that decoding surfaces the kind that is retried (`retryable`, `unavailable`,
 * `rate-limited`) and the `wait` hints, never that anything retries.
 */

const RUNNER_TOKEN = 'glrt-RUNNERsecretTOKEN12345';
const JOB_TOKEN = 'glcbt-JOBsecretTOKEN67890';
const MASKED_VALUE = 'MASKED-s3cr3t-VALUE';
const NOW = 1_767_225_600_000;
const fixtureText = (name: string): string => readFileSync(new URL(`__fixtures__/${name}`, import.meta.url), 'utf8');

type HttpAnswer = WireResponse;

/** The request an answer belongs to: only its name and secrets matter to decoding. */
function requestOf(what: string, secrets: readonly Secret[]): WireRequest {
  return {
    operation: 'request-job',
    method: 'POST',
    path: '',
    headers: {},
    body: new Uint8Array(),
    what,
    secrets,
    maxResponseBytes: 1,
  };
}

const mapRequestJob = (answer: WireResponse, now: number, id: string, secrets: readonly Secret[], what: string) =>
  decodeRequestJob(requestOf(what, secrets), answer, now, id);
const mapUpdateJob = (answer: WireResponse, now: number, id: string, secrets: readonly Secret[]) =>
  decodeUpdateJob(requestOf('PUT /api/v4/jobs/4242', secrets), answer, now, id);
const mapRunnerStatus = (answer: WireResponse, now: number, id: string, secrets: readonly Secret[]) =>
  decodeRunnerStatus(requestOf('POST /api/v4/jobs/4242/runner_status', secrets), answer, now, id);
const mapPatchTrace = (answer: WireResponse, now: number, end: number, id: string, secrets: readonly Secret[]) =>
  decodePatchTrace(requestOf('PATCH /api/v4/jobs/4242/trace', secrets), answer, now, end, id);

const REQUEST_ID = '0123456789abcdef0123456789abcdef';
const WHAT = 'POST /api/v4/jobs/request';
const secrets = [new Secret(RUNNER_TOKEN), new Secret(JOB_TOKEN)];

function answer(status: number, headers: HttpAnswer['headers'] = {}, body = ''): HttpAnswer {
  return { status, headers, body: Buffer.from(body) };
}

const json = { 'Content-Type': 'application/json' };
const jobBody = fixtureText('jobs-request.201.json');

describe('POST /jobs/request (docs/gitlab-protocol.md §2.5, §8.1)', () => {
  it('R1: a 201 with a JSON job returns the job with its secrets wrapped and the request id', () => {
    const result = mapRequestJob(answer(201, json, jobBody), NOW, REQUEST_ID, secrets, WHAT);
    expect(result.kind).toBe('job');
    if (result.kind !== 'job') return;
    expect(result.requestId).toBe(REQUEST_ID);
    expect(result.job.id).toBe(4242);
    expect(result.job.token).toBeInstanceOf(Secret);
    expect(result.job.token.reveal()).toBe(JOB_TOKEN);
    expect(result.job.git_info?.repo_url).toBeInstanceOf(Secret);
    const masked = result.job.variables?.find((variable) => variable.key === 'DEPLOY_PASSWORD');
    expect(masked?.masked).toBe(true);
    expect(masked?.value).toBeInstanceOf(Secret);
    expect(JSON.stringify(result)).not.toContain(JOB_TOKEN);
    expect(JSON.stringify(result)).not.toContain(MASKED_VALUE);
  });

  it('R1: the last update of a 201 is returned too', () => {
    const result = mapRequestJob(
      answer(201, { ...json, 'X-GitLab-Last-Update': 'queue-7' }, jobBody),
      NOW,
      REQUEST_ID,
      secrets,
      WHAT,
    );
    expect(result).toMatchObject({ kind: 'job', lastUpdate: 'queue-7' });
  });

  it('R2: a 204 is no job, with the last update the server sent', () => {
    expect(
      mapRequestJob(answer(204, { 'X-GitLab-Last-Update': 'a nice timestamp' }), NOW, REQUEST_ID, secrets, WHAT),
    ).toEqual({ kind: 'no-job', lastUpdate: 'a nice timestamp', requestId: REQUEST_ID });
  });

  it('R2: a 204 without the header (Workhorse long poll) or with an empty one has no last update', () => {
    expect(mapRequestJob(answer(204), NOW, REQUEST_ID, secrets, WHAT)).toEqual({
      kind: 'no-job',
      requestId: REQUEST_ID,
    });
    expect(mapRequestJob(answer(204, { 'X-GitLab-Last-Update': '' }), NOW, REQUEST_ID, secrets, WHAT)).toEqual({
      kind: 'no-job',
      requestId: REQUEST_ID,
    });
  });

  it('R3: a 403 is forbidden (the runner is unhealthy)', () => {
    expect(
      mapRequestJob(answer(403, json, fixtureText('jobs-request.403.json')), NOW, REQUEST_ID, secrets, WHAT),
    ).toEqual({ kind: 'forbidden', requestId: REQUEST_ID });
  });

  it('R5 / T5: a 503 with Retry-After: 1 is unavailable with the wait, not retried here', () => {
    expect(mapRequestJob(answer(503, { 'Retry-After': '1' }), NOW, REQUEST_ID, secrets, WHAT)).toEqual({
      kind: 'unavailable',
      wait: { retryAfterAt: NOW + 1_000 },
      requestId: REQUEST_ID,
    });
  });

  it('R6: a 429 with Retry-After: 1 is rate-limited with the wait', () => {
    expect(mapRequestJob(answer(429, { 'Retry-After': '1' }), NOW, REQUEST_ID, secrets, WHAT)).toEqual({
      kind: 'rate-limited',
      wait: { retryAfterAt: NOW + 1_000 },
      requestId: REQUEST_ID,
    });
  });

  it('R7: unknown fields (executor_opts keys, new top-level fields) are kept, not rejected', () => {
    const result = mapRequestJob(answer(201, json, jobBody), NOW, REQUEST_ID, secrets, WHAT);
    if (result.kind !== 'job') throw new Error(`expected a job, got ${result.kind}`);
    expect(result.job.image).toMatchObject({ executor_opts: { docker: { future_option: true } } });
    expect(result.job.a_future_field).toEqual({ kept: true });
  });

  it.each([
    ['not JSON', json, '<html>oops</html>', /not JSON/],
    ['JSON with the wrong content type', { 'Content-Type': 'text/html' }, jobBody, /content type "text\/html"/],
    ['JSON without a content type', {}, jobBody, /content type "\(none\)"/],
    ['application/octet-stream (T12)', { 'Content-Type': 'application/octet-stream' }, jobBody, /octet-stream/],
  ])(
    'R8: a 201 %s is a MalformedResponseError (runner-core deviation: gitlab-runner drops it silently)',
    (_, headers, body, message) => {
      let thrown: unknown;
      try {
        mapRequestJob(answer(201, headers, body), NOW, REQUEST_ID, secrets, WHAT);
      } catch (error) {
        thrown = error;
      }
      expect(thrown).toBeInstanceOf(MalformedResponseError);
      expect((thrown as Error).message).toMatch(message);
      expect((thrown as Error).message).not.toContain(JOB_TOKEN);
    },
  );

  it('R8: a 201 of valid JSON with the wrong content type still carries the credentials, so the job can be released', () => {
    const error = catchError(() =>
      mapRequestJob(answer(201, { 'Content-Type': 'text/plain' }, jobBody), NOW, REQUEST_ID, secrets, WHAT),
    );
    expect(error).toBeInstanceOf(MalformedResponseError);
    expect((error as MalformedResponseError).job?.id).toBe(4242);
    expect((error as MalformedResponseError).job?.token.reveal()).toBe(JOB_TOKEN);
  });

  it('T12: application/json with parameters is JSON; other types are not', () => {
    expect(isJsonContentType('application/json; charset=utf-8')).toBe(true);
    expect(isJsonContentType('Application/JSON')).toBe(true);
    expect(isJsonContentType('application/octet-stream')).toBe(false);
    expect(isJsonContentType('application/jsonx')).toBe(false);
    expect(isJsonContentType(undefined)).toBe(false);
    const result = mapRequestJob(
      answer(201, { 'content-type': 'application/json; charset=utf-8' }, jobBody),
      NOW,
      REQUEST_ID,
      secrets,
      WHAT,
    );
    expect(result.kind).toBe('job');
  });

  it.each([
    [409, '409 Conflict'],
    [422, 'Runner is orphaned'],
    [400, '400 Bad Request'],
    [401, '401 Unauthorized'],
    [404, '404 Not Found'],
    [413, '413 Payload Too Large'],
    [500, '500 Internal Server Error'],
    [502, '502 Bad Gateway'],
    [408, '408 Request Timeout'],
  ])('R9: %i is failed with the server message (the core retries a job request only on 429/503)', (status, message) => {
    const body = status === 422 ? fixtureText('jobs-request.422.json') : '';
    expect(mapRequestJob(answer(status, json, body), NOW, REQUEST_ID, secrets, WHAT)).toEqual({
      kind: 'failed',
      status,
      message,
      requestId: REQUEST_ID,
    });
  });

  it('R9: a server message echoing a token is redacted', () => {
    const body = JSON.stringify({ message: `token ${RUNNER_TOKEN} is not known` });
    const result = mapRequestJob(answer(400, json, body), NOW, REQUEST_ID, secrets, WHAT);
    expect(result).toMatchObject({ kind: 'failed', message: 'token [REDACTED] is not known' });
  });
});

describe('job payload schema (docs/gitlab-protocol.md §3)', () => {
  const withBody = (body: unknown) => () =>
    mapRequestJob(answer(201, json, JSON.stringify(body)), NOW, REQUEST_ID, secrets, WHAT);
  const base = JSON.parse(jobBody) as Record<string, unknown>;

  it.each([
    ['id', { ...base, id: 'x' }],
    ['id', { ...base, id: 0 }],
    ['id', { ...base, id: 1.5 }],
    ['token', { ...base, token: '' }],
    ['token', { ...base, token: 42 }],
    ['job_info.pipeline_id', { ...base, job_info: { pipeline_id: '900' } }],
    [
      'variables[1].key',
      {
        ...base,
        variables: [
          { key: 'A', value: 'b' },
          { key: 7, value: 'b' },
        ],
      },
    ],
    ['steps[0].when', { ...base, steps: [{ name: 'script', script: [], when: ['always'] }] }],
    ['git_info.refspecs[0]', { ...base, git_info: { refspecs: [7] } }],
    ['(root)', [1, 2, 3]],
  ])('names the failing field %s', (path, body) => {
    const error = catchError(withBody(body));
    expect(error).toBeInstanceOf(MalformedResponseError);
    expect((error as Error).message).toContain(`field ${path} `);
    expect((error as Error).message).not.toContain(JOB_TOKEN);
  });

  it('carries the credentials when id and token are readable, and none when they are not', () => {
    const readable = catchError(withBody({ ...base, job_info: { pipeline_id: '900' } })) as MalformedResponseError;
    expect(readable.job?.id).toBe(4242);
    expect(readable.job?.token.reveal()).toBe(JOB_TOKEN);
    const unreadable = catchError(withBody({ ...base, token: '' })) as MalformedResponseError;
    expect(unreadable.job).toBeUndefined();
  });

  it('accepts the nulls GitLab sends for absent values', () => {
    const result = mapRequestJob(
      answer(
        201,
        json,
        JSON.stringify({
          id: 7,
          token: 't',
          image: null,
          variables: [{ key: 'EMPTY', value: null }],
          job_info: { scoped_user_id: null, user_id: null },
          git_info: { protected: null, depth: null },
          runner_info: { runner_session_url: null },
        }),
      ),
      NOW,
      REQUEST_ID,
      secrets,
      WHAT,
    );
    if (result.kind !== 'job') throw new Error(`expected a job, got ${result.kind}`);
    expect(result.job.variables).toEqual([{ key: 'EMPTY', value: '', masked: false }]);
    expect(result.job.job_info?.scoped_user_id).toBeNull();
    expect(result.job.job_info?.user_id).toBeUndefined();
    expect(result.job.git_info?.protected).toBeNull();
  });
});

describe('PUT /jobs/:id (docs/gitlab-protocol.md §4.3, §8.2)', () => {
  const update = (status: number, headers: HttpAnswer['headers'] = {}) =>
    mapUpdateJob(answer(status, headers), NOW, REQUEST_ID, secrets);

  it.each([
    ['U1', 200, {}, { kind: 'succeeded', cancelRequested: false }],
    ['U2', 200, { 'Job-Status': 'canceled' }, { kind: 'aborted', reason: 'job-canceled', cancelRequested: false }],
    ['U3', 200, { 'Job-Status': 'failed' }, { kind: 'aborted', reason: 'job-failed', cancelRequested: false }],
    ['U4', 200, { 'Job-Status': 'canceling' }, { kind: 'succeeded', cancelRequested: true, jobStatus: 'canceling' }],
    ['U5', 202, {}, { kind: 'accepted' }],
    ['U6', 412, {}, { kind: 'trace-invalid' }],
    ['U7', 403, {}, { kind: 'aborted', reason: 'forbidden' }],
    [
      'U7 (with Job-Status)',
      403,
      { 'Job-Status': 'pending' },
      { kind: 'aborted', reason: 'forbidden', jobStatus: 'pending' },
    ],
    ['U8', 404, {}, { kind: 'aborted', reason: 'not-found' }],
    ['§5.4 confirm of a running job', 200, { 'Job-Status': 'running' }, { kind: 'succeeded', jobStatus: 'running' }],
  ] as const)('%s: %i %o', (_, status, headers, expected) => {
    expect(update(status, headers)).toMatchObject({ ...expected, requestId: REQUEST_ID });
  });

  it('U9: 400 is rejected and 409 a conflict (runner-core deviation: gitlab-runner folds both into UpdateFailed and runs the job anyway; we never run it)', () => {
    expect(update(400)).toMatchObject({ kind: 'rejected' });
    expect(update(400, { 'Job-Status': 'running' })).toMatchObject({ kind: 'rejected', jobStatus: 'running' });
    expect(update(409)).toMatchObject({ kind: 'conflict' });
  });

  it('U9: canceling on a rejected answer still says so', () => {
    expect(update(400, { 'Job-Status': 'canceling' })).toMatchObject({ kind: 'rejected', cancelRequested: true });
  });

  it.each([
    ['10', 10_000],
    ['-10', -10_000],
    ['0', 0],
    ['some text', 0],
    ['', 0],
  ])('U10: X-GitLab-Trace-Update-Interval %j is %i ms (parsed even on 404)', (value, ms) => {
    expect(update(202, { 'X-GitLab-Trace-Update-Interval': value })).toMatchObject({ updateIntervalMs: ms });
    expect(update(404, { 'X-GitLab-Trace-Update-Interval': value })).toMatchObject({ updateIntervalMs: ms });
  });

  it('U10: no interval header, no interval', () => {
    expect(update(200)).not.toHaveProperty('updateIntervalMs');
  });

  it.each([408, 429, 500, 502, 503, 504, 512, 515, 599])('U11 / T1: %i is retryable for the core', (status) => {
    expect(update(status)).toMatchObject({ kind: 'retryable', status });
  });

  it.each([501, 505, 511, 418, 410])('%i is failed (not in the retry list)', (status) => {
    expect(update(status)).toMatchObject({ kind: 'failed', status });
  });

  it('T3: RateLimit-ResetTime in two seconds is surfaced as an absolute time', () => {
    const reset = new Date(NOW + 2_000).toUTCString();
    expect(update(429, { 'RateLimit-ResetTime': reset })).toMatchObject({
      kind: 'retryable',
      wait: { rateLimitResetAt: NOW + 2_000 },
    });
  });

  it('T4: an invalid RateLimit-ResetTime without Retry-After gives no wait (the core backs off from 100 ms)', () => {
    expect(update(429, { 'RateLimit-ResetTime': 'soon' })).not.toHaveProperty('wait');
  });

  it('T5 / T6: Retry-After seconds, with an invalid reset time beside it', () => {
    expect(update(503, { 'Retry-After': '1' })).toMatchObject({ wait: { retryAfterAt: NOW + 1_000 } });
    expect(update(429, { 'RateLimit-ResetTime': 'garbage', 'Retry-After': '120' })).toMatchObject({
      wait: { retryAfterAt: NOW + 120_000 },
    });
  });

  it('Retry-After as an HTTP date is read too (runner-core deviation: gitlab-runner reads only seconds)', () => {
    const at = new Date(NOW + 30_000).toUTCString();
    expect(update(503, { 'Retry-After': at })).toMatchObject({ wait: { retryAfterAt: NOW + 30_000 } });
  });

  it('T2: 200 and 400 are final answers, never retryable', () => {
    expect(update(200).kind).toBe('succeeded');
    expect(update(400).kind).toBe('rejected');
  });
});

describe('POST /jobs/:id/runner_status', () => {
  const status = (code: number, headers: HttpAnswer['headers'] = {}) =>
    mapRunnerStatus(answer(code, headers), NOW, REQUEST_ID, secrets);

  it('404 or 405 without Job-Status means the route is missing: unsupported', () => {
    expect(status(404)).toMatchObject({ kind: 'unsupported', requestId: REQUEST_ID });
    expect(status(405)).toMatchObject({ kind: 'unsupported' });
  });

  it('404 with Job-Status comes from a server that knows the job: aborted', () => {
    expect(status(404, { 'Job-Status': 'pending' })).toMatchObject({ kind: 'aborted', reason: 'not-found' });
  });

  it('otherwise classifies as a job update', () => {
    expect(status(200)).toMatchObject({ kind: 'succeeded' });
    expect(status(200, { 'Job-Status': 'canceling' })).toMatchObject({ kind: 'succeeded', cancelRequested: true });
    expect(status(409)).toMatchObject({ kind: 'conflict' });
    expect(status(400)).toMatchObject({ kind: 'rejected' });
    expect(status(503)).toMatchObject({ kind: 'retryable', status: 503 });
  });
});

describe('PATCH /jobs/:id/trace (docs/gitlab-protocol.md §7, §8.4)', () => {
  const patch = (status: number, headers: HttpAnswer['headers'] = {}) =>
    mapPatchTrace(answer(status, headers), NOW, 14, REQUEST_ID, secrets);

  it.each([
    ['P3', 202, {}, { kind: 'succeeded', offset: 14, cancelRequested: false }],
    ['P4', 202, { 'Job-Status': 'canceling' }, { kind: 'succeeded', offset: 14, cancelRequested: true }],
    ['P5 canceled', 202, { 'Job-Status': 'canceled' }, { kind: 'aborted' }],
    ['P5 failed', 202, { 'Job-Status': 'failed' }, { kind: 'aborted' }],
    ['P6', 403, {}, { kind: 'aborted' }],
    ['P7', 404, {}, { kind: 'not-found' }],
    ['P8', 416, { Range: '0-10' }, { kind: 'range-mismatch', offset: 10 }],
    ['P8 malformed Range', 416, { Range: 'bytes' }, { kind: 'range-mismatch', offset: 0 }],
    ['P8 no Range', 416, {}, { kind: 'range-mismatch', offset: 0 }],
    [
      'rate limited',
      429,
      { 'Retry-After': '3' },
      { kind: 'retryable', status: 429, wait: { retryAfterAt: NOW + 3_000 } },
    ],
    ['server error', 500, {}, { kind: 'retryable', status: 500 }],
    ['missing Content-Range', 400, {}, { kind: 'failed', status: 400 }],
    ['update interval', 202, { 'X-GitLab-Trace-Update-Interval': '5' }, { kind: 'succeeded', updateIntervalMs: 5_000 }],
  ] as const)('%s: %i %o', (_, status, headers, expected) => {
    expect(patch(status, headers)).toMatchObject({ ...expected, requestId: REQUEST_ID });
  });
});

describe('serverMessage', () => {
  it('prefers Rails message, then Grape error, then the status line; redacts and bounds it', () => {
    expect(serverMessage(answer(403, json, '{"message":"403 Forbidden - Job is not processing on runner"}'), [])).toBe(
      '403 Forbidden - Job is not processing on runner',
    );
    expect(serverMessage(answer(400, json, '{"error":"token is missing"}'), [])).toBe('token is missing');
    expect(serverMessage(answer(400, json, '{"message":{"state":["is invalid"]}}'), [])).toBe(
      '400 Bad Request ({"state":["is invalid"]})',
    );
    expect(serverMessage(answer(502, {}, '<html>bad gateway</html>'), [])).toBe('502 Bad Gateway');
    expect(serverMessage(answer(400, json, JSON.stringify({ message: `bad ${JOB_TOKEN}` })), secrets)).toBe(
      'bad [REDACTED]',
    );
    expect(serverMessage(answer(400, json, JSON.stringify({ message: 'x'.repeat(2_000) })), []).length).toBe(501);
  });
});

function catchError(run: () => unknown): unknown {
  try {
    run();
  } catch (error) {
    return error;
  }
  throw new Error('expected an error, got none');
}

describe('hostile answers (found by the fuzzer)', () => {
  const request = (secrets: readonly Secret[]) => requestOf('PUT /api/v4/jobs/4242', secrets);
  const jobToken = new Secret(JOB_TOKEN);

  it('a deeply nested error message is a bounded message, not a stack overflow', () => {
    const body = Buffer.from(`${'{"message":'.repeat(20_000)}"bottom"${'}'.repeat(20_000)}`);
    const deep = `{"message":${'['.repeat(50_000)}${']'.repeat(50_000)}}`;
    for (const raw of [body, Buffer.from(deep)]) {
      const result = decodeUpdateJob(request([jobToken]), answer(409, json, raw.toString()), NOW, 'id');
      expect(result.kind).toBe('conflict');
    }
    expect(serverMessage(answer(409, json, deep), []).length).toBeLessThanOrEqual(501);
  });

  it('a token echoed in Job-Status, X-Request-Id or X-GitLab-Last-Update never reaches the result', () => {
    const echo = `echo ${JOB_TOKEN}`;
    const result = decodeUpdateJob(
      request([jobToken]),
      answer(413, { 'Job-Status': echo, 'X-GitLab-Last-Update': echo }),
      NOW,
      `id ${JOB_TOKEN}`,
    );
    expect(JSON.stringify(result)).not.toContain(JOB_TOKEN);
    const job = decodeRequestJob(
      requestOf('POST /api/v4/jobs/request', [new Secret(RUNNER_TOKEN)]),
      answer(204, { 'X-GitLab-Last-Update': `v ${RUNNER_TOKEN}` }),
      NOW,
      'id',
    );
    expect(JSON.stringify(job)).not.toContain(RUNNER_TOKEN);
  });
});

describe('secrets inside the payload', () => {
  it('wraps masked variables of the image and the services, so inspecting a payload never shows them', () => {
    const body = {
      ...JSON.parse(fixtureText('jobs-request.201.json')),
      image: { name: 'golang:1.24', variables: [{ key: 'IMG_SECRET', value: 'image-s3cret-value', masked: true }] },
      services: [
        { name: 'postgres:16', variables: [{ key: 'PGPASSWORD', value: 'service-s3cret-value', masked: true }] },
      ],
    };
    const result = mapRequestJob(answer(201, json, JSON.stringify(body)), NOW, REQUEST_ID, secrets, WHAT);
    if (result.kind !== 'job') throw new Error(`expected a job, got ${result.kind}`);
    const shown = `${JSON.stringify(result)}${inspect(result, { depth: 10 })}`;
    expect(shown).not.toContain('image-s3cret-value');
    expect(shown).not.toContain('service-s3cret-value');
    const image = result.job.image as { variables: Array<{ value: unknown }> };
    expect(image.variables[0]?.value).toBeInstanceOf(Secret);
  });
});
