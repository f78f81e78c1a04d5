import { createHash } from 'node:crypto';
import { Agent as HttpAgent } from 'node:http';
import { Agent as HttpsAgent } from 'node:https';
import {
  ClientConfigError,
  type JobCredentials,
  type JobPayload,
  type LogFields,
  type Logger,
  type Network,
  type PatchTraceInput,
  type PatchTraceResult,
  type RequestJobInput,
  type RequestJobResult,
  type RunnerStatusInput,
  type RunnerStatusResult,
  type Secret,
  TransportError,
  UnexpectedStatusError,
  type UpdateJobInput,
  type UpdateJobResult,
} from '@runner-core/core';
import axios, { type AxiosInstance, type AxiosProxyConfig } from 'axios';
import { type ProxySettings, proxyFor, proxySettingsFromEnv } from './env-proxy.js';
import { runnerApiBase, urlForDisplay } from './gitlab-url.js';
import {
  type HttpNetworkOptions,
  type ResolvedHttpNetworkOptions,
  resolveHttpNetworkOptions,
} from './http-network.options.js';
import {
  type HttpAnswer,
  mapPatchTrace,
  mapRequestJob,
  mapRunnerStatus,
  mapUpdateJob,
  serverMessage,
} from './status-mapping.js';
import { loadTlsMaterial } from './tls-material.js';
import { transportErrorOf } from './transport-errors.js';

/** Same-origin 307/308 hops followed per call, as Go's default client allows. */
const MAX_REDIRECTS = 10;

/** One request as the transport sends it. */
interface Call {
  readonly method: 'POST' | 'PUT' | 'PATCH';
  /** Relative to the runner API base (`jobs/request`), query included. */
  readonly path: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: Buffer;
  readonly timeoutMs: number;
  readonly signal?: AbortSignal;
  /** Every secret the call carries, redacted from whatever the call logs or throws. */
  readonly secrets: readonly Secret[];
}

/** An answer with the ids of its call. */
interface Answered extends HttpAnswer {
  /** The server's `X-Request-Id` when it sent one, else ours: what logs and results call the request id. */
  readonly correlationId: string;
}

/**
 * The production {@link Network}: GitLab's runner API over HTTP(S), with axios inside.
 *
 * - One call is one request: no retries here (the core retries, knowing what each call may cost); same-origin
 *   307/308 redirects are followed, every other redirect is refused with an `UnexpectedStatusError`, so a token
 *   never travels to another origin.
 * - Every answer is mapped by the shared classification of `@runner-core/core`, so this adapter and the fake agree.
 * - Tokens reach only headers and bodies: logs carry the runner token's short form at most, and server messages,
 *   errors and their causes are redacted.
 * - Keep-alive connections, at most `maxSockets` per scheme; {@link HttpNetwork.close} drops the idle ones.
 */
export class HttpNetwork implements Network {
  readonly #options: ResolvedHttpNetworkOptions;
  readonly #base: URL;
  readonly #http: AxiosInstance;
  readonly #httpAgent: HttpAgent;
  readonly #httpsAgent: HttpsAgent;
  readonly #proxy: ProxySettings;
  readonly #logger: Logger;
  /** `X-GitLab-Last-Update` per runner, keyed by a hash of the runner token so the map holds no token. */
  readonly #lastUpdates = new Map<string, string>();

