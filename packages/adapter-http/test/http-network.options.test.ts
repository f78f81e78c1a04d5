import { readFileSync } from 'node:fs';
import { ClientConfigError, goArchitecture, goPlatform, runnerInfo } from '@runner-core/core';
import nock from 'nock';
import { describe, expect, it } from 'vitest';
import { runnerApiBase } from '../src/gitlab-url.js';
import { defaultUserAgent, resolveHttpNetworkOptions } from '../src/http-network.options.js';
import { createHttpNetwork, HttpNetwork } from '../src/index.js';
import { ADAPTER_VERSION } from '../src/version.js';
import { fakeClock, fixturePath, runnerCredentials } from './support/fixtures.js';
import { useNock } from './support/nock-setup.js';

useNock();

function configError(run: () => unknown): ClientConfigError {
  try {
    run();
  } catch (error) {
    if (error instanceof ClientConfigError) return error;
    throw error;
  }
  throw new Error('expected a ClientConfigError');
}

describe('GitLab URL normalisation (docs/gitlab-protocol.md §1.1, T11)', () => {
  it.each([
    ['https://host/ci///', 'https://host/api/v4/'],
    ['https://x/gitlab/ci/', 'https://x/gitlab/api/v4/'],
    ['https://gitlab.example.com', 'https://gitlab.example.com/api/v4/'],
    ['https://gitlab.example.com/', 'https://gitlab.example.com/api/v4/'],
    ['http://127.0.0.1:8080/ci', 'http://127.0.0.1:8080/api/v4/'],
    ['https://x/ci/ci', 'https://x/ci/api/v4/'],
    ['https://x/cicd', 'https://x/cicd/api/v4/'],
  ])('%s → %s', (configured, expected) => {
    expect(runnerApiBase(configured).href).toBe(expected);
  });

  it('the requests go to the normalised base', async () => {
    const scope = nock('https://x').post('/gitlab/api/v4/jobs/request').reply(204);
    const http = createHttpNetwork({ url: 'https://x/gitlab/ci/', clock: fakeClock() });
    expect(http.baseUrl).toBe('https://x/gitlab/api/v4/');
    await http.requestJob({ credentials: runnerCredentials(), info: runnerInfo() });
    scope.done();
  });

  it.each([
    ['ftp://gitlab.example.com', /scheme "ftp": only http and https/],
    ['gitlab.example.com', /not a valid URL/],
    ['invalid', /not a valid URL/],
    ['unix:///var/run/gitlab.sock', /scheme "unix"/],
    ['https://gitlab.example.com/?private_token=x', /query or a fragment/],
  ])('refuses %s with a ClientConfigError naming the URL', (url, message) => {
    const error = configError(() => new HttpNetwork({ url }));
    expect(error.message).toMatch(message);
    expect(error.message).toContain(url.split('?')[0]?.replace(/\/$/, '') ?? url);
  });

  it('never echoes credentials embedded in a refused URL', () => {
    const error = configError(() => new HttpNetwork({ url: 'ftp://deploy:hunter2@gitlab.example.com/' }));
    expect(error.message).not.toContain('hunter2');
    expect(error.message).not.toContain('deploy');
    expect(error.message).toContain('ftp://***@gitlab.example.com');
  });

  it('requires a URL', () => {
    expect(configError(() => new HttpNetwork({ url: '  ' })).message).toMatch(/"url" is required/);
  });
});

describe('options', () => {
  it('applies the documented defaults', () => {
    const resolved = resolveHttpNetworkOptions({ url: 'https://gitlab.example.com' });
    expect(resolved).toMatchObject({
      timeoutMs: 60_000,
      jobRequestTimeoutMs: 70_000,
      maxSockets: 100,
      idleTimeoutMs: 90_000,
      userAgent: defaultUserAgent(),
    });
    expect(resolved.jobRequestTimeoutMs).toBeGreaterThan(50_000); // Workhorse's long poll
    expect(resolved.newRequestId()).toMatch(/^[0-9a-f]{32}$/);
  });

  it("the default user agent is in gitlab-runner's shape: product, version, branch, runtime, Go's platform names", () => {
    expect(defaultUserAgent()).toBe(
      `runner-core ${ADAPTER_VERSION} (main; node ${process.version}; ${goPlatform(process.platform)}/${goArchitecture(process.arch)})`,
    );
  });

  it('the version in the user agent is the package version', () => {
    const manifest = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as {
      version: string;
    };
    expect(ADAPTER_VERSION).toBe(manifest.version);
  });

  it.each([
    ['timeoutMs', 0],
    ['timeoutMs', -5],
    ['jobRequestTimeoutMs', 1.5],
    ['maxSockets', Number.NaN],
    ['idleTimeoutMs', Number.POSITIVE_INFINITY],
  ])('refuses %s = %s, naming the option', (name, value) => {
    const error = configError(() => new HttpNetwork({ url: 'https://gitlab.example.com', [name]: value }));
    expect(error.message).toContain(`"${name}"`);
  });

  it('refuses an empty user agent', () => {
    expect(configError(() => new HttpNetwork({ url: 'https://g', userAgent: ' ' })).message).toContain('userAgent');
  });

  it('needs tlsCertFile and tlsKeyFile together', () => {
    const error = configError(() => new HttpNetwork({ url: 'https://g', tlsCertFile: fixturePath('tls/client.pem') }));
    expect(error.message).toMatch(/tlsCertFile.*tlsKeyFile/);
  });

  it('names a CA file that cannot be read', () => {
    const error = configError(() => new HttpNetwork({ url: 'https://g', tlsCaFile: '/nonexistent/ca.pem' }));
    expect(error.message).toContain('tlsCaFile "/nonexistent/ca.pem" cannot be read');
  });

  it('names a CA file without a certificate', () => {
    const path = fixturePath('jobs-request.403.json');
    const error = configError(() => new HttpNetwork({ url: 'https://g', tlsCaFile: path }));
    expect(error.message).toContain(`tlsCaFile "${path}" holds no PEM certificate`);
  });

  it('names a certificate and key that do not belong together', () => {
    const error = configError(
      () =>
        new HttpNetwork({
          url: 'https://g',
          tlsCertFile: fixturePath('tls/client.pem'),
          tlsKeyFile: fixturePath('tls/server.key'),
        }),
    );
    expect(error.message).toMatch(/tlsCertFile ".*client.pem" and tlsKeyFile ".*server.key" are not a usable key pair/);
    expect(error.message).not.toContain('PRIVATE KEY');
  });

  it('names a proxy variable that cannot be used', () => {
    const error = configError(
      () => new HttpNetwork({ url: 'https://g', env: { HTTPS_PROXY: 'socks5://user:pw@proxy:1080' } }),
    );
    expect(error.message).toContain('HTTPS_PROXY "socks5://***@proxy:1080"');
    expect(error.message).not.toContain('pw');
  });
});
