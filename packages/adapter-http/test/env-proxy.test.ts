import { ClientConfigError, runnerInfo } from '@runner-core/core';
import nock from 'nock';
import { describe, expect, it } from 'vitest';
import { proxyFor, proxySettingsFromEnv } from '../src/env-proxy.js';
import { HttpNetwork } from '../src/index.js';
import { fakeClock, runnerCredentials } from './support/fixtures.js';
import { useNock } from './support/nock-setup.js';

useNock();

const target = (url: string) => new URL(url);

describe('proxy settings from the environment', () => {
  it('uses HTTPS_PROXY for https and HTTP_PROXY for http; a bare host:port means http://', () => {
    const settings = proxySettingsFromEnv({ HTTPS_PROXY: 'proxy.corp:3128', HTTP_PROXY: 'http://plain.corp' });
    expect(proxyFor(settings, target('https://gitlab.example.com'))).toMatchObject({
      protocol: 'http',
      host: 'proxy.corp',
      port: 3128,
    });
    expect(proxyFor(settings, target('http://gitlab.example.com'))).toMatchObject({ host: 'plain.corp', port: 80 });
  });

  it('reads the lower-case variables too, upper case first (as Go does)', () => {
    expect(proxyFor(proxySettingsFromEnv({ https_proxy: 'http://lower:1' }), target('https://g'))?.host).toBe('lower');
    const both = proxySettingsFromEnv({ HTTPS_PROXY: 'http://upper:1', https_proxy: 'http://lower:1' });
    expect(proxyFor(both, target('https://g'))?.host).toBe('upper');
  });

  it('has no proxy when nothing is set', () => {
    expect(proxyFor(proxySettingsFromEnv({}), target('https://gitlab.example.com'))).toBeUndefined();
  });

  it('decodes proxy credentials and keeps them out of the display form', () => {
    const proxy = proxyFor(
      proxySettingsFromEnv({ HTTPS_PROXY: 'https://me%40corp:p%3Ass@proxy.corp' }),
      target('https://g'),
    );
    expect(proxy).toMatchObject({ protocol: 'https', port: 443, auth: { username: 'me@corp', password: 'p:ss' } });
    expect(proxy?.display).toBe('https://proxy.corp');
  });

  it.each([
    ['*', 'https://anything.example.com', true],
    ['example.com', 'https://example.com', true],
    ['example.com', 'https://gitlab.example.com', true],
    ['.example.com', 'https://example.com', false],
    ['.example.com', 'https://gitlab.example.com', true],
    ['*.example.com', 'https://gitlab.example.com', true],
    ['example.com', 'https://notexample.com', false],
    ['gitlab.example.com:8443', 'https://gitlab.example.com:8443', true],
    ['gitlab.example.com:8443', 'https://gitlab.example.com', false],
    ['10.0.0.0/8', 'https://10.1.2.3', true],
    ['10.0.0.0/8', 'https://11.1.2.3', false],
    ['192.168.1.7', 'https://192.168.1.7', true],
    ['192.168.1.7:443', 'https://192.168.1.7', true],
    ['[::2]', 'https://[::2]', true],
    ['other.org, EXAMPLE.com', 'https://gitlab.example.com', true],
  ])('NO_PROXY=%s bypasses %s: %s', (noProxy, url, bypassed) => {
    const settings = proxySettingsFromEnv({ HTTPS_PROXY: 'http://proxy:3128', NO_PROXY: noProxy });
    expect(proxyFor(settings, target(url)) === undefined).toBe(bypassed);
  });

  it('never proxies localhost or loopback addresses', () => {
    const settings = proxySettingsFromEnv({ HTTPS_PROXY: 'http://proxy:3128', HTTP_PROXY: 'http://proxy:3128' });
    for (const url of ['http://localhost:8080', 'https://127.0.0.1', 'http://127.8.9.1', 'https://[::1]:443']) {
      expect(proxyFor(settings, target(url))).toBeUndefined();
    }
  });

  it('refuses an unusable proxy URL, naming the variable', () => {
    expect(() => proxySettingsFromEnv({ http_proxy: 'http://[broken' })).toThrow(ClientConfigError);
    expect(() => proxySettingsFromEnv({ http_proxy: 'http://[broken' })).toThrow(/http_proxy/);
    expect(() => proxySettingsFromEnv({ HTTPS_PROXY: 'socks5://proxy:1080' })).toThrow(/only http and https proxies/);
  });
});

describe('NO_PROXY over HTTP', () => {
  it('sends the call directly, not to the proxy', async () => {
    // NOTE: the proxy port is never listened on; a call through it would fail with ECONNREFUSED.
    const scope = nock('http://gitlab.test').post('/api/v4/jobs/request').reply(204);
    const http = new HttpNetwork({
      url: 'http://gitlab.test',
      clock: fakeClock(),
      env: { HTTP_PROXY: 'http://127.0.0.1:9', NO_PROXY: '.test' },
    });
    const result = await http.requestJob({ credentials: runnerCredentials(), info: runnerInfo() });
    scope.done();
    expect(result.kind).toBe('no-job');
  });
});
