import type {
  JobCredentials,
  Network,
  PatchTraceInput,
  PatchTraceResult,
  RequestJobInput,
  RequestJobResult,
  RunnerStatusInput,
  RunnerStatusResult,
  UpdateJobInput,
  UpdateJobResult,
} from '@runner-core/core';
import { RunnerApiClient } from '@runner-core/core/wire';
import { runnerApiBase, urlForDisplay } from './gitlab-url.js';
import { type HttpNetworkOptions, resolveHttpNetworkOptions } from './http-network.options.js';
import { HttpTransport } from './http-transport.js';

/**
 * The production {@link Network}: GitLab's runner API over HTTP(S), with axios inside. The protocol itself (request
 * bodies and headers, what each answer means, payload checks, redaction) is core's shared `RunnerApiClient`; this
 * adapter adds the transport ({@link HttpTransport}): URL normalisation as gitlab-runner does it, TLS, proxies from
 * the environment, kept-alive connections, deadlines, body bounds and same-origin redirects.
 *
 * One call is one request: the core retries, knowing what each call may cost. Tokens reach only headers and
 * bodies; logs carry the runner token's short form at most.
 */
export class HttpNetwork implements Network {
  readonly #client: RunnerApiClient;
  readonly #base: URL;

  /**
   * @throws {ClientConfigError} for an invalid URL or option, an unusable certificate file or proxy setting; the
   *   message names the option and never shows a credential.
   */
  constructor(options: HttpNetworkOptions) {
    const resolved = resolveHttpNetworkOptions(options);
    this.#base = runnerApiBase(resolved.url);
    const logger = resolved.logger.child({ component: 'http-network', gitlab: this.#base.origin });
    this.#client = new RunnerApiClient({
      transport: new HttpTransport(resolved, this.#base, logger),
      clock: resolved.clock,
      logger,
      userAgent: resolved.userAgent,
      newRequestId: resolved.newRequestId,
      maxJobPayloadBytes: resolved.maxJobPayloadBytes,
    });
  }

  /** The runner API base this network talks to (`https://gitlab.example.com/api/v4/`), credentials hidden. */
  get baseUrl(): string {
    return urlForDisplay(this.#base.href);
  }

  /** `POST /api/v4/jobs/request` (see {@link Network.requestJob}). Deadline: `jobRequestTimeoutMs`. */
  requestJob(input: RequestJobInput): Promise<RequestJobResult> {
    return this.#client.requestJob(input);
  }

  /** `PUT /api/v4/jobs/:id` (see {@link Network.updateJob}). Deadline: `timeoutMs`. */
  updateJob(job: JobCredentials, input: UpdateJobInput): Promise<UpdateJobResult> {
    return this.#client.updateJob(job, input);
  }

  /** `POST /api/v4/jobs/:id/runner_status` (see {@link Network.postRunnerStatus}). Deadline: `timeoutMs`. */
  postRunnerStatus(job: JobCredentials, input: RunnerStatusInput): Promise<RunnerStatusResult> {
    return this.#client.postRunnerStatus(job, input);
  }

  /** `PATCH /api/v4/jobs/:id/trace` (see {@link Network.patchTrace}). Deadline: `timeoutMs`. */
  patchTrace(job: JobCredentials, input: PatchTraceInput): Promise<PatchTraceResult> {
    return this.#client.patchTrace(job, input);
  }

  /** Closes the kept-alive connections. Calls made afterwards open new ones. */
  close(): Promise<void> {
    return this.#client.close();
  }
}

/** Builds an {@link HttpNetwork}; see its constructor for what throws. */
export function createHttpNetwork(options: HttpNetworkOptions): HttpNetwork {
  return new HttpNetwork(options);
}
