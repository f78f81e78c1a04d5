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
  VerifyRunnerInput,
  VerifyRunnerResult,
} from '../network/network.types.js';
import type { Secret } from '../secret/secret.js';
import type { WireAnswer } from './answer-classification.js';
import {
  decodePatchTraceAnswer,
  decodeRequestJobAnswer,
  decodeRunnerStatusAnswer,
  decodeUpdateJobAnswer,
  decodeVerifyRunner,
  headerIndex,
  redactPresent,
  toWireAnswer,
} from './answer-decoding.js';
import {
  type EncodeContext,
  encodePatchTrace,
  encodeRequestJob,
  encodeRunnerStatus,
  encodeUpdateJob,
  encodeVerifyRunner,
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

/** Two hex digits per byte value. */
const HEX = Array.from({ length: 256 }, (_, byte) => byte.toString(16).padStart(2, '0'));
/** Random bytes drawn 4 KiB at a time: one `getRandomValues` per 256 request ids, not one per id. */
const randomPool = new Uint8Array(4096);
let poolOffset = randomPool.length;

/** A fresh request id: a UUIDv4 without dashes (32 lowercase hex characters), as gitlab-runner makes them. */
export function newRequestId(): string {
  if (poolOffset === randomPool.length) {
    globalThis.crypto.getRandomValues(randomPool);
    poolOffset = 0;
  }
  const at = poolOffset;
  poolOffset += 16;
  const pool = randomPool;
  // NOTE: the version nibble (4) and the variant bits (10xx) of RFC 9562, as randomUUID sets them.
  return (
    (HEX[pool[at] as number] as string) +
    HEX[pool[at + 1] as number] +
    HEX[pool[at + 2] as number] +
    HEX[pool[at + 3] as number] +
    HEX[pool[at + 4] as number] +
    HEX[pool[at + 5] as number] +
    HEX[((pool[at + 6] as number) & 0x0f) | 0x40] +
    HEX[pool[at + 7] as number] +
    HEX[((pool[at + 8] as number) & 0x3f) | 0x80] +
    HEX[pool[at + 9] as number] +
    HEX[pool[at + 10] as number] +
    HEX[pool[at + 11] as number] +
    HEX[pool[at + 12] as number] +
    HEX[pool[at + 13] as number] +
    HEX[pool[at + 14] as number] +
    HEX[pool[at + 15] as number]
  );
}

/** The fields of a line that is never written (the logger is silent): nothing is built for it. */
const UNLOGGED: LogFields = Object.freeze({});

/** What {@link RunnerApiClient} reads from an answer before classifying it. */
interface Received {
  readonly response: WireResponse;
  readonly answer: WireAnswer;
  readonly requestId: string;
  /** `X-GitLab-Last-Update` as the server sent it. */
  readonly lastUpdate: string | undefined;
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
  /**
   * Whether the logger is the silent one: then no log line is built at all. NOTE: the fields of a line cost more
   * than a round trip's share of the client (a repo URL to clean, objects to spread), so they are built only when
   * someone reads them.
   */
  readonly #quiet: boolean;
  /** `X-GitLab-Last-Update` per runner token. */
  readonly #lastUpdates = new Map<string, string>();

  /** @throws {RangeError} when `maxJobPayloadBytes` is not a positive integer */
  constructor(options: RunnerApiClientOptions) {
    this.#transport = options.transport;
    this.#clock = options.clock ?? systemClock;
    this.#logger = options.logger ?? silentLogger;
    this.#quiet = this.#logger === silentLogger;
    this.#userAgent = options.userAgent ?? 'runner-core';
    this.#newRequestId = options.newRequestId ?? newRequestId;
    const limit = options.maxJobPayloadBytes ?? DEFAULT_MAX_JOB_PAYLOAD_BYTES;
    if (!Number.isSafeInteger(limit) || limit <= 0) {
      throw new RangeError(`maxJobPayloadBytes: expected a positive integer, got ${String(limit)}`);
    }
    this.#maxJobPayloadBytes = limit;
    this.#onExchange = options.onExchange;
  }

  async verifyRunner(input: VerifyRunnerInput): Promise<VerifyRunnerResult> {
    const { token } = input.credentials;
    const request = encodeVerifyRunner(input, this.#context(MAX_ANSWER_BYTES));
    const fields: LogFields = this.#quiet ? UNLOGGED : { runner: token.short() };
    const { response, requestId } = await this.#send(request, fields);
    const result = decodeVerifyRunner(request, response, this.#clock.now(), requestId);
    if (!this.#quiet) {
      const line = { ...fields, requestId, status: response.status };
      // NOTE: gitlab-runner's own words: "is alive", "is removed".
      if (result.kind === 'verified') this.#logger.info('Verifying runner... is alive', line);
      else if (result.kind === 'forbidden') this.#logger.error('Verifying runner... is removed', line);
      else
        this.#logger.debug(`Verifying runner... ${result.kind}`, {
          ...line,
          message: serverMessage(response, [token]),
        });
    }
    return result;
  }

  async requestJob(input: RequestJobInput): Promise<RequestJobResult> {
    const { token } = input.credentials;
    const tokenKey = token.reveal();
    const request = encodeRequestJob(input, this.#lastUpdates.get(tokenKey), this.#context(this.#maxJobPayloadBytes));
    const fields: LogFields = this.#quiet ? UNLOGGED : { runner: token.short() };
    const { response, answer, requestId, lastUpdate } = await this.#send(request, fields);
    // NOTE: recorded from any answer that carries it, a malformed one included: it describes the queue, not the job.
    if (lastUpdate !== undefined && lastUpdate !== '') this.#lastUpdates.set(tokenKey, lastUpdate);
    let result: RequestJobResult;
    try {
      result = decodeRequestJobAnswer(request, response, answer, this.#clock.now(), requestId);
    } catch (error) {
      this.#logger.warn('Checking for jobs... received an unusable job', {
        ...fields,
        requestId,
        status: response.status,
        error: error instanceof Error ? error.message : 'unreadable answer',
      });
      throw error;
    }
    if (!this.#quiet) this.#logJobRequest(result, response, { ...fields, requestId, status: response.status }, token);
    return result;
  }

  async updateJob(job: JobCredentials, input: UpdateJobInput): Promise<UpdateJobResult> {
    const request = encodeUpdateJob(job, input, this.#context(MAX_ANSWER_BYTES));
    const fields: LogFields = this.#quiet ? UNLOGGED : { job: job.id, state: input.state };
    const { response, answer, requestId } = await this.#send(request, fields);
    const result = decodeUpdateJobAnswer(request, answer, this.#clock.now(), requestId);
    if (!this.#quiet) {
      this.#logJobAnswer('Submitting job to coordinator...', result, request, response, { ...fields, requestId });
    }
    return result;
  }

  async postRunnerStatus(job: JobCredentials, input: RunnerStatusInput): Promise<RunnerStatusResult> {
    const request = encodeRunnerStatus(job, input, this.#context(MAX_ANSWER_BYTES));
    const fields: LogFields = this.#quiet ? UNLOGGED : { job: job.id, status_sent: input.status };
    const { response, answer, requestId } = await this.#send(request, fields);
    const result = decodeRunnerStatusAnswer(request, answer, this.#clock.now(), requestId);
    if (!this.#quiet) {
      this.#logJobAnswer('Reporting runner status...', result, request, response, { ...fields, requestId });
    }
    return result;
  }

  async patchTrace(job: JobCredentials, input: PatchTraceInput): Promise<PatchTraceResult> {
    const request = encodePatchTrace(job, input, this.#context(MAX_ANSWER_BYTES));
    if (request === undefined) {
      this.#logger.debug('Appending trace to coordinator... skipped due to empty patch', { job: job.id });
      return { kind: 'succeeded', offset: input.offset, cancelRequested: false };
    }
    const end = input.offset + input.content.byteLength;
    const fields: LogFields = this.#quiet ? UNLOGGED : { job: job.id, sent: `${input.offset}-${end - 1}` };
    const { response, answer, requestId } = await this.#send(request, fields);
    const result = decodePatchTraceAnswer(request, answer, this.#clock.now(), end, requestId);
    if (!this.#quiet) {
      this.#logJobAnswer('Appending trace to coordinator...', result, request, response, { ...fields, requestId });
    }
    return result;
  }

  /** Closes the transport (kept-alive connections). */
  close(): Promise<void> {
    return this.#transport.close();
  }

  #context(maxResponseBytes: number): EncodeContext {
    return { requestId: this.#newRequestId(), userAgent: this.#userAgent, maxResponseBytes };
  }

  async #send(request: WireRequest, fields: LogFields): Promise<Received> {
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
      if (!this.#quiet) {
        const message = error instanceof NetworkError ? error.message : 'the transport failed';
        this.#logger.debug('Request failed', { ...fields, requestId: sentId, error: message });
      }
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
    // One pass over the headers serves the request id, the last update and the classification.
    const headers = headerIndex(response.headers);
    const serverId = headers.get('x-request-id');
    // NOTE: the server's id names the call in GitLab's logs, so it wins (gitlab-runner logs it as correlation id);
    // a server echoing a token in it gets it redacted.
    const requestId = serverId === undefined || serverId === '' ? sentId : redactPresent(serverId, request.secrets);
    return {
      response,
      answer: toWireAnswer(response, request.secrets, headers),
      requestId,
      lastUpdate: headers.get('x-gitlab-last-update'),
    };
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
