import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import * as tls from 'node:tls';
import { rootCertificates, type TLSSocket } from 'node:tls';
import { runnerInfo, TransportError } from '@runner-core/core';
import { afterEach, describe, expect, it } from 'vitest';
import { HttpNetwork } from '../src/index.js';
import { loadTlsMaterial } from '../src/tls-material.js';
import { fakeClock, fixturePath, jobCredentials, runnerCredentials } from './support/fixtures.js';
import { useNock } from './support/nock-setup.js';

/*
 * TLS against a local node:https server with the test-only certificates of `__fixtures__/tls` (a private CA, a
 * server certificate for 127.0.0.1, a client certificate).
 */
useNock({ allowLoopback: true });

const pem = (name: string) => readFileSync(fixturePath(`tls/${name}`));

let server: Server | undefined;
let network: HttpNetwork | undefined;
afterEach(() => {
  network?.close();
  network = undefined;
  server?.closeAllConnections();
  server?.close();
  server = undefined;
});

/** Starts GitLab on 127.0.0.1; it answers 204 to anything and reports the client certificate it saw. */
async function startGitLab(options: { readonly requestClientCertificate?: boolean } = {}) {
  const clients: (string | undefined)[] = [];
  server = createServer(
    {
      cert: pem('server.pem'),
      key: pem('server.key'),
      ...(options.requestClientCertificate === true
        ? { requestCert: true, rejectUnauthorized: false, ca: pem('ca.pem') }
        : {}),
    },
    (request, response) => {
      const socket = request.socket as TLSSocket;
      const peer = socket.getPeerCertificate();
      clients.push(socket.authorized && peer.subject !== undefined ? String(peer.subject.CN) : undefined);
      request.resume();
      request.on('end', () => response.writeHead(204).end());
    },
  );
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return { url: `https://127.0.0.1:${(server.address() as AddressInfo).port}`, clients };
}

describe('server certificate', () => {
  it('with tlsCaFile the private CA is trusted and the call succeeds', async () => {
    const gitlab = await startGitLab();
    network = new HttpNetwork({ url: gitlab.url, clock: fakeClock(), tlsCaFile: fixturePath('tls/ca.pem') });
    const result = await network.requestJob({ credentials: runnerCredentials(), info: runnerInfo() });
    expect(result.kind).toBe('no-job');
  });

  it('without tlsCaFile the call fails with a TransportError naming the certificate problem, not sent', async () => {
    const gitlab = await startGitLab();
    network = new HttpNetwork({ url: gitlab.url, clock: fakeClock() });
    const error = await network.requestJob({ credentials: runnerCredentials(), info: runnerInfo() }).then(
      () => undefined,
      (failure: unknown) => failure,
    );
    expect(error).toBeInstanceOf(TransportError);
    expect(error).toMatchObject({
      sent: false,
      message: expect.stringMatching(
        /TLS certificate problem: .*certificate.*\(UNABLE_TO_VERIFY_LEAF_SIGNATURE\).*tlsCaFile/,
      ),
    });
  });

  it('the public roots stay trusted next to the CA file (system roots + file, as gitlab-runner does)', () => {
    const file = pem('ca.pem').toString('utf8');
    const material = loadTlsMaterial(
      { tlsCaFile: fixturePath('tls/ca.pem'), tlsCertFile: undefined, tlsKeyFile: undefined },
      {},
    );
    expect(material.ca).toEqual(expect.arrayContaining([...rootCertificates, file]));
    expect(material.ca?.at(-1)).toBe(file);
    const none = loadTlsMaterial({ tlsCaFile: undefined, tlsCertFile: undefined, tlsKeyFile: undefined }, {});
    // NOTE: where Node offers the operating system's store (Node ≥ 22.15) it is trusted too, so `ca` is set.
    if (typeof (tls as { getCACertificates?: unknown }).getCACertificates === 'function') {
      expect(none.ca).toEqual(expect.arrayContaining([...rootCertificates]));
    } else {
      expect(none).toEqual({});
    }
  });
});

describe('trust as gitlab-runner: the system roots, NODE_EXTRA_CA_CERTS and the CA file together', () => {
  it('a CA given by NODE_EXTRA_CA_CERTS stays trusted when tlsCaFile is set too', async () => {
    const gitlab = await startGitLab();
    // NOTE: the private CA comes only through the variable; the CA file is some other, unrelated certificate.
    network = new HttpNetwork({
      url: gitlab.url,
      clock: fakeClock(),
      tlsCaFile: fixturePath('tls/client.pem'),
      env: { NODE_EXTRA_CA_CERTS: fixturePath('tls/ca.pem') },
    });
    const result = await network.requestJob({ credentials: runnerCredentials(), info: runnerInfo() });
    expect(result.kind).toBe('no-job');
  });

  it('a NODE_EXTRA_CA_CERTS file that cannot be read is named, when it would be used', () => {
    expect(() =>
      loadTlsMaterial(
        { tlsCaFile: fixturePath('tls/ca.pem'), tlsCertFile: undefined, tlsKeyFile: undefined },
        { NODE_EXTRA_CA_CERTS: '/nonexistent/extra.pem' },
      ),
    ).toThrow('NODE_EXTRA_CA_CERTS "/nonexistent/extra.pem" cannot be read');
  });
});

describe('client certificate', () => {
  it('is presented when tlsCertFile and tlsKeyFile are set', async () => {
    const gitlab = await startGitLab({ requestClientCertificate: true });
    network = new HttpNetwork({
      url: gitlab.url,
      clock: fakeClock(),
      tlsCaFile: fixturePath('tls/ca.pem'),
      tlsCertFile: fixturePath('tls/client.pem'),
      tlsKeyFile: fixturePath('tls/client.key'),
    });
    await network.updateJob(jobCredentials(), { info: runnerInfo(), state: 'running' });
    expect(gitlab.clients).toEqual(['runner-core test client']);
  });

  it('is absent otherwise', async () => {
    const gitlab = await startGitLab({ requestClientCertificate: true });
    network = new HttpNetwork({ url: gitlab.url, clock: fakeClock(), tlsCaFile: fixturePath('tls/ca.pem') });
    await network.updateJob(jobCredentials(), { info: runnerInfo(), state: 'running' });
    expect(gitlab.clients).toEqual([undefined]);
  });
});