  /**
   * @throws {ClientConfigError} for an invalid URL or option, an unusable certificate file or proxy setting; the
   *   message names the option and never shows a credential.
   */
  constructor(options: HttpNetworkOptions) {
    this.#options = resolveHttpNetworkOptions(options);
    this.#base = runnerApiBase(this.#options.url);
    this.#proxy = proxySettingsFromEnv(this.#options.env);
    const tls = loadTlsMaterial(this.#options);
    const pool = {
      keepAlive: true,
      maxSockets: this.#options.maxSockets,
      maxFreeSockets: this.#options.maxSockets,
      // NOTE: Node's agent closes a kept-alive socket that sits idle this long; a socket in use is bounded by the
      // call's deadline instead (see #send).
      timeout: this.#options.idleTimeoutMs,
    };
    this.#httpAgent = new HttpAgent(pool);
    this.#httpsAgent = new HttpsAgent({ ...pool, ...tls, minVersion: 'TLSv1.2' });
    this.#http = axios.create({
      baseURL: this.#base.href,
      httpAgent: this.#httpAgent,
      httpsAgent: this.#httpsAgent,
      // Every status is an answer to classify, and redirects are decided here, not by the client.
      validateStatus: () => true,
      maxRedirects: 0,
      responseType: 'arraybuffer',
      transformRequest: [(data: unknown) => data],
      transformResponse: [(data: unknown) => data],
    });
    this.#logger = this.#options.logger.child({ component: 'http-network', gitlab: this.#base.origin });
  }

  /** The runner API base this network talks to (`https://gitlab.example.com/api/v4/`), credentials hidden. */
  get baseUrl(): string {
    return urlForDisplay(this.#base.href);
  }

  /**
   * `POST /api/v4/jobs/request` (see {@link Network.requestJob}): `RUNNER-TOKEN` header and body `token`, the
   * `last_update` last seen for this runner token, `info` with every feature. Deadline: `jobRequestTimeoutMs`.
   */
  async requestJob(input: RequestJobInput): Promise<RequestJobResult> {
    const { token, systemId } = input.credentials;
    const tokenKey = createHash('sha256').update(token.reveal()).digest('hex');
    const lastUpdate = this.#lastUpdates.get(tokenKey);
    const body = {
      token: token.reveal(),
      ...(systemId === '' ? {} : { system_id: systemId }),
      ...(lastUpdate === undefined ? {} : { last_update: lastUpdate }),
      info: input.info,
    };
    const what = `POST ${this.#base.pathname}jobs/request`;
    const fields: LogFields = { runner: token.short() };
    const answer = await this.#send(
      {
        method: 'POST',
        path: 'jobs/request',
        headers: {
          'RUNNER-TOKEN': token.reveal(),
          Accept: 'application/json',
          'Content-Type': 'application/json',
        },
        body: Buffer.from(JSON.stringify(body)),
        timeoutMs: this.#options.jobRequestTimeoutMs,
        ...(input.signal === undefined ? {} : { signal: input.signal }),
        secrets: [token],
      },
      what,
      fields,
    );
    const seen = answer.headers['x-gitlab-last-update'];
    if (typeof seen === 'string' && seen !== '') this.#lastUpdates.set(tokenKey, seen);
    const log = { ...fields, correlation_id: answer.correlationId, status: answer.status };
    let result: RequestJobResult;
    try {
      result = mapRequestJob(answer, this.#options.clock.now(), answer.correlationId, [token], what);
    } catch (error) {
      this.#logger.warn('Checking for jobs... received an unusable job', {
        ...log,
        error: error instanceof Error ? error.message : String(error),
      });
      throw error;
    }
    switch (result.kind) {
      case 'job':
        this.#logger.info('Checking for jobs... received', {
          ...log,
          job: result.job.id,
          repo_url: cleanRepoUrl(result.job),
        });
        break;
      case 'no-job':
        this.#logger.debug('Checking for jobs... nothing', log);
        break;
      case 'forbidden':
        this.#logger.error('Checking for jobs... forbidden', { ...log, message: serverMessage(answer, [token]) });
        break;
      case 'unavailable':
        this.#logger.warn('Checking for jobs... GitLab instance currently unavailable', {
          ...log,
          message: serverMessage(answer, [token]),
        });
        break;
      case 'rate-limited':
        this.#logger.warn('Checking for jobs... rate limited', { ...log, message: serverMessage(answer, [token]) });
        break;
      case 'failed':
        this.#logger.warn('Checking for jobs... failed', { ...log, message: result.message });
        break;
      default:
        return assertNever(result);
    }
    return result;
  }

  /**
   * `PUT /api/v4/jobs/:id` (see {@link Network.updateJob}): `JOB-TOKEN` header and body `token`; `output` always
   * present (`{}` on a keep-alive or confirmation). @throws {ClientConfigError} for a job id that is not a positive
   * integer (nothing is sent).
   */
  async updateJob(job: JobCredentials, input: UpdateJobInput): Promise<UpdateJobResult> {
    const id = checkedJobId(job.id);
    const output = {
      ...(input.output?.checksum ? { checksum: input.output.checksum } : {}),
      ...(input.output?.bytesize ? { bytesize: input.output.bytesize } : {}),
    };
    const body = {
      info: input.info,
      token: job.token.reveal(),
      state: input.state,
      // NOTE: GitLab reads failure_reason only with `failed`; it is not sent with any other state.
      ...(input.state === 'failed' && input.failureReason !== undefined ? { failure_reason: input.failureReason } : {}),
      ...(input.exitCode === undefined || input.exitCode === 0 ? {} : { exit_code: input.exitCode }),
      // NOTE: older GitLabs read the deprecated top-level checksum; `output` is always present, `{}` on a confirm.
      ...(output.checksum === undefined ? {} : { checksum: output.checksum }),
      output,
    };
    const what = `PUT ${this.#base.pathname}jobs/${id}`;
    const fields: LogFields = { job: id, state: input.state };
    const answer = await this.#send(
      {
        method: 'PUT',
        path: `jobs/${id}`,
        headers: { 'JOB-TOKEN': job.token.reveal(), 'Content-Type': 'application/json' },
        body: Buffer.from(JSON.stringify(body)),
        timeoutMs: this.#options.timeoutMs,
        secrets: [job.token],
      },
      what,
      fields,
    );
    const result = mapUpdateJob(answer, this.#options.clock.now(), answer.correlationId, [job.token]);
    this.#logJobAnswer('Submitting job to coordinator...', result, answer, fields, job.token);
    return result;
  }

  /** `POST /api/v4/jobs/:id/runner_status` (see {@link Network.postRunnerStatus}): body `{token, status, info}`. */
  async postRunnerStatus(job: JobCredentials, input: RunnerStatusInput): Promise<RunnerStatusResult> {
    const id = checkedJobId(job.id);
    const what = `POST ${this.#base.pathname}jobs/${id}/runner_status`;
    const fields: LogFields = { job: id, status_sent: input.status };
    const answer = await this.#send(
      {
        method: 'POST',
        path: `jobs/${id}/runner_status`,
        headers: { 'JOB-TOKEN': job.token.reveal(), 'Content-Type': 'application/json' },
        body: Buffer.from(JSON.stringify({ token: job.token.reveal(), status: input.status, info: input.info })),
        timeoutMs: this.#options.timeoutMs,
        secrets: [job.token],
      },
      what,
      fields,
    );
    const result = mapRunnerStatus(answer, this.#options.clock.now(), answer.correlationId, [job.token]);
    this.#logJobAnswer('Reporting runner status...', result, answer, fields, job.token);
    return result;
  }

  /**
   * `PATCH /api/v4/jobs/:id/trace?debug_trace=…` (see {@link Network.patchTrace}): `Content-Range: start-endInclusive`
   * and the exact `Content-Length`; an empty patch sends nothing. @throws {ClientConfigError} for a negative or
   * fractional offset (nothing is sent).
   */
  async patchTrace(job: JobCredentials, input: PatchTraceInput): Promise<PatchTraceResult> {
    const id = checkedJobId(job.id);
    if (!Number.isSafeInteger(input.offset) || input.offset < 0) {
      throw new ClientConfigError(`trace offset must be a non-negative integer, got ${String(input.offset)}`);
    }
    const length = input.content.byteLength;
    if (length === 0) {
      this.#logger.debug('Appending trace to coordinator... skipped due to empty patch', { job: id });
      return { kind: 'succeeded', offset: input.offset, cancelRequested: false };
    }
    const end = input.offset + length;
    const debugTrace = input.debugTrace === true;
    const what = `PATCH ${this.#base.pathname}jobs/${id}/trace`;
    const fields: LogFields = { job: id, sent: `${input.offset}-${end - 1}` };
    const answer = await this.#send(
      {
        method: 'PATCH',
        path: `jobs/${id}/trace?debug_trace=${debugTrace}`,
        headers: {
          'JOB-TOKEN': job.token.reveal(),
          // NOTE: the end of Content-Range is inclusive: 1 byte at 0 is `0-0`.
          'Content-Range': `${input.offset}-${end - 1}`,
          'Content-Type': 'text/plain',
        },
        body: Buffer.from(input.content.buffer, input.content.byteOffset, length),
        timeoutMs: this.#options.timeoutMs,
        secrets: [job.token],
      },
      what,
      fields,
    );
    const result = mapPatchTrace(answer, this.#options.clock.now(), end, answer.correlationId, [job.token]);
    this.#logJobAnswer('Appending trace to coordinator...', result, answer, fields, job.token);
    return result;
  }

  /** Closes the kept-alive connections. Calls made afterwards open new ones. */
  close(): void {
    this.#httpAgent.destroy();
    this.#httpsAgent.destroy();
  }

  /**
   * Sends one call, following same-origin 307/308 redirects (method, headers and body re-sent) and refusing every
   * other redirect.
   */
  async #send(call: Call, what: string, fields: LogFields): Promise<Answered> {
    const requestId = this.#options.idFactory();
    if (call.signal?.aborted) throw new TransportError(`${what} was aborted before it was sent`, false);
    // NOTE: axios's own `timeout` is an inactivity timeout (a trickling answer never trips it); the call's timeout
    // is a deadline for the whole exchange, redirects included.
    const abort = new AbortController();
    let timedOut = false;
    const deadline = setTimeout(() => {
      timedOut = true;
      abort.abort();
    }, call.timeoutMs);
    const forwardAbort = (): void => abort.abort();
    call.signal?.addEventListener('abort', forwardAbort, { once: true });
    try {
      let url = new URL(call.path, this.#base);
      for (let hop = 0; ; hop++) {
        let status: number;
        let headers: Record<string, string | readonly string[] | number | undefined>;
        let data: unknown;
        try {
          const response = await this.#http.request({
            method: call.method,
            url: url.href,
            headers: {
              ...call.headers,
              'User-Agent': this.#options.userAgent,
              'X-Request-Id': requestId,
              // `false` removes a header axios would add by default.
              ...(call.headers.Accept === undefined ? { Accept: false } : {}),
            },
            data: call.body,
            proxy: this.#proxyConfig(url),
            signal: abort.signal,
          });
          status = response.status;
          headers = plainHeaders(response.headers);
          data = response.data;
        } catch (error) {
          const failure = timedOut
            ? new TransportError(`${what} timed out after ${call.timeoutMs} ms`, true)
            : transportErrorOf(error, what, call.secrets);
          this.#logger.warn('Request failed', { ...fields, correlation_id: requestId, error: failure.message });
          throw failure;
        }
        if (status >= 300 && status < 400) {
          try {
            url = this.#redirectTarget(status, headers.location, url, hop, what);
          } catch (error) {
            const message = error instanceof Error ? error.message : String(error);
            this.#logger.warn('Redirect refused', { ...fields, status, correlation_id: requestId, error: message });
            throw error;
          }
          this.#logger.debug('Following a same-origin redirect', { ...fields, status, correlation_id: requestId });
          continue;
        }
        const serverId = headers['x-request-id'];
        return {
          status,
          headers,
          body: Buffer.isBuffer(data) ? data : Buffer.alloc(0),
          correlationId: typeof serverId === 'string' && serverId !== '' ? serverId : requestId,
        };
      }
    } finally {
      clearTimeout(deadline);
      call.signal?.removeEventListener('abort', forwardAbort);
    }
  }

  /**
   * Where a redirect may be followed: only 307/308 (method and body kept) within GitLab's origin, at most
   * {@link MAX_REDIRECTS} times. NOTE: gitlab-runner (Go's client) also follows 301/302/303 as a GET and keeps custom
   * token headers across origins; we refuse both, so a token is never sent anywhere but GitLab.
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

  #logJobAnswer(
    message: string,
    result: UpdateJobResult | RunnerStatusResult | PatchTraceResult,
    answer: Answered,
    fields: LogFields,
    jobToken: Secret,
  ): void {
    const line = {
      ...fields,
      correlation_id: answer.correlationId,
      status: answer.status,
      answer: result.kind,
      ...(result.jobStatus === undefined ? {} : { job_status: result.jobStatus }),
      ...(result.cancelRequested ? { cancel_requested: true } : {}),
    };
    // NOTE: newest Rails reports the job's status after processing, so a final `failed` that landed comes back as
    // 200 + `Job-Status: failed` (or `canceled`), which classifies as aborted. That is the update succeeding.
    if (result.kind === 'aborted' && answer.status === 200 && fields.state === 'failed') {
      this.#logger.debug(`${message} ok (job ${result.jobStatus ?? 'finished'})`, line);
      return;
    }
    switch (result.kind) {
      case 'succeeded':
      case 'accepted':
        this.#logger.debug(`${message} ${result.kind}`, line);
        return;
      case 'aborted':
      case 'not-found':
      case 'unsupported':
      case 'trace-invalid':
      case 'range-mismatch':
      case 'conflict':
      case 'rejected':
      case 'retryable':
      case 'failed':
        // The server's own words help most here; they may echo the request, hence redacted.
        this.#logger.warn(`${message} ${result.kind}`, { ...line, message: serverMessage(answer, [jobToken]) });
        return;
      default:
        assertNever(result);
    }
  }
}

/** Builds an {@link HttpNetwork}; see its constructor for what throws. */
export function createHttpNetwork(options: HttpNetworkOptions): HttpNetwork {
  return new HttpNetwork(options);
}

function checkedJobId(id: number): number {
  if (!Number.isSafeInteger(id) || id <= 0) {
    throw new ClientConfigError(`job id must be a positive integer, got ${String(id)}`);
  }
  return id;
}

/** The repo URL for a log line: no user info (it embeds the job token), no query, no fragment. */
function cleanRepoUrl(job: JobPayload): string | undefined {
  const raw = job.git_info?.repo_url?.reveal();
  if (raw === undefined) return undefined;
  try {
    const url = new URL(raw);
    url.username = '';
    url.password = '';
    url.search = '';
    url.hash = '';
    return url.href;
  } catch {
    return undefined;
  }
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
  return record;
}

function assertNever(value: never): never {
  throw new Error(`unexpected result kind: ${JSON.stringify((value as { kind?: unknown }).kind)}`);
}
