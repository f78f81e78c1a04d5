import { Agent as HttpAgent } from 'node:http';
import { Agent as HttpsAgent } from 'node:https';
import {
  type LogFields,
  type Logger,
  ResponseTooLargeError,
  TransportError,
  UnexpectedStatusError,
} from '@runner-core/core';
import type { WireHeaders, WireRequest, WireResponse, WireTransport } from '@runner-core/core/wire';
import axios, { type AxiosInstance, type AxiosProxyConfig } from 'axios';
import { type ProxySettings, proxyFor, proxySettingsFromEnv } from './env-proxy.js';
import { urlForDisplay } from './gitlab-url.js';
import type { ResolvedHttpNetworkOptions } from './http-network.options.js';
import { loadTlsMaterial } from './tls-material.js';
import { transportErrorOf } from './transport-errors.js';

/** Same-origin 307/308 hops followed per call, as Go's default client allows. */
const MAX_REDIRECTS = 10;

/**
 * The {@link WireTransport} of `HttpNetwork`: one axios instance with kept-alive agents, TLS and proxies.
 *
 * - Every status is an answer; same-origin 307/308 redirects are followed (method, headers and body re-sent), every
 *   other redirect is refused with an `UnexpectedStatusError`, so a token never travels to another origin.
 * - Each call has a deadline for the whole exchange, redirects included: `jobRequestTimeoutMs` for a job request
 *   (it may be a long poll), `timeoutMs` for the rest.
 * - An answer body over the request's `maxResponseBytes` is a `ResponseTooLargeError`; reading stops there.
 * - Errors carry no request config (its headers and body hold tokens), and messages are redacted.
 */
export class HttpTransport implements WireTransport {
  readonly #options: ResolvedHttpNetworkOptions;
  readonly #base: URL;
  readonly #http: AxiosInstance;
  readonly #httpAgent: HttpAgent;
  readonly #httpsAgent: HttpsAgent;
  readonly #proxy: ProxySettings;
  readonly #logger: Logger;

