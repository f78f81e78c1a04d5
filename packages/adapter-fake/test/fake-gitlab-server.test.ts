import { runnerInfo } from '@runner-core/core';
import type { ServerProfile } from '@runner-core/core/simulation';
import { afterEach, describe, expect, test } from 'vitest';
import { FakeGitLab, FakeGitLabServer } from '../src/index.js';

// Real loopback HTTP with node's fetch; the model runs on the system clock (no timing is asserted beyond a
// short delay's lower bound).

const servers: FakeGitLabServer[] = [];

afterEach(async () => {
  await Promise.all(servers.splice(0).map((server) => server.close()));
});

async function serve(profile: ServerProfile = 'two-phase'): Promise<{ gitlab: FakeGitLab; server: FakeGitLabServer }> {
  const gitlab = new FakeGitLab({ profile });
  const server = await FakeGitLabServer.start({ gitlab });
  servers.push(server);
  return { gitlab, server };
}

function requestJob(server: FakeGitLabServer, gitlab: FakeGitLab, init: RequestInit = {}): Promise<Response> {
  return fetch(`${server.url}/api/v4/jobs/request`, {
    method: 'POST',
    headers: { 'RUNNER-TOKEN': gitlab.runnerToken, 'Content-Type': 'application/json', 'X-Request-Id': 'abc123' },
    body: JSON.stringify({ token: gitlab.runnerToken, system_id: 's_0123456789ab', info: runnerInfo() }),
    ...init,
  });
}

function putJob(server: FakeGitLabServer, id: number, token: string, state: string): Promise<Response> {
  return fetch(`${server.url}/api/v4/jobs/${id}`, {
    method: 'PUT',
    headers: { 'JOB-TOKEN': token, 'Content-Type': 'application/json' },
    body: JSON.stringify({ token, state, info: runnerInfo() }),
  });
}

describe('FakeGitLabServer runner API', () => {
  test('listens on 127.0.0.1 on a free port', async () => {
    const { server } = await serve();
    expect(server.url).toBe(`http://127.0.0.1:${server.port}`);
    expect(server.port).toBeGreaterThan(0);
  });

  test('POST /api/v4/jobs/request: 201 JSON with the payload and the X-Request-Id echoed', async () => {
    const { gitlab, server } = await serve();
    const { id, token } = gitlab.enqueueJob();
    const response = await requestJob(server, gitlab);
    expect(response.status).toBe(201);
    expect(response.headers.get('content-type')).toBe('application/json');
    expect(response.headers.get('x-request-id')).toBe('abc123');
    const payload = (await response.json()) as { id: number; token: string };
    expect(payload).toMatchObject({ id, token: token.reveal() });
    expect(gitlab.job(id)).toMatchObject({ status: 'pending', waiting: true });
  });

  test('POST /api/v4/jobs/request: 204 with X-GitLab-Last-Update and no body on an empty queue', async () => {
    const { gitlab, server } = await serve();
    const response = await requestJob(server, gitlab);
    expect(response.status).toBe(204);
    expect(response.headers.get('x-gitlab-last-update')).toBe(gitlab.lastUpdate);
    expect(await response.text()).toBe('');
  });

  test('PUT /api/v4/jobs/:id: body "200" as text, Job-Status after processing; 403 with a JSON message', async () => {
    const { gitlab, server } = await serve();
    const { id, token } = gitlab.enqueueJob();
    await requestJob(server, gitlab);
    const keepAlive = await putJob(server, id, token.reveal(), 'pending');
    expect(keepAlive.status).toBe(200);
    expect(keepAlive.headers.get('job-status')).toBe('pending');
    expect(keepAlive.headers.get('content-type')).toBe('text/plain');
    expect(await keepAlive.text()).toBe('200');
    const confirm = await putJob(server, id, token.reveal(), 'running');
    expect(confirm.headers.get('job-status')).toBe('running');
    const wrong = await putJob(server, id, 'glcbt-wrong', 'running');
    expect(wrong.status).toBe(403);
    expect(await wrong.json()).toEqual({ message: '403 Forbidden' });
  });

  test('POST /api/v4/jobs/:id/runner_status: 404 without Job-Status unless the server has it', async () => {
    for (const profile of ['two-phase', 'runner-status'] as const) {
      const { gitlab, server } = await serve(profile);
      const { id, token } = gitlab.enqueueJob();
      await requestJob(server, gitlab);
      const response = await fetch(`${server.url}/api/v4/jobs/${id}/runner_status`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ token: token.reveal(), status: 'running', info: runnerInfo() }),
      });
      expect(response.status).toBe(profile === 'runner-status' ? 200 : 404);
      expect(response.headers.get('job-status')).toBe(profile === 'runner-status' ? 'running' : null);
    }
  });

  test('PATCH /api/v4/jobs/:id/trace: 202 with Range; 416 on a wrong start; debug_trace read', async () => {
    const { gitlab, server } = await serve('legacy');
    const { id, token } = gitlab.enqueueJob();
    await requestJob(server, gitlab);
    const patch = (text: string, range: string) =>
      fetch(`${server.url}/api/v4/jobs/${id}/trace?debug_trace=true`, {
        method: 'PATCH',
        headers: { 'JOB-TOKEN': token.reveal(), 'Content-Type': 'text/plain', 'Content-Range': range },
        body: text,
      });
    const ok = await patch('hello', '0-4');
    expect(ok.status).toBe(202);
    expect(ok.headers.get('range')).toBe('0-5');
    expect(ok.headers.get('x-gitlab-trace-update-interval')).toBe('60');
    const mismatch = await patch('x', '2-2');
    expect(mismatch.status).toBe(416);
    expect(mismatch.headers.get('range')).toBe('0-5');
    expect(gitlab.job(id)).toMatchObject({ trace: 'hello', debugTrace: true });
  });

  test('404 for an unknown path, 405 with Allow for a wrong method', async () => {
    const { server } = await serve();
    expect((await fetch(`${server.url}/api/v4/runners/unknown`, { method: 'POST' })).status).toBe(404);
    const wrongMethod = await fetch(`${server.url}/api/v4/jobs/request`);
    expect(wrongMethod.status).toBe(405);
    expect(wrongMethod.headers.get('allow')).toBe('POST');
  });
});

