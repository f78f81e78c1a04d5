import { type Clock, systemClock } from '../clock/clock.port.js';
import type { JobCredentials, JobPayload } from '../job/job.types.js';
import { type LogFields, type Logger, silentLogger } from '../logger/logger.port.js';
import { NetworkError, UnexpectedStatusError } from '../network/network.errors.js';
import type { Network } from '../network/network.port.js';
import type {
  PatchTraceInput,
  PatchTraceResult,
  RequestJobInput,
  RequestJobResult,
  RunnerStatusInput,
  RunnerStatusResult,
  UpdateJobInput,
  UpdateJobResult,
} from '../network/network.types.js';
import { redact, type Secret } from '../secret/secret.js';
import { decodePatchTrace, decodeRequestJob, decodeRunnerStatus, decodeUpdateJob } from './answer-decoding.js';
import {
  type EncodeContext,
  encodePatchTrace,
  encodeRequestJob,
  encodeRunnerStatus,
  encodeUpdateJob,
} from './request-encoding.js';
import { serverMessage } from './server-message.js';
import type { WireRequest, WireResponse } from './wire-message.js';
import type { WireTransport } from './wire-transport.port.js';

/** The default bound of a job payload (the 201 body of a job request), in bytes. */
export const DEFAULT_MAX_JOB_PAYLOAD_BYTES = 4 * 1024 * 1024;
/** The bound of every other answer body (status text, an error message), in bytes. */
export const MAX_ANSWER_BYTES = 64 * 1024;

/** Options of {@link RunnerApiClient}. Only `transport` is required. */
export interface RunnerApiClientOptions {
  readonly transport: WireTransport;
  /** Turns `Retry-After` seconds into absolute times. @default systemClock */
  readonly clock?: Clock;
  /** One line per call; never sees a token. @default silentLogger */
  readonly logger?: Logger;
  /** @default 'runner-core' */
  readonly userAgent?: string;
  /** Makes each call's `X-Request-Id`. @default 32 lowercase hex characters (a UUIDv4 without dashes) */
  readonly newRequestId?: () => string;
  /** The largest job payload accepted, in bytes; a larger one is a `ResponseTooLargeError`. @default 4 MiB */
  readonly maxJobPayloadBytes?: number;
  /** Told of every request once it ended (for metrics): what, the HTTP status or none, how long. @default none */
  readonly onExchange?: (exchange: WireExchange) => void;
}

/** One request to GitLab as {@link RunnerApiClientOptions.onExchange} sees it. */
export interface WireExchange {
  readonly operation: WireRequest['operation'];
  /** The HTTP status; `undefined` when no answer came (a transport failure). */
  readonly status: number | undefined;
  readonly durationMs: number;
}

/** A fresh request id: a UUIDv4 without dashes, as gitlab-runner makes them. */
export function newRequestId(): string {
  return globalThis.crypto.randomUUID().replaceAll('-', '');
}

/**
 * The {@link Network} port over any {@link WireTransport}: the GitLab wire protocol written once. It encodes each
 * call (request-encoding.ts), remembers `X-GitLab-Last-Update` per runner token for the next `last_update`,
 * classifies the answer and decodes the payload (answer-decoding.ts), and logs one token-free line per call.
 * `HttpNetwork` and `InMemoryNetwork` are this client over their transports, so they cannot disagree.
 */
export class RunnerApiClient implements Network {
  readonly #transport: WireTransport;
  readonly #clock: Clock;
  readonly #logger: Logger;
  readonly #userAgent: string;
  readonly #newRequestId: () => string;
  readonly #maxJobPayloadBytes: number;
  readonly #onExchange: ((exchange: WireExchange) => void) | undefined;
  /** `X-GitLab-Last-Update` per runner token. */
  readonly #lastUpdates = new Map<string, string>();

  /** @throws {RangeError} when `maxJobPayloadBytes` is not a positive integer */
  constructor(options: RunnerApiClientOptions) {
    this.#transport = options.transport;
    this.#clock = options.clock ?? systemClock;
    this.#logger = options.logger ?? silentLogger;
    this.#userAgent = options.userAgent ?? 'runner-core';
    this.#newRequestId = options.newRequestId ?? newRequestId;
    const limit = options.maxJobPayloadBytes ?? DEFAULT_MAX_JOB_PAYLOAD_BYTES;
    if (!Number.isSafeInteger(limit) || limit <= 0) {
      throw new RangeError(`maxJobPayloadBytes: expected a positive integer, got ${String(limit)}`);
    }
    this.#maxJobPayloadBytes = limit;
    this.#onExchange = options.onExchange;
  }

