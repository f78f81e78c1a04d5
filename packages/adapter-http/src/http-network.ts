import { RunnerApiClient } from '@runner-core/core/wire';
import { runnerApiBase, urlForDisplay } from './gitlab-url.js';
import { type HttpNetworkOptions, resolveHttpNetworkOptions } from './http-network.options.js';
import { HttpTransport } from './http-transport.js';

/**
 * The production `Network`: GitLab's runner API over HTTP(S), with axios inside. The protocol itself (request bodies
 * and headers, what each answer means, payload checks, redaction) is core's shared {@link RunnerApiClient}; this
 * adapter adds the transport ({@link HttpTransport}): URL normalisation as gitlab-runner does it, TLS, proxies from
 * the environment, kept-alive connections, deadlines (`timeoutMs`; `jobRequestTimeoutMs` for the job request, a
 * long poll), body bounds and same-origin redirects.
 *
 * One call is one request: the core retries, knowing what each call may cost. Tokens reach only headers and
 * bodies; logs carry the runner token's short form at most. `close()` drops the kept-alive connections.
 */
export class HttpNetwork extends RunnerApiClient {
  readonly #base: URL;

  /**
   * @throws {ClientConfigError} for an invalid URL or option, an unusable certificate file or proxy setting; the
   *   message names the option and never shows a credential.
   */
  constructor(options: HttpNetworkOptions) {
    const resolved = resolveHttpNetworkOptions(options);
    const base = runnerApiBase(resolved.url);
    const logger = resolved.logger.child({ component: 'http-network', gitlab: base.origin });
    super({
      transport: new HttpTransport(resolved, base, logger),
      clock: resolved.clock,
      logger,
      userAgent: resolved.userAgent,
      newRequestId: resolved.newRequestId,
      maxJobPayloadBytes: resolved.maxJobPayloadBytes,
      ...(resolved.onExchange === undefined ? {} : { onExchange: resolved.onExchange }),
    });
    this.#base = base;
  }

  /** The runner API base this network talks to (`https://gitlab.example.com/api/v4/`), credentials hidden. */
  get baseUrl(): string {
    return urlForDisplay(this.#base.href);
  }
}

/** Builds an {@link HttpNetwork}; see its constructor for what throws. */
export function createHttpNetwork(options: HttpNetworkOptions): HttpNetwork {
  return new HttpNetwork(options);
}
