import { describe, expect, test } from 'vitest';
import {
  classifyPatchTrace,
  classifyRequestJob,
  classifyRunnerStatus,
  classifyUpdateJob,
  lastUpdateOf,
  parseServerWait,
  parseUpdateIntervalMs,
  wireAnswer,
} from './answer-classification.js';

const NOW = Date.parse('2026-01-01T00:00:00Z');

describe('classifyUpdateJob (docs/gitlab-protocol.md §4.3, §8.2), evaluated top to bottom', () => {
  test.each([
    { row: 'U1', status: 200, headers: {}, kind: 'succeeded' },
    { row: 'U2', status: 200, headers: { 'Job-Status': 'canceled' }, kind: 'aborted', reason: 'job-canceled' },
    { row: 'U3', status: 200, headers: { 'Job-Status': 'failed' }, kind: 'aborted', reason: 'job-failed' },
    { row: 'U4', status: 200, headers: { 'Job-Status': 'canceling' }, kind: 'succeeded', cancelRequested: true },
    { row: 'U5', status: 202, headers: {}, kind: 'accepted' },
    { row: 'U6', status: 412, headers: {}, kind: 'trace-invalid' },
    { row: 'U7', status: 403, headers: { 'Job-Status': 'pending' }, kind: 'aborted', reason: 'forbidden' },
    { row: 'U8', status: 404, headers: {}, kind: 'aborted', reason: 'not-found' },
    { row: 'U9', status: 400, headers: { 'Job-Status': 'running' }, kind: 'rejected' },
    { row: '409 (split out of UpdateFailed)', status: 409, headers: {}, kind: 'conflict' },
    {
      row: '409 + canceled (abort first)',
      status: 409,
      headers: { 'Job-Status': 'canceled' },
      kind: 'aborted',
      reason: 'job-canceled',
    },
    { row: 'U11 503', status: 503, headers: {}, kind: 'retryable' },
    { row: '515 (≥ 512 retried)', status: 515, headers: {}, kind: 'retryable' },
    { row: '501 (not retried)', status: 501, headers: {}, kind: 'failed' },
    { row: '422', status: 422, headers: {}, kind: 'failed' },
  ])('$row: $status → $kind', ({ status, headers, kind, reason, cancelRequested }) => {
    const result = classifyUpdateJob(wireAnswer(status, headers), NOW);
    expect(result.kind).toBe(kind);
    if (reason !== undefined) expect(result.kind === 'aborted' && result.reason).toBe(reason);
    expect(result.cancelRequested).toBe(cancelRequested ?? false);
  });

  test.each([
    { value: '10', ms: 10_000 },
    { value: '-10', ms: -10_000 },
    { value: '0', ms: 0 },
    { value: 'some text', ms: 0 },
    { value: '', ms: 0 },
    { value: undefined, ms: undefined },
  ])('U10: X-GitLab-Trace-Update-Interval $value → $ms ms (parsed even on 404)', ({ value, ms }) => {
    expect(parseUpdateIntervalMs(value)).toBe(ms);
    const headers = value === undefined ? {} : { 'X-GitLab-Trace-Update-Interval': value };
    expect(classifyUpdateJob(wireAnswer(404, headers), NOW).updateIntervalMs).toBe(ms);
  });
});

describe('classifyRunnerStatus', () => {
  test.each([404, 405])('%s without Job-Status: the route is missing → unsupported', (status) => {
    expect(classifyRunnerStatus(wireAnswer(status, {}), NOW).kind).toBe('unsupported');
  });
  test('404 with Job-Status: the server knows the job → aborted', () => {
    expect(classifyRunnerStatus(wireAnswer(404, { 'job-status': 'pending' }), NOW).kind).toBe('aborted');
  });
  test('otherwise as a job update', () => {
    expect(classifyRunnerStatus(wireAnswer(409, {}), NOW).kind).toBe('conflict');
  });
});

describe('classifyRequestJob (docs/gitlab-protocol.md §2.5, §8.1)', () => {
  test.each([
    { row: 'R1', status: 201, kind: 'job' },
    { row: 'R2', status: 204, kind: 'no-job' },
    { row: 'R3', status: 403, kind: 'forbidden' },
    { row: 'R5', status: 503, kind: 'unavailable' },
    { row: 'R6', status: 429, kind: 'rate-limited' },
    { row: 'R9 409', status: 409, kind: 'failed' },
    { row: 'R9 422', status: 422, kind: 'failed' },
    { row: 'R9 401', status: 401, kind: 'failed' },
    { row: '500', status: 500, kind: 'failed' },
  ])('$row: $status → $kind', ({ status, kind }) => {
    expect(classifyRequestJob(wireAnswer(status, {}), NOW).kind).toBe(kind);
  });

  test('R2: 204 carries X-GitLab-Last-Update; an empty one keeps the previous value', () => {
    expect(classifyRequestJob(wireAnswer(204, { 'X-GitLab-Last-Update': 'a nice timestamp' }), NOW)).toMatchObject({
      kind: 'no-job',
      lastUpdate: 'a nice timestamp',
    });
    expect(lastUpdateOf(wireAnswer(204, { 'X-GitLab-Last-Update': '' }))).toBeUndefined();
  });

  test('503 and 429 carry their waits', () => {
    expect(classifyRequestJob(wireAnswer(503, { 'Retry-After': '1' }), NOW)).toMatchObject({
      wait: { retryAfterAt: NOW + 1000 },
    });
  });
});