  async requestJob(input: RequestJobInput): Promise<RequestJobResult> {
    const { token } = input.credentials;
    const tokenKey = token.reveal();
    const request = encodeRequestJob(input, this.#lastUpdates.get(tokenKey), this.#context(this.#maxJobPayloadBytes));
    const fields: LogFields = { runner: token.short() };
    const { response, requestId } = await this.#send(request, fields);
    // NOTE: recorded from any answer that carries it, a malformed one included: it describes the queue, not the job.
    const seen = headerValue(response, 'x-gitlab-last-update');
    if (seen !== undefined && seen !== '') this.#lastUpdates.set(tokenKey, seen);
    let result: RequestJobResult;
    try {
      result = decodeRequestJob(request, response, this.#clock.now(), requestId);
    } catch (error) {
      this.#logger.warn('Checking for jobs... received an unusable job', {
        ...fields,
        requestId,
        status: response.status,
        error: error instanceof Error ? error.message : 'unreadable answer',
      });
      throw error;
    }
    this.#logJobRequest(result, response, { ...fields, requestId, status: response.status }, token);
    return result;
  }

  async updateJob(job: JobCredentials, input: UpdateJobInput): Promise<UpdateJobResult> {
    const request = encodeUpdateJob(job, input, this.#context(MAX_ANSWER_BYTES));
    const fields: LogFields = { job: job.id, state: input.state };
    const { response, requestId } = await this.#send(request, fields);
    const result = decodeUpdateJob(request, response, this.#clock.now(), requestId);
    this.#logJobAnswer('Submitting job to coordinator...', result, request, response, { ...fields, requestId });
    return result;
  }

  async postRunnerStatus(job: JobCredentials, input: RunnerStatusInput): Promise<RunnerStatusResult> {
    const request = encodeRunnerStatus(job, input, this.#context(MAX_ANSWER_BYTES));
    const fields: LogFields = { job: job.id, status_sent: input.status };
    const { response, requestId } = await this.#send(request, fields);
    const result = decodeRunnerStatus(request, response, this.#clock.now(), requestId);
    this.#logJobAnswer('Reporting runner status...', result, request, response, { ...fields, requestId });
    return result;
  }

  async patchTrace(job: JobCredentials, input: PatchTraceInput): Promise<PatchTraceResult> {
    const request = encodePatchTrace(job, input, this.#context(MAX_ANSWER_BYTES));
    if (request === undefined) {
      this.#logger.debug('Appending trace to coordinator... skipped due to empty patch', { job: job.id });
      return { kind: 'succeeded', offset: input.offset, cancelRequested: false };
    }
    const end = input.offset + input.content.byteLength;
    const fields: LogFields = { job: job.id, sent: `${input.offset}-${end - 1}` };
    const { response, requestId } = await this.#send(request, fields);
    const result = decodePatchTrace(request, response, this.#clock.now(), end, requestId);
    this.#logJobAnswer('Appending trace to coordinator...', result, request, response, { ...fields, requestId });
    return result;
  }

  /** Closes the transport (kept-alive connections). */
  close(): Promise<void> {
    return this.#transport.close();
  }

  #context(maxResponseBytes: number): EncodeContext {
    return { requestId: this.#newRequestId(), userAgent: this.#userAgent, maxResponseBytes };
  }

  async #send(
    request: WireRequest,
    fields: LogFields,
  ): Promise<{ readonly response: WireResponse; readonly requestId: string }> {
    const sentId = request.headers['X-Request-Id'] ?? '';
    const startedAt = this.#onExchange === undefined ? 0 : this.#clock.now();
    let response: WireResponse;
    try {
      response = await this.#transport.send(request);
    } catch (error) {
      this.#onExchange?.({
        operation: request.operation,
        status: undefined,
        durationMs: this.#clock.now() - startedAt,
      });
      // NOTE: debug, not warn: the caller decides what a failure means and says it once (a retry, a give-up).
      const message = error instanceof NetworkError ? error.message : 'the transport failed';
      this.#logger.debug('Request failed', { ...fields, requestId: sentId, error: message });
      throw error;
    }
    this.#onExchange?.({
      operation: request.operation,
      status: response.status,
      durationMs: this.#clock.now() - startedAt,
    });
    if (response.status < 200 || (response.status >= 300 && response.status < 400)) {
      // NOTE: informational and redirect statuses are no answer of the runner API (a transport follows or refuses
      // redirects before they get here).
      const error = new UnexpectedStatusError(`${request.what} answered ${response.status}`, response.status);
      this.#logger.warn('Request answered with an unexpected status', {
        ...fields,
        requestId: sentId,
        status: response.status,
      });
      throw error;
    }
    const serverId = headerValue(response, 'x-request-id');
    // NOTE: the server's id names the call in GitLab's logs, so it wins (gitlab-runner logs it as correlation id);
    // a server echoing a token in it gets it redacted.
    const requestId = serverId === undefined || serverId === '' ? sentId : redact(serverId, request.secrets);
    return { response, requestId };
  }

  #logJobRequest(result: RequestJobResult, response: WireResponse, line: LogFields, token: Secret): void {
    switch (result.kind) {
      case 'job':
        this.#logger.info('Checking for jobs... received', {
          ...line,
          job: result.job.id,
          repo_url: cleanRepoUrl(result.job),
        });
        return;
      case 'no-job':
        this.#logger.debug('Checking for jobs... nothing', line);
        return;
      case 'forbidden':
        // NOTE: an error, as gitlab-runner logs it (R3), with GitLab's words; the run loop adds what it does next.
        this.#logger.error('Checking for jobs... forbidden', { ...line, message: serverMessage(response, [token]) });
        return;
      // NOTE: debug: the run loop says once what a failure means, and when it retries.

      case 'unavailable':
        this.#logger.debug('Checking for jobs... GitLab instance currently unavailable', {
          ...line,
          message: serverMessage(response, [token]),
        });
        return;
      case 'rate-limited':
        this.#logger.debug('Checking for jobs... rate limited', { ...line, message: serverMessage(response, [token]) });
        return;
      case 'failed':
        this.#logger.debug('Checking for jobs... failed', { ...line, message: result.message });
        return;
      default:
        assertNever(result);
    }
  }

  #logJobAnswer(
    message: string,
    result: UpdateJobResult | RunnerStatusResult | PatchTraceResult,
    request: WireRequest,
    response: WireResponse,
    fields: LogFields,
  ): void {
    const line = {
      ...fields,
      status: response.status,
      answer: result.kind,
      ...(result.jobStatus === undefined ? {} : { job_status: result.jobStatus }),
      ...(result.cancelRequested ? { cancel_requested: true } : {}),
    };
    // NOTE: newest Rails reports the job's status after processing, so a final `failed` that landed comes back as
    // 200 + `Job-Status: failed` (or `canceled`), which classifies as aborted. That is the update succeeding.
    if (result.kind === 'aborted' && response.status === 200 && fields.state === 'failed') {
      this.#logger.debug(`${message} ok (job ${result.jobStatus ?? 'finished'})`, line);
      return;
    }
    switch (result.kind) {
      case 'succeeded':
      case 'accepted':
        this.#logger.debug(`${message} ${result.kind}`, line);
        return;
      case 'retryable':
        // NOTE: the caller's retry line says it; the server's words stay available at debug.
        this.#logger.debug(`${message} ${result.kind}`, { ...line, message: serverMessage(response, request.secrets) });
        return;
      case 'aborted':
      case 'not-found':
      case 'unsupported':
      case 'trace-invalid':
      case 'range-mismatch':
      case 'conflict':
      case 'rejected':
      case 'failed':
        // The server's own words help most here; they may echo the request, hence redacted.
        this.#logger.warn(`${message} ${result.kind}`, { ...line, message: serverMessage(response, request.secrets) });
        return;
      default:
        assertNever(result);
    }
  }
}

function headerValue(response: WireResponse, lowerName: string): string | undefined {
  for (const name in response.headers) {
    if (name.toLowerCase() !== lowerName) continue;
    const value = response.headers[name];
    return Array.isArray(value) ? value.join(', ') : value === undefined ? undefined : String(value);
  }
  return undefined;
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

function assertNever(value: never): never {
  throw new Error(`unexpected result kind: ${JSON.stringify((value as { kind?: unknown }).kind)}`);
}
