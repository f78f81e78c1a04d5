import { BlockList, isIP } from 'node:net';
import { ClientConfigError } from '@runner-core/core';
import { urlForDisplay } from './gitlab-url.js';

/** A forward proxy, in the shape the HTTP client takes. */
export interface ProxyServer {
  readonly protocol: 'http' | 'https';
  readonly host: string;
  readonly port: number;
  readonly auth?: { readonly username: string; readonly password: string };
  /** `protocol://host:port`, credentials never included: safe to log. */
  readonly display: string;
}

/** The proxy configuration read from the environment, once. */
export interface ProxySettings {
  readonly http?: ProxyServer;
  readonly https?: ProxyServer;
  readonly noProxy: NoProxy;
}

interface NoProxy {
  readonly all: boolean;
  readonly ips: BlockList;
  /** Host names: `exact` matches the name and its subdomains, `dot` (from `.example.com`) only subdomains. */
  readonly names: readonly { readonly name: string; readonly subdomainsOnly: boolean; readonly port?: string }[];
  readonly ipPorts: readonly { readonly ip: string; readonly port: string }[];
}

/**
 * Reads `HTTPS_PROXY`, `HTTP_PROXY` and `NO_PROXY` (each upper case first, then lower case) the way Go's
 * `httpproxy.FromEnvironment` does, which is what gitlab-runner uses: a value without a scheme means `http://`;
 * `NO_PROXY` takes `*`, host names (`example.com` also covers subdomains, `.example.com` only subdomains), IPs and
 * CIDR ranges, each optionally with `:port`.
 *
 * @throws {ClientConfigError} when a proxy URL does not parse or uses a scheme other than http/https (SOCKS is not
 *   supported); the message names the variable and shows the URL without credentials.
 */
export function proxySettingsFromEnv(env: Readonly<Record<string, string | undefined>>): ProxySettings {
  const https = proxyServer(env, 'HTTPS_PROXY');
  const http = proxyServer(env, 'HTTP_PROXY');
  return {
    ...(https === undefined ? {} : { https }),
    ...(http === undefined ? {} : { http }),
    noProxy: parseNoProxy(envValue(env, 'NO_PROXY')?.value ?? ''),
  };
}

/**
 * The proxy to use for `target`, or `undefined` to connect directly. NOTE: as in Go, `localhost` and loopback
 * addresses are never proxied, whatever the environment says.
 */
export function proxyFor(settings: ProxySettings, target: URL): ProxyServer | undefined {
  const proxy = target.protocol === 'https:' ? settings.https : settings.http;
  if (proxy === undefined) return undefined;
  const host = target.hostname.replace(/^\[|\]$/g, '').toLowerCase();
  if (host === 'localhost' || host.endsWith('.localhost') || isLoopback(host)) return undefined;
  const port = target.port || (target.protocol === 'https:' ? '443' : '80');
  return bypasses(settings.noProxy, host, port) ? undefined : proxy;
}

function envValue(
  env: Readonly<Record<string, string | undefined>>,
  upper: string,
): { readonly name: string; readonly value: string } | undefined {
  for (const name of [upper, upper.toLowerCase()]) {
    const value = env[name];
    if (value !== undefined && value.trim() !== '') return { name, value: value.trim() };
  }
  return undefined;
}

function proxyServer(env: Readonly<Record<string, string | undefined>>, upper: string): ProxyServer | undefined {
  const found = envValue(env, upper);
  if (found === undefined) return undefined;
  const raw = /^[a-z][a-z0-9+.-]*:\/\//i.test(found.value) ? found.value : `http://${found.value}`;
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new ClientConfigError(`${found.name} "${urlForDisplay(raw)}" is not a valid proxy URL`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new ClientConfigError(
      `${found.name} "${urlForDisplay(raw)}" uses scheme "${url.protocol.slice(0, -1)}": only http and https proxies are supported`,
    );
  }
  const protocol = url.protocol === 'https:' ? 'https' : 'http';
  const port = url.port === '' ? (protocol === 'https' ? 443 : 80) : Number(url.port);
  const host = url.hostname.replace(/^\[|\]$/g, '');
  const username = decodeURIComponent(url.username);
  const password = decodeURIComponent(url.password);
  return {
    protocol,
    host,
    port,
    ...(username === '' && password === '' ? {} : { auth: { username, password } }),
    display: `${protocol}://${url.host}`,
  };
}

function parseNoProxy(value: string): NoProxy {
  const ips = new BlockList();
  const names: { name: string; subdomainsOnly: boolean; port?: string }[] = [];
  const ipPorts: { ip: string; port: string }[] = [];
  let all = false;
  for (const rawEntry of value.split(/[\s,]+/)) {
    const entry = rawEntry.trim().toLowerCase();
    if (entry === '') continue;
    if (entry === '*') {
      all = true;
      continue;
    }
    const cidr = /^(.+)\/(\d{1,3})$/.exec(entry);
    if (cidr?.[1] !== undefined && cidr[2] !== undefined && isIP(cidr[1]) !== 0) {
      const family = isIP(cidr[1]) === 6 ? 'ipv6' : 'ipv4';
      ips.addSubnet(cidr[1], Number(cidr[2]), family);
      continue;
    }
    const bareIp = entry.replace(/^\[|\]$/g, '');
    if (isIP(bareIp) !== 0) {
      ips.addAddress(bareIp, isIP(bareIp) === 6 ? 'ipv6' : 'ipv4');
      continue;
    }
    const withPort = /^\[?([^\]]+?)\]?:(\d+)$/.exec(entry);
    if (withPort?.[1] !== undefined && withPort[2] !== undefined) {
      if (isIP(withPort[1]) !== 0) {
        ipPorts.push({ ip: withPort[1], port: withPort[2] });
        continue;
      }
      names.push(nameRule(withPort[1], withPort[2]));
      continue;
    }
    names.push(nameRule(entry));
  }
  return { all, ips, names, ipPorts };
}

function nameRule(entry: string, port?: string): { name: string; subdomainsOnly: boolean; port?: string } {
  const subdomainsOnly = entry.startsWith('.');
  // NOTE: Go treats a leading `*.` like a leading `.`.
  const name = entry.replace(/^\*?\./, '');
  return { name, subdomainsOnly, ...(port === undefined ? {} : { port }) };
}

function bypasses(noProxy: NoProxy, host: string, port: string): boolean {
  if (noProxy.all) return true;
  const family = isIP(host);
  if (family !== 0) {
    if (noProxy.ips.check(host, family === 6 ? 'ipv6' : 'ipv4')) return true;
    return noProxy.ipPorts.some((rule) => rule.ip === host && rule.port === port);
  }
  return noProxy.names.some((rule) => {
    if (rule.port !== undefined && rule.port !== port) return false;
    if (host.endsWith(`.${rule.name}`)) return true;
    return !rule.subdomainsOnly && host === rule.name;
  });
}

function isLoopback(host: string): boolean {
  const family = isIP(host);
  if (family === 4) return host.startsWith('127.');
  if (family === 6) return host === '::1' || host === '0:0:0:0:0:0:0:1';
  return false;
}
