import { once } from 'node:events';
import { createServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { runnerInfo } from '@runner-core/core';
import nock from 'nock';
import { afterAll, afterEach, beforeAll, expect, it } from 'vitest';
import { HttpNetwork } from '../src/index.js';
import { fakeClock, jobCredentials } from './support/fixtures.js';

/*
 * Connection reuse against a loopback server: only a real socket shows whether it is kept alive. NOTE: nock's
 * interception replaces the agent's sockets even when it lets a request through, so it is switched off in this file
 * only; every call here goes to 127.0.0.1.
 */
beforeAll(() => {
  nock.restore();
});
afterAll(() => {
  if (!nock.isActive()) nock.activate();
});

const cleanups: (() => void)[] = [];
afterEach(() => {
  for (const cleanup of cleanups.splice(0)) cleanup();
});

async function startGitLab(hold: boolean) {
  const held: ServerResponse[] = [];
  let connections = 0;
  let open = 0;
  let mostOpen = 0;
  let onAllClosed: (() => void) | undefined;
  const server = createServer((request, response) => {
    request.resume();
    request.on('end', () => {
      if (hold) held.push(response);
      else response.writeHead(200, { 'Content-Type': 'text/plain' }).end('200');
    });
  });
  server.on('connection', (socket) => {
    connections++;
    mostOpen = Math.max(mostOpen, ++open);
    socket.on('close', () => {
      if (--open === 0) onAllClosed?.();
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  cleanups.push(() => {
    server.closeAllConnections();
    server.close();
  });
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    held,
    connections: () => connections,
    mostOpen: () => mostOpen,
    /** Resolves once no connection is open. */
    allClosed: () =>
      new Promise<void>((resolve) => {
        if (open === 0) resolve();
        else onAllClosed = resolve;
      }),
  };
}

it('sequential calls reuse one kept-alive connection', async () => {
  const gitlab = await startGitLab(false);
  const network = new HttpNetwork({ url: gitlab.url, clock: fakeClock() });
  cleanups.push(() => network.close());
  for (let call = 0; call < 5; call++) {
    expect((await network.updateJob(jobCredentials(), { info: runnerInfo(), state: 'running' })).kind).toBe(
      'succeeded',
    );
  }
  expect(gitlab.connections()).toBe(1);
});

it('concurrent calls open at most maxSockets connections; the rest wait for a free one', async () => {
  const gitlab = await startGitLab(true);
  const network = new HttpNetwork({ url: gitlab.url, clock: fakeClock(), maxSockets: 2 });
  cleanups.push(() => network.close());
  const calls = Array.from({ length: 6 }, () =>
    network.updateJob(jobCredentials(), { info: runnerInfo(), state: 'pending' }),
  );
  // Answer held requests as they arrive until all six are done; only two can be in flight at once.
  let answered = 0;
  while (answered < 6) {
    await new Promise((resolve) => setImmediate(resolve));
    for (const response of gitlab.held.splice(0)) {
      response.writeHead(200).end('200');
      answered++;
    }
  }
  const results = await Promise.all(calls);
  expect(results.map((result) => result.kind)).toEqual(Array(6).fill('succeeded'));
  expect(gitlab.mostOpen()).toBeLessThanOrEqual(2);
  expect(gitlab.connections()).toBe(2);
});

it('an idle connection is closed after idleTimeoutMs', async () => {
  const gitlab = await startGitLab(false);
  // NOTE: a real (30 ms) wait: the idle timer belongs to the socket, not to an injectable clock.
  const network = new HttpNetwork({ url: gitlab.url, clock: fakeClock(), idleTimeoutMs: 30 });
  cleanups.push(() => network.close());
  await network.updateJob(jobCredentials(), { info: runnerInfo(), state: 'running' });
  await gitlab.allClosed();
  await network.updateJob(jobCredentials(), { info: runnerInfo(), state: 'running' });
  expect(gitlab.connections()).toBe(2);
});
