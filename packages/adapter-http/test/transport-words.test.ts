import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { runnerInfo, TransportError } from '@runner-core/core';
import { afterEach, describe, expect, it } from 'vitest';
import { HttpNetwork } from '../src/index.js';
import { fakeClock, runnerCredentials } from './support/fixtures.js';
import { useNock } from './support/nock-setup.js';

/*
 * A transport failure says in words what happened, for the person reading the one line it gets: "connection
 * refused by 127.0.0.1:4748", not Node's or OpenSSL's raw text alone. Real sockets on loopback.
 */
useNock({ allowLoopback: true });

let server: Server | undefined;
let network: HttpNetwork | undefined;
afterEach(async () => {
  await network?.close();
  network = undefined;
  server?.close();
  server = undefined;
});

async function listening(): Promise<number> {
  server = createServer((_request, response) => response.writeHead(204).end());
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return (server.address() as AddressInfo).port;
}

async function failure(url: string): Promise<TransportError> {
  network = new HttpNetwork({ url, clock: fakeClock() });
  const error = await network.requestJob({ credentials: runnerCredentials(), info: runnerInfo() }).catch((e) => e);
  expect(error).toBeInstanceOf(TransportError);
  return error as TransportError;
}

describe('transport failures in words', () => {
  it('a closed port: connection refused by host:port, not sent', async () => {
    const port = await listening();
    server?.close();
    server = undefined;
    const error = await failure(`http://127.0.0.1:${port}`);
    expect(error.message).toBe(
      `POST /api/v4/jobs/request failed: connection refused by 127.0.0.1:${port} (ECONNREFUSED)`,
    );
    expect(error.sent).toBe(false);
  });

  it('https to a server speaking plain HTTP: says so, not an OpenSSL record error', async () => {
    const port = await listening();
    const error = await failure(`https://127.0.0.1:${port}`);
    expect(error.message).toMatch(
      new RegExp(
        `^POST /api/v4/jobs/request failed: TLS handshake with 127\\.0\\.0\\.1:${port} failed: the server does not speak TLS there \\(is the URL http://\\?\\) \\(`,
      ),
    );
  });
});
