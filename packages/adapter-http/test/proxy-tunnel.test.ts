import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { createServer as createHttpsServer, type Server as HttpsServer } from 'node:https';
import { type AddressInfo, connect, type Socket } from 'node:net';
import { runnerInfo } from '@runner-core/core';
import nock from 'nock';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { HttpNetwork } from '../src/index.js';
import { fakeClock, fixturePath, RUNNER_TOKEN, runnerCredentials } from './support/fixtures.js';

/*
 * Calls through real proxies on loopback. NOTE: nock's interception cannot carry a forward-proxy request (an
 * absolute URI sent to the proxy's address) nor a CONNECT tunnel, so nock is switched off in this file only. No call
 * can leave the machine: the proxies and GitLab listen on 127.0.0.1, and `gitlab.test` (a reserved name) is only
 * ever resolved by the test proxy.
 */
beforeAll(() => {
  nock.restore();
});
afterAll(() => {
  if (!nock.isActive()) nock.activate();
});

describe('calls through a proxy (loopback servers)', () => {
  const servers: (Server | HttpsServer)[] = [];
  const sockets: Socket[] = [];
  afterEach(() => {
    for (const socket of sockets.splice(0)) socket.destroy();
    for (const server of servers.splice(0)) {
      server.closeAllConnections();
      server.close();
    }
  });

  async function listen<T extends Server | HttpsServer>(server: T): Promise<number> {
    servers.push(server);
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    return (server.address() as AddressInfo).port;
  }

  it('an http GitLab is reached through HTTP_PROXY as a forward proxy, with proxy credentials', async () => {
    const seen: IncomingMessage[] = [];
    const proxyPort = await listen(
      createServer((request, response) => {
        seen.push(request);
        request.resume();
        request.on('end', () => response.writeHead(204).end());
      }),
    );
    const http = new HttpNetwork({
      url: 'http://gitlab.test',
      clock: fakeClock(),
      env: { HTTP_PROXY: `http://proxyuser:proxypass@127.0.0.1:${proxyPort}` },
    });

    const result = await http.requestJob({ credentials: runnerCredentials(), info: runnerInfo() });
    http.close();

    expect(result.kind).toBe('no-job');
    expect(seen).toHaveLength(1);
    expect(seen[0]?.url).toBe('http://gitlab.test/api/v4/jobs/request');
    expect(seen[0]?.headers['proxy-authorization']).toBe(
      `Basic ${Buffer.from('proxyuser:proxypass').toString('base64')}`,
    );
    expect(seen[0]?.headers['runner-token']).toBe(RUNNER_TOKEN);
  });

  it('an https GitLab is reached through an HTTPS_PROXY CONNECT tunnel, TLS end to end with the configured CA', async () => {
    const tls = (name: string) => readFileSync(fixturePath(`tls/${name}`));
    const gitlabRequests: string[] = [];
    const gitlabPort = await listen(
      createHttpsServer({ cert: tls('server.pem'), key: tls('server.key') }, (request, response) => {
        gitlabRequests.push(`${request.method} ${request.url}`);
        request.resume();
        request.on('end', () => response.writeHead(204).end());
      }),
    );
    const connects: { target: string | undefined; auth: string | undefined }[] = [];
    const proxy = createServer((_request, response) => response.writeHead(405).end());
    proxy.on('connect', (request: IncomingMessage, client: Socket, head: Buffer) => {
      connects.push({ target: request.url, auth: request.headers['proxy-authorization'] });
      // The proxy resolves gitlab.test to the loopback GitLab above.
      const upstream = connect(gitlabPort, '127.0.0.1', () => {
        client.write('HTTP/1.1 200 Connection Established\r\n\r\n');
        upstream.write(head);
        upstream.pipe(client);
        client.pipe(upstream);
      });
      sockets.push(client, upstream);
    });
    const proxyPort = await listen(proxy);
    const http = new HttpNetwork({
      url: 'https://gitlab.test',
      clock: fakeClock(),
      tlsCaFile: fixturePath('tls/ca.pem'),
      env: { HTTPS_PROXY: `http://tunnel:secret@127.0.0.1:${proxyPort}`, NO_PROXY: 'other.test' },
    });

    const result = await http.requestJob({ credentials: runnerCredentials(), info: runnerInfo() });
    http.close();

    expect(result.kind).toBe('no-job');
    expect(connects).toEqual([
      { target: 'gitlab.test:443', auth: `Basic ${Buffer.from('tunnel:secret').toString('base64')}` },
    ]);
    expect(gitlabRequests).toEqual(['POST /api/v4/jobs/request']);
  });
});