describe('parseServerWait (docs/gitlab-protocol.md §1.5, §8.5)', () => {
  test.each([
    { row: 'T5 Retry-After seconds', headers: { 'Retry-After': '1' }, wait: { retryAfterAt: NOW + 1_000 } },
    {
      row: 'T6 reset invalid + Retry-After 120',
      headers: { 'RateLimit-ResetTime': 'soon', 'Retry-After': '120' },
      wait: { retryAfterAt: NOW + 120_000 },
    },
    {
      row: 'T3 RateLimit-ResetTime',
      headers: { 'RateLimit-ResetTime': 'Thu, 01 Jan 2026 00:00:02 GMT' },
      wait: { rateLimitResetAt: NOW + 2_000 },
    },
    {
      row: 'Retry-After as an HTTP date (read by runner-core, not by gitlab-runner)',
      headers: { 'Retry-After': 'Thu, 01 Jan 2026 00:00:30 GMT' },
      wait: { retryAfterAt: NOW + 30_000 },
    },
    { row: 'T4 reset invalid, no Retry-After', headers: { 'RateLimit-ResetTime': 'garbage' }, wait: undefined },
    { row: 'nothing', headers: {}, wait: undefined },
  ])('$row', ({ headers, wait }) => {
    expect(parseServerWait(wireAnswer(429, headers), NOW)).toEqual(wait);
  });
});

describe('classifyPatchTrace (docs/gitlab-protocol.md §7, §8.4)', () => {
  test.each([
    { row: 'P3', status: 202, headers: {}, kind: 'succeeded', offset: 12 },
    {
      row: 'P4',
      status: 202,
      headers: { 'Job-Status': 'canceling' },
      kind: 'succeeded',
      offset: 12,
      cancelRequested: true,
    },
    { row: 'P5 canceled', status: 202, headers: { 'Job-Status': 'canceled' }, kind: 'aborted' },
    { row: 'P5 failed', status: 202, headers: { 'Job-Status': 'failed' }, kind: 'aborted' },
    { row: 'P6', status: 403, headers: {}, kind: 'aborted' },
    { row: 'P7', status: 404, headers: {}, kind: 'not-found' },
    { row: 'P8', status: 416, headers: { Range: '0-10' }, kind: 'range-mismatch', offset: 10 },
    { row: 'P8 malformed Range', status: 416, headers: { Range: 'bytes' }, kind: 'range-mismatch', offset: 0 },
    { row: '502', status: 502, headers: {}, kind: 'retryable' },
    { row: '400', status: 400, headers: {}, kind: 'failed' },
  ])('$row: $status → $kind', ({ status, headers, kind, offset, cancelRequested }) => {
    const result = classifyPatchTrace(wireAnswer(status, headers), NOW, 12);
    expect(result.kind).toBe(kind);
    if (offset !== undefined) expect('offset' in result && result.offset).toBe(offset);
    expect(result.cancelRequested).toBe(cancelRequested ?? false);
  });
});

test('header names are case-insensitive and repeated headers are joined', () => {
  const answer = wireAnswer(200, { 'job-status': 'running', 'X-Many': ['a', 'b'] });
  expect(answer.header('Job-Status')).toBe('running');
  expect(answer.header('x-many')).toBe('a, b');
});

describe('a result is the hints completed, one object per answer', () => {
  const headers = {
    'Job-Status': 'running',
    'X-GitLab-Trace-Update-Interval': '3',
    'Retry-After': '5',
  };

  test('an update: every hint, then the kind and its own field, in the order of the spreads it replaced', () => {
    const result = classifyUpdateJob(wireAnswer(503, headers), NOW, 'req-1');
    expect(result).toStrictEqual({
      cancelRequested: false,
      jobStatus: 'running',
      updateIntervalMs: 3_000,
      wait: { retryAfterAt: NOW + 5_000 },
      requestId: 'req-1',
      kind: 'retryable',
      status: 503,
    });
    expect(Object.keys(result)).toEqual([
      'cancelRequested',
      'jobStatus',
      'updateIntervalMs',
      'wait',
      'requestId',
      'kind',
      'status',
    ]);
    expect(Object.keys(classifyUpdateJob(wireAnswer(200, {}), NOW))).toEqual(['cancelRequested', 'kind']);
  });

  test('a trace patch and a runner status: the same hints, then their own fields', () => {
    expect(Object.keys(classifyPatchTrace(wireAnswer(202, headers), NOW, 10, 'req-2'))).toEqual([
      'cancelRequested',
      'jobStatus',
      'updateIntervalMs',
      'wait',
      'requestId',
      'kind',
      'offset',
    ]);
    expect(classifyRunnerStatus(wireAnswer(405, {}), NOW)).toStrictEqual({
      cancelRequested: false,
      kind: 'unsupported',
    });
  });

  test('no two answers share a result', () => {
    const answer = wireAnswer(200, {});
    expect(classifyUpdateJob(answer, NOW)).not.toBe(classifyUpdateJob(answer, NOW));
  });
});
