import { describe, expect, test } from 'vitest';
import type { UpdateJobInput } from '../network/network.types.js';
import { runnerFeatures, runnerInfo } from '../network/runner-info.js';
import { Secret } from '../secret/secret.js';
import { encodeRequestJob, encodeRunnerStatus, encodeUpdateJob } from './request-encoding.js';
import { newRequestId } from './runner-api-client.js';

/*
 * The encoders build bodies around a serialised `info` instead of stringifying the whole body per call; these pin
 * that the bytes are exactly what JSON.stringify of the documented body gives, key order included.
 */

const context = { requestId: '0123456789abcdef0123456789abcdef', userAgent: 'runner-core-test', maxResponseBytes: 1 };
const decoder = new TextDecoder();
const bodyOf = (request: { readonly body: Uint8Array }): string => decoder.decode(request.body);
const job = { id: 42, token: new Secret('glcbt-64_job"token\\with\u2028odd\u0000characters') };
const info = runnerInfo({
  name: 'runner "one"',
  labels: { zone: 'eu-1', note: 'ünïcödé ✓' },
  features: runnerFeatures({ variables: true }),
});

describe('request bodies', () => {
  test.each([
    ['system id and last update', 's_0123456789ab', '1715000000'],
    ['no system id', '', '1715000000'],
    ['no last update', 's_0123456789ab', undefined],
    ['an empty last update', 's_0123456789ab', ''],
  ])('POST /jobs/request, %s: the bytes of JSON.stringify of the body', (_, systemId, lastUpdate) => {
    const token = new Secret('glrt-runner"token');
    const request = encodeRequestJob({ credentials: { token, systemId }, info }, lastUpdate, context);
    const expected = {
      token: token.reveal(),
      ...(systemId === '' ? {} : { system_id: systemId }),
      ...(lastUpdate === undefined || lastUpdate === '' ? {} : { last_update: lastUpdate }),
      info,
    };
    expect(bodyOf(request)).toBe(JSON.stringify(expected));
  });

  test.each<[string, UpdateJobInput]>([
    ['a keep-alive', { info, state: 'pending' }],
    ['a confirmation', { info, state: 'running' }],
    [
      'a final failure with everything',
      {
        info,
        state: 'failed',
        failureReason: 'script_failure',
        exitCode: 3,
        output: { checksum: 'crc32:0badf00d', bytesize: 1234 },
      },
    ],
    ['a failure reason with another state (dropped)', { info, state: 'success', failureReason: 'script_failure' }],
    ['exit code 0 (dropped)', { info, state: 'success', exitCode: 0, output: { bytesize: 9 } }],
  ])('PUT /jobs/:id, %s: the bytes of JSON.stringify of the body', (_, input) => {
    const output = {
      ...(input.output?.checksum ? { checksum: input.output.checksum } : {}),
      ...(input.output?.bytesize ? { bytesize: input.output.bytesize } : {}),
    };
    const expected = {
      info: input.info,
      token: job.token.reveal(),
      state: input.state,
      ...(input.state === 'failed' && input.failureReason !== undefined ? { failure_reason: input.failureReason } : {}),
      ...(input.exitCode === undefined || input.exitCode === 0 ? {} : { exit_code: input.exitCode }),
      ...(output.checksum === undefined ? {} : { checksum: output.checksum }),
      output,
    };
    expect(bodyOf(encodeUpdateJob(job, input, context))).toBe(JSON.stringify(expected));
  });

  test('POST /jobs/:id/runner_status: the bytes of JSON.stringify of the body', () => {
    const request = encodeRunnerStatus(job, { info, status: 'pending' }, context);
    expect(bodyOf(request)).toBe(JSON.stringify({ token: job.token.reveal(), status: 'pending', info }));
  });

  test('bodies cut from the shared buffers keep their bytes while later ones are encoded, across buffers', () => {
    const bodies = Array.from({ length: 300 }, (_, index) => {
      const credentials = { id: index + 1, token: new Secret(`glcbt-64_job-${index}`) };
      return { index, request: encodeUpdateJob(credentials, { info, state: 'pending' }, context) };
    });
    for (const { index, request } of bodies) {
      const expected = { info, token: `glcbt-64_job-${index}`, state: 'pending', output: {} };
      expect(bodyOf(request)).toBe(JSON.stringify(expected));
    }
  });

  test('a body too big for the shared buffers gets its own, with the same bytes', () => {
    const big = runnerInfo({ labels: { notes: 'x'.repeat(20_000) } });
    const request = encodeUpdateJob(job, { info: big, state: 'running' }, context);
    expect(request.body.buffer.byteLength).toBeGreaterThanOrEqual(20_000);
    expect(bodyOf(request)).toBe(
      JSON.stringify({ info: big, token: job.token.reveal(), state: 'running', output: {} }),
    );
  });

  test('another info object is serialised anew, not taken for the first', () => {
    const other = runnerInfo({ name: 'runner-two' });
    const first = encodeUpdateJob(job, { info, state: 'running' }, context);
    const second = encodeUpdateJob(job, { info: other, state: 'running' }, context);
    expect(JSON.parse(bodyOf(first)).info.name).toBe('runner "one"');
    expect(JSON.parse(bodyOf(second)).info.name).toBe('runner-two');
  });
});

describe('request ids', () => {
  test('32 lowercase hex characters in the shape of a UUIDv4 (version 4, variant 10), all different', () => {
    const ids = Array.from({ length: 2_000 }, () => newRequestId());
    for (const id of ids) expect(id).toMatch(/^[0-9a-f]{12}4[0-9a-f]{3}[89ab][0-9a-f]{15}$/);
    expect(new Set(ids).size).toBe(ids.length);
  });
});
