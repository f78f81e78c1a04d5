import { inspect } from 'node:util';
import { jobCredentialsOf, runnerInfo } from '@runner-core/core';
import nock from 'nock';
import { expect, it } from 'vitest';
import { HttpNetwork } from '../src/index.js';
import { CaptureLogger } from './support/capture-logger.js';
import {
  fakeClock,
  fixture,
  fixtureText,
  GITLAB,
  JOB_TOKEN,
  MASKED_VALUE,
  RUNNER_TOKEN,
  runnerCredentials,
} from './support/fixtures.js';
import { systemError, useNock } from './support/nock-setup.js';

useNock();

const json = { 'Content-Type': 'application/json' };

it('no log line and no thrown error of a whole job flow contains the runner token, the job token or a masked value', async () => {
  const logger = new CaptureLogger();
  const http = new HttpNetwork({ url: GITLAB, clock: fakeClock(), logger });
  const info = runnerInfo();
  const thrown: unknown[] = [];
  const attempt = async (call: () => Promise<unknown>) => {
    try {
      return await call();
    } catch (error) {
      thrown.push(error);
      return undefined;
    }
  };
  // A server message may echo what the call sent: the runner token on a job request, the job token on job calls.
  const echo = (status: number, token: string, headers: Record<string, string> = {}) =>
    [status, JSON.stringify({ message: `rejected ${token}` }), { ...json, ...headers }] as const;

  const scope = nock(GITLAB)
    // a job request that fails, echoing every secret, then one that is reset, then one with a broken payload
    .post('/api/v4/jobs/request')
    .reply(...echo(422, RUNNER_TOKEN))
    .post('/api/v4/jobs/request')
    .replyWithError(systemError('ECONNRESET', `reset after ${RUNNER_TOKEN}`))
    .post('/api/v4/jobs/request')
    .reply(201, { ...fixture('jobs-request.201.json'), steps: 'not a list' }, json)
    // the job itself
    .post('/api/v4/jobs/request')
    .reply(201, fixtureText('jobs-request.201.json'), { ...json, 'X-GitLab-Last-Update': 'v1' })
    // keep-alive, a rejected keep-alive, a conflict, the confirmation
    .put('/api/v4/jobs/4242')
    .reply(200, '200', { 'Job-Status': 'pending' })
    .put('/api/v4/jobs/4242')
    .reply(...echo(400, JOB_TOKEN, { 'Job-Status': 'running' }))
    .post('/api/v4/jobs/4242/runner_status')
    .reply(...echo(409, JOB_TOKEN))
    .put('/api/v4/jobs/4242')
    .reply(200, '200', { 'Job-Status': 'running' })
    // trace: one patch reset mid-flight, one accepted, one out of range
    .patch('/api/v4/jobs/4242/trace')
    .query(true)
    .replyWithError(systemError('ECONNRESET', `socket closed for ${JOB_TOKEN}`))
    .patch('/api/v4/jobs/4242/trace')
    .query(true)
    .reply(202, '', { Range: '0-27' })
    .patch('/api/v4/jobs/4242/trace')
    .query(true)
    .reply(416, '', { Range: '0-27' })
    // a redirect away, then the final update
    .put('/api/v4/jobs/4242')
    .reply(307, '', { Location: `https://gitlab-ci-token:${JOB_TOKEN}@evil.example.net/?t=${JOB_TOKEN}` })
    .put('/api/v4/jobs/4242')
    .reply(...echo(500, JOB_TOKEN))
    .put('/api/v4/jobs/4242')
    .reply(200, '200', { 'Job-Status': 'success' });

  await attempt(() => http.requestJob({ credentials: runnerCredentials(), info }));
  await attempt(() => http.requestJob({ credentials: runnerCredentials(), info }));
  await attempt(() => http.requestJob({ credentials: runnerCredentials(), info }));
  const received = await http.requestJob({ credentials: runnerCredentials(), info });
  if (received.kind !== 'job') throw new Error(`expected a job, got ${received.kind}`);
  const job = jobCredentialsOf(received.job);
  await attempt(() => http.updateJob(job, { info, state: 'pending' }));
  await attempt(() => http.updateJob(job, { info, state: 'pending' }));
  await attempt(() => http.postRunnerStatus(job, { info, status: 'running' }));
  await attempt(() => http.updateJob(job, { info, state: 'running' }));
  const trace = new TextEncoder().encode(`$ echo ${MASKED_VALUE.replace(/./g, '*')}\nok\n`);
  await attempt(() => http.patchTrace(job, { content: trace, offset: 0 }));
  await attempt(() => http.patchTrace(job, { content: trace, offset: 0 }));
  await attempt(() => http.patchTrace(job, { content: trace, offset: 0 }));
  await attempt(() =>
    http.updateJob(job, { info, state: 'success', output: { checksum: 'crc32:01234567', bytesize: 27 } }),
  );
  await attempt(() =>
    http.updateJob(job, { info, state: 'success', output: { checksum: 'crc32:01234567', bytesize: 27 } }),
  );
  await attempt(() =>
    http.updateJob(job, { info, state: 'success', output: { checksum: 'crc32:01234567', bytesize: 27 } }),
  );
  scope.done();

  expect(thrown).toHaveLength(4); // the reset job request, the broken payload, the reset patch, the redirect
  expect(logger.lines.length).toBeGreaterThanOrEqual(14);
  const everything = [
    logger.text(),
    ...thrown.map((error) => inspect(error, { depth: 20, showHidden: true })),
    ...thrown.map((error) => JSON.stringify(error, Object.getOwnPropertyNames(error))),
    ...thrown.map((error) => String(error)),
    inspect(received, { depth: 20 }),
    JSON.stringify(received),
  ].join('\n');
  for (const secret of [RUNNER_TOKEN, JOB_TOKEN, MASKED_VALUE]) expect(everything).not.toContain(secret);
  // the runner is identified by the short form of its token only
  expect(logger.text()).toContain('"runner":"RUNNERsec"');
  // the server's own words survive, secrets aside
  expect(logger.text()).toContain('rejected [REDACTED]');
});