  /** @throws {ClientConfigError} for an unusable certificate file or proxy setting */
  constructor(options: ResolvedHttpNetworkOptions, base: URL, logger: Logger) {
    this.#options = options;
    this.#base = base;
    this.#logger = logger;
    this.#proxy = proxySettingsFromEnv(options.env);
    const tls = loadTlsMaterial(options, options.env);
    const pool = {
      keepAlive: true,
      maxSockets: options.maxSockets,
      maxFreeSockets: options.maxSockets,
      // NOTE: Node's agent closes a kept-alive socket that sits idle this long; a socket in use is bounded by the
      // call's deadline instead (see send).
      timeout: options.idleTimeoutMs,
    };
    this.#httpAgent = new HttpAgent(pool);
    this.#httpsAgent = new HttpsAgent({ ...pool, ...tls, minVersion: 'TLSv1.2' });
    this.#http = axios.create({
      baseURL: base.href,
      httpAgent: this.#httpAgent,
      httpsAgent: this.#httpsAgent,
      // Every status is an answer to classify, and redirects are decided here, not by the client.
      validateStatus: () => true,
      maxRedirects: 0,
      responseType: 'arraybuffer',
      transformRequest: [(data: unknown) => data],
      transformResponse: [(data: unknown) => data],
    });
  }

  async send(request: WireRequest): Promise<WireResponse> {
    const { what, signal } = request;
    if (signal?.aborted) throw new TransportError(`${what} was aborted before it was sent`, false);
    const timeoutMs = request.operation === 'request-job' ? this.#options.jobRequestTimeoutMs : this.#options.timeoutMs;
    const fields: LogFields = { requestId: request.headers['X-Request-Id'] };
    // NOTE: axios's own `timeout` is an inactivity timeout (a trickling answer never trips it); the call's timeout
    // is a deadline for the whole exchange, redirects included.
    const abort = new AbortController();
    let timedOut = false;
    const deadline = setTimeout(() => {
      timedOut = true;
      abort.abort();
    }, timeoutMs);
    const forwardAbort = (): void => abort.abort();
    signal?.addEventListener('abort', forwardAbort, { once: true });
    const body = Buffer.from(request.body.buffer, request.body.byteOffset, request.body.byteLength);
    try {
      let url = new URL(request.path, this.#base);
      for (let hop = 0; ; hop++) {
        let response: WireResponse;
        try {
          const answer = await this.#http.request({
            method: request.method,
            url: url.href,
            headers: {
              ...request.headers,
              // `false` removes a header axios would add by default.
              ...(request.headers.Accept === undefined ? { Accept: false } : {}),
            },
            data: body,
            proxy: this.#proxyConfig(url),
            signal: abort.signal,
            maxContentLength: request.maxResponseBytes,
          });
          const data: unknown = answer.data;
          response = {
            status: answer.status,
            headers: plainHeaders(answer.headers),
            body: Buffer.isBuffer(data) ? data : Buffer.alloc(0),
          };
        } catch (error) {
          if (timedOut) throw new TransportError(`${what} timed out after ${timeoutMs} ms`, true);
          if (isTooLarge(error)) {
            throw new ResponseTooLargeError(
              `${what} answered with a body over ${request.maxResponseBytes} bytes; not read further`,
              request.maxResponseBytes,
            );
          }
          throw transportErrorOf(error, what, request.secrets, this.#base.host);
        }
        if (response.status < 300 || response.status >= 400) return response;
        try {
          url = this.#redirectTarget(response.status, response.headers.location, url, hop, what);
        } catch (error) {
          const message = error instanceof Error ? error.message : String(error);
          this.#logger.warn('Redirect refused', { ...fields, status: response.status, error: message });
          throw error;
        }
        this.#logger.debug('Following a same-origin redirect', { ...fields, status: response.status });
      }
    } finally {
      clearTimeout(deadline);
      signal?.removeEventListener('abort', forwardAbort);
    }
  }

  async close(): Promise<void> {
    this.#httpAgent.destroy();
    this.#httpsAgent.destroy();
  }

  /**
   * Where a redirect may be followed: only 307/308 (method and body kept) within GitLab's origin, at most
   * {@link MAX_REDIRECTS} times (docs/adr/0003-refuse-cross-origin-redirects.md). NOTE: gitlab-runner (Go's client)
   * also follows 301/302/303 as a GET and keeps custom token headers across origins; we refuse both, so a token is
   * never sent anywhere but GitLab.
   */
  #redirectTarget(status: number, location: unknown, from: URL, hop: number, what: string): URL {
    if (typeof location !== 'string' || location === '') {
      throw new UnexpectedStatusError(`${what} answered ${status} without a Location header`, status);
    }
    let target: URL;
    try {
      target = new URL(location, from);
    } catch {
      throw new UnexpectedStatusError(`${what} answered ${status} with an unparseable Location header`, status);
    }
    const origin = urlForDisplay(`${target.protocol}//${target.host}`);
    if (status !== 307 && status !== 308) {
      throw new UnexpectedStatusError(
        `${what} answered ${status} redirecting to ${origin}: refused (only 307/308 within ${this.#base.origin} are followed)`,
        status,
      );
    }
    if (target.origin !== this.#base.origin) {
      throw new UnexpectedStatusError(
        `${what} answered ${status} redirecting to another origin, ${origin}: refused so tokens stay with ${this.#base.origin}`,
        status,
      );
    }
    if (hop >= MAX_REDIRECTS) {
      throw new UnexpectedStatusError(`${what} was redirected more than ${MAX_REDIRECTS} times`, status);
    }
    return target;
  }

  #proxyConfig(url: URL): AxiosProxyConfig | false {
    const proxy = proxyFor(this.#proxy, url);
    if (proxy === undefined) return false;
    return {
      protocol: proxy.protocol,
      host: proxy.host,
      port: proxy.port,
      ...(proxy.auth === undefined ? {} : { auth: { username: proxy.auth.username, password: proxy.auth.password } }),
    };
  }
}

/** axios's refusal of a body over `maxContentLength`. */
function isTooLarge(error: unknown): boolean {
  if (typeof error !== 'object' || error === null) return false;
  const { code, message } = error as { code?: unknown; message?: unknown };
  return (
    (code === 'ERR_BAD_RESPONSE' || code === 'ERR_FR_MAX_CONTENT_LENGTH_EXCEEDED') &&
    typeof message === 'string' &&
    message.includes('maxContentLength')
  );
}

function plainHeaders(headers: unknown): Record<string, string | readonly string[] | number | undefined> {
  const record: Record<string, string | readonly string[] | number | undefined> = {};
  if (typeof headers !== 'object' || headers === null) return record;
  const source =
    typeof (headers as { toJSON?: unknown }).toJSON === 'function'
      ? (headers as { toJSON(): Record<string, unknown> }).toJSON()
      : (headers as Record<string, unknown>);
  for (const [name, value] of Object.entries(source)) {
    if (typeof value === 'string' || typeof value === 'number') record[name.toLowerCase()] = value;
    else if (Array.isArray(value)) record[name.toLowerCase()] = value.map(String);
  }
  return record satisfies WireHeaders;
}
