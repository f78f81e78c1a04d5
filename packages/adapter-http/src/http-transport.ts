import { Agent as HttpAgent } from 'node:http';
import { Agent as HttpsAgent } from 'node:https';
import {
  type LogFields,
  type Logger,
  ResponseTooLargeError,
  TransportError,
  UnexpectedStatusError,
} from '@runner-core/core';
import {
  MAX_ANSWER_BYTES,
  type WireHeaders,
  type WireRequest,
  type WireResponse,
  type WireTransport,
} from '@runner-core/core/wire';
import { Axios, type AxiosProxyConfig, type RawAxiosRequestConfig } from 'axios';
import { CallDeadlines } from './call-deadlines.js';
import { type ProxyServer, proxyFor, proxySettingsFromEnv } from './env-proxy.js';
import { urlForDisplay } from './gitlab-url.js';
import type { ResolvedHttpNetworkOptions } from './http-network.options.js';
import { loadTlsMaterial } from './tls-material.js';
import { transportErrorOf } from './transport-errors.js';

/** Same-origin 307/308 hops followed per call, as Go's default client allows. */
const MAX_REDIRECTS = 10;

/**
 * The TCP keep-alive delay of the pooled sockets. NOTE: axios sets 60 s on a socket at every request and the agent
 * sets its own value when the socket goes back to the pool; with both the same, neither is a system call.
 */
const TCP_KEEP_ALIVE_MS = 60_000;

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
  /** Answers bounded at {@link MAX_ANSWER_BYTES}: every call but the job request. */
  readonly #http: Axios;
  /** Answers bounded at the job payload's bound: the job request (the bound is an instance option, not a call's). */
  readonly #httpForJobs: Axios;
  readonly #httpAgent: HttpAgent;
  readonly #httpsAgent: HttpsAgent;
  readonly #deadlines = new CallDeadlines();
  readonly #logger: Logger;

  /** @throws {ClientConfigError} for an unusable certificate file or proxy setting */
  constructor(options: ResolvedHttpNetworkOptions, base: URL, logger: Logger) {
    this.#options = options;
    this.#base = base;
    this.#logger = logger;
    const tls = loadTlsMaterial(options, options.env);
    const pool = {
      keepAlive: true,
      keepAliveMsecs: TCP_KEEP_ALIVE_MS,
      maxSockets: options.maxSockets,
      maxFreeSockets: options.maxSockets,
      // NOTE: Node's agent closes a kept-alive socket that sits idle this long; a socket in use is bounded by the
      // call's deadline instead (see send).
      timeout: options.idleTimeoutMs,
    };
    this.#httpAgent = new HttpAgent(pool);
    this.#httpsAgent = new HttpsAgent({ ...pool, ...tls, minVersion: 'TLSv1.2' });
    // NOTE: `new Axios`, not `axios.create`: the instance holds only what is set here, none of axios's global
    // defaults (header buckets, `transitional`, `env`, an adapter list, transforms), which axios would otherwise merge
    // into every request's config and walk again at dispatch. What is the same for every call is set here once; a call
    // passes only its own. Left out on purpose: `validateStatus` (without one, every status is an answer, which is
    // what the codec classifies) and the transforms (without them, the body goes and comes as bytes).
    const instance = {
      adapter: 'http',
      // Redirects are same-origin only: one scheme, so one agent and one proxy serve every call.
      ...(base.protocol === 'https:' ? { httpsAgent: this.#httpsAgent } : { httpAgent: this.#httpAgent }),
      proxy: axiosProxy(proxyFor(proxySettingsFromEnv(options.env), base)),
      // Redirects are decided here, not by the client.
      maxRedirects: 0,
      responseType: 'arraybuffer',
    } as const;
    this.#http = new Axios({ ...instance, maxContentLength: MAX_ANSWER_BYTES });
    this.#httpForJobs = new Axios({ ...instance, maxContentLength: options.maxJobPayloadBytes });
  }

  async send(request: WireRequest): Promise<WireResponse> {
    const { what, signal } = request;
    if (signal?.aborted) throw new TransportError(`${what} was aborted before it was sent`, false);
    const timeoutMs = request.operation === 'request-job' ? this.#options.jobRequestTimeoutMs : this.#options.timeoutMs;
    // NOTE: axios's own `timeout` is an inactivity timeout (a trickling answer never trips it); the call's timeout
    // is a deadline for the whole exchange, redirects included.
    const deadline = this.#deadlines.start(timeoutMs, signal);
    const body = Buffer.from(request.body.buffer, request.body.byteOffset, request.body.byteLength);
    try {
      // The first hop's URL is the base and the path joined, as `new URL` would resolve a codec's path; only a
      // redirect needs a URL object.
      let url: URL | undefined;
      for (let hop = 0; ; hop++) {
        const config: RawAxiosRequestConfig = {
          method: request.method,
          url: url === undefined ? this.#base.href + request.path : url.href,
          headers: request.headers,
          data: body,
          signal: deadline,
        };
        const http = request.maxResponseBytes === this.#options.maxJobPayloadBytes ? this.#httpForJobs : this.#http;
        if (
          request.maxResponseBytes !== this.#options.maxJobPayloadBytes &&
          request.maxResponseBytes !== MAX_ANSWER_BYTES
        ) {
          config.maxContentLength = request.maxResponseBytes;
        }
        let response: WireResponse;
        try {
          const answer = await http.request(config);
          const data: unknown = answer.data;
          response = {
            status: answer.status,
            headers: answerHeaders(answer.headers),
            body: Buffer.isBuffer(data) ? data : Buffer.alloc(0),
          };
        } catch (error) {
          if (deadline.timedOut) throw new TransportError(`${what} timed out after ${timeoutMs} ms`, true);
          if (isTooLarge(error)) {
            throw new ResponseTooLargeError(
              `${what} answered with a body over ${request.maxResponseBytes} bytes; not read further`,
              request.maxResponseBytes,
            );
          }
          throw transportErrorOf(error, what, request.secrets, this.#base.host);
        }
        if (response.status < 300 || response.status >= 400) return response;
        const fields: LogFields = { requestId: request.headers['X-Request-Id'], status: response.status };
        try {
          const from = url ?? new URL(request.path, this.#base);
          url = this.#redirectTarget(response.status, response.headers.location, from, hop, what);
        } catch (error) {
          const message = error instanceof Error ? error.message : String(error);
          this.#logger.warn('Redirect refused', { ...fields, error: message });
          throw error;
        }
        this.#logger.debug('Following a same-origin redirect', fields);
      }
    } finally {
      deadline.end();
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
}

/** A proxy in axios's shape; `false` connects directly (and keeps axios from reading the environment itself). */
function axiosProxy(proxy: ProxyServer | undefined): AxiosProxyConfig | false {
  if (proxy === undefined) return false;
  return {
    protocol: proxy.protocol,
    host: proxy.host,
    port: proxy.port,
    ...(proxy.auth === undefined ? {} : { auth: { username: proxy.auth.username, password: proxy.auth.password } }),
  };
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

/**
 * The answer's headers as the codec reads them. NOTE: axios's `AxiosHeaders` is already such a record: its own
 * enumerable properties are the headers, named in lower case as Node received them, valued as strings or lists (its
 * methods live on the prototype and do not enumerate), so it goes through as it is rather than copied.
 */
function answerHeaders(headers: unknown): WireHeaders {
  return typeof headers === 'object' && headers !== null ? (headers as WireHeaders) : {};
}