describe('FakeGitLabServer faults on the socket', () => {
  test('reset destroys the socket: the client gets no answer', async () => {
    const { gitlab, server } = await serve();
    gitlab.inject('request-job', { fault: 'reset' });
    await expect(requestJob(server, gitlab)).rejects.toThrow();
    expect((await requestJob(server, gitlab)).status).toBe(204);
  });

  test('timeout never answers until the client gives up, and close() still ends promptly', async () => {
    const { gitlab, server } = await serve();
    gitlab.inject('request-job', { fault: 'timeout' });
    await expect(requestJob(server, gitlab, { signal: AbortSignal.timeout(150) })).rejects.toThrow();
    gitlab.inject('request-job', { fault: 'timeout' });
    const hanging = requestJob(server, gitlab).catch((error: unknown) => error);
    await until(() => gitlab.requests('request-job').length === 2);
    await server.close();
    expect(await hanging).toBeInstanceOf(Error);
  });

  test('delayMs holds the answer back', async () => {
    const { gitlab, server } = await serve();
    gitlab.inject('request-job', { status: 503, headers: { 'Retry-After': '1' }, delayMs: 120 });
    const started = performance.now();
    const response = await requestJob(server, gitlab);
    expect(performance.now() - started).toBeGreaterThanOrEqual(100);
    expect(response.status).toBe(503);
    expect(response.headers.get('retry-after')).toBe('1');
  });

  test('close() releases the port and leaves no listening handle behind', async () => {
    const listening = () => process.getActiveResourcesInfo().filter((kind) => kind === 'TCPServerWrap').length;
    // NOTE: node drops a closed server's handle a moment after the close callback, so counts are polled.
    const settlesAt = async (expected: number): Promise<number> => {
      await until(() => listening() === expected).catch(() => {});
      return listening();
    };
    // Earlier tests' servers are closed, but node drops their handles a moment later: let that happen first.
    const before = await settlesAt(0);
    const { gitlab, server } = await serve();
    gitlab.inject('request-job', { delayMs: 60_000 });
    const delayed = requestJob(server, gitlab).catch((error: unknown) => error);
    await until(() => gitlab.requests('request-job').length === 1);
    expect(await settlesAt(before + 1)).toBe(before + 1);
    await server.close();
    await server.close();
    expect(await delayed).toBeInstanceOf(Error);
    expect(await settlesAt(before)).toBe(before);
    await expect(fetch(`${server.url}/-/sim/jobs`)).rejects.toThrow();
  });
});

describe('FakeGitLabServer control endpoints', () => {
  test('enqueue, list, read, cancel and expire jobs; no token in any answer', async () => {
    const { gitlab, server } = await serve();
    const created = await fetch(`${server.url}/-/sim/jobs`, { method: 'POST', body: JSON.stringify({ name: 'lint' }) });
    expect(created.status).toBe(201);
    const { id } = (await created.json()) as { id: number };
    expect(gitlab.payload(id).job_info?.name).toBe('lint');
    const plain = await fetch(`${server.url}/-/sim/jobs`, { method: 'POST' });
    expect(plain.status).toBe(201);

    const listed = await fetch(`${server.url}/-/sim/jobs`);
    const listText = await listed.text();
    expect(JSON.parse(listText)).toEqual([
      expect.objectContaining({ id, status: 'pending' }),
      expect.objectContaining({ status: 'pending' }),
    ]);
    expect((await (await fetch(`${server.url}/-/sim/jobs/${id}`)).json()) as object).toMatchObject({ id });

    const canceled = await fetch(`${server.url}/-/sim/jobs/${id}/cancel`, { method: 'POST' });
    expect(await canceled.json()).toEqual({ id, status: 'canceled' });
    const expired = await fetch(`${server.url}/-/sim/expire`, { method: 'POST' });
    expect(await expired.json()).toEqual({ dropped: [] });

    await requestJob(server, gitlab);
    const requests = await (await fetch(`${server.url}/-/sim/requests`)).text();
    for (const text of [listText, requests]) {
      expect(text).not.toContain(gitlab.runnerToken);
      for (const job of gitlab.jobs()) expect(text).not.toContain(gitlab.payload(job.id).token.reveal());
    }
  });

  test('clear errors: unknown job 404, wrong method 405, bad spec 400', async () => {
    const { server } = await serve();
    expect((await fetch(`${server.url}/-/sim/jobs/999/cancel`, { method: 'POST' })).status).toBe(404);
    const wrong = await fetch(`${server.url}/-/sim/expire`);
    expect(wrong.status).toBe(405);
    expect(wrong.headers.get('allow')).toBe('POST');
    const bad = await fetch(`${server.url}/-/sim/jobs`, { method: 'POST', body: '[1]' });
    expect(bad.status).toBe(400);
    expect(await bad.json()).toEqual({ message: '400 Bad Request - the body must be a JSON object (a job spec)' });
    expect((await fetch(`${server.url}/-/sim/nothing`)).status).toBe(404);
    const badScript = await fetch(`${server.url}/-/sim/jobs`, { method: 'POST', body: '{"script":"ls"}' });
    expect(badScript.status).toBe(400);
    expect(await badScript.json()).toEqual({
      message: '400 Bad Request - FakeGitLab.enqueueJob: script must be a list of strings',
    });
  });

  test('start refuses a bad port with a clear error', async () => {
    const gitlab = new FakeGitLab({ profile: 'legacy' });
    await expect(FakeGitLabServer.start({ gitlab, port: 70_000 })).rejects.toThrow(
      'FakeGitLabServer: port must be an integer in 0-65535, got 70000',
    );
  });
});

/**
 * Waits until `condition` holds, letting I/O run between checks (one event-loop turn each, no timer): for socket
 * events a test cannot await directly. Fails after `turns` turns instead of hanging.
 */
async function until(condition: () => boolean, turns = 100_000): Promise<void> {
  for (let turn = 0; turn < turns; turn++) {
    if (condition()) return;
    await new Promise((resolve) => setImmediate(resolve));
  }
  throw new Error('condition not met');
}
