import { randomUUID } from 'node:crypto';
import {
  type Clock,
  classifyPatchTrace,
  classifyRequestJob,
  classifyRunnerStatus,
  classifyUpdateJob,
  type JobCredentials,
  type JobPayload,
  JobPayloadError,
  jobPayloadFromWire,
  lastUpdateOf,
  MalformedResponseError,
  type Network,
  type PatchTraceInput,
  type PatchTraceResult,
  type RequestJobInput,
  type RequestJobResult,
  type RunnerStatusInput,
  type RunnerStatusResult,
  redact,
  Secret,
  TransportError,
  type UpdateJobInput,
  type UpdateJobResult,
  type WireAnswer,
  wireAnswer,
} from '@runner-core/core';
import type { TransportFault } from '@runner-core/core/testing';
import type { FakeGitLab } from './fake-gitlab.js';
import type { FakeHttpRequest } from './fake-gitlab.types.js';
import { isRecord, statusLine } from './fake-http.js';

/** Options of {@link InMemoryNetwork}. */
export interface InMemoryNetworkOptions {
  /** The fake GitLab that answers. */
  readonly gitlab: FakeGitLab;
  /** The clock for scripted delays and absolute wait hints. @default the fake's clock */
  readonly clock?: Clock;
  /** Makes the `X-Request-Id` of each call. @default 32 hex digits from a random UUID */
  readonly requestId?: () => string;
  /** The `User-Agent` sent. @default 'runner-core-in-memory' */
  readonly userAgent?: string;
}

/** One call's request and the secrets its answer must not echo into messages. */
interface Call {
  readonly request: FakeHttpRequest;
  readonly what: string;
  readonly secrets: readonly Secret[];
  readonly requestId: string;
  readonly signal?: AbortSignal;
}

/** What came back: the answer for classification, its body, and the id to report. */
interface Received {
  readonly answer: WireAnswer;
  readonly body: string;
  readonly requestId: string;
}

/**
 * The `Network` port over a {@link FakeGitLab}, with no sockets: each call builds the request the HTTP adapter would
 * send (path, headers, JSON body with `info` and tokens), lets the fake answer at the HTTP level, and classifies the
 * answer with core's shared functions, so it cannot disagree with the HTTP adapter about what a status means.
 *
 * Scripted faults become `TransportError`s: `reset` and `timeout` with `sent: true`, `refused` with `sent: false`.
 * Scripted delays wait on the clock (a `FakeClock` in tests). NOTE: there is no client timeout here, so a `timeout`
 * fails as soon as its `delayMs` (default 0) has passed: give it the client's timeout as `delayMs` to model one.
 */
export class InMemoryNetwork implements Network {
  readonly #gitlab: FakeGitLab;
  readonly #clock: Clock;
  readonly #requestId: () => string;
  readonly #userAgent: string;
  /** `X-GitLab-Last-Update` per runner token, echoed as `last_update`. */
  readonly #lastUpdates = new Map<string, string>();

  constructor(options: InMemoryNetworkOptions) {
    this.#gitlab = options.gitlab;
    this.#clock = options.clock ?? options.gitlab.clock;
    this.#requestId = options.requestId ?? (() => randomUUID().replaceAll('-', ''));
    this.#userAgent = options.userAgent ?? 'runner-core-in-memory';
  }

  async requestJob(input: RequestJobInput): Promise<RequestJobResult> {
    const { credentials, info, signal } = input;
    const token = credentials.token.reveal();
    const lastUpdate = this.#lastUpdates.get(token);
    const requestId = this.#requestId();
    const received = await this.#send({
      what: 'POST /api/v4/jobs/request',
      secrets: [credentials.token],
      requestId,
      ...(signal === undefined ? {} : { signal }),
      request: {
        method: 'POST',
        url: '/api/v4/jobs/request',
        headers: {
          'RUNNER-TOKEN': token,
          'Content-Type': 'application/json',
          Accept: 'application/json',
          'X-Request-Id': requestId,
          'User-Agent': this.#userAgent,
        },
        body: JSON.stringify({
          token,
          system_id: credentials.systemId,
          ...(lastUpdate === undefined ? {} : { last_update: lastUpdate }),
          info,
        }),
      },
    });
    const seen = lastUpdateOf(received.answer);
    if (seen !== undefined) this.#lastUpdates.set(token, seen);
    const result = classifyRequestJob(received.answer, this.#clock.now(), received.requestId);
    if (result.kind !== 'job') return result;
    const job = this.#payload(received);
    return {
      kind: 'job',
      job,
      ...(seen === undefined ? {} : { lastUpdate: seen }),
      requestId: received.requestId,
    };
  }

  async updateJob(job: JobCredentials, input: UpdateJobInput): Promise<UpdateJobResult> {
    const requestId = this.#requestId();
    const received = await this.#send(
      this.#jobCall(job, 'PUT', `/api/v4/jobs/${job.id}`, requestId, {
        info: input.info,
        token: job.token.reveal(),
        state: input.state,
        ...(input.failureReason === undefined ? {} : { failure_reason: input.failureReason }),
        ...(input.exitCode === undefined || input.exitCode === 0 ? {} : { exit_code: input.exitCode }),
        output: {
          ...(input.output?.checksum ? { checksum: input.output.checksum } : {}),
          ...(input.output?.bytesize ? { bytesize: input.output.bytesize } : {}),
        },
      }),
    );
    return classifyUpdateJob(received.answer, this.#clock.now(), received.requestId);
  }

  async postRunnerStatus(job: JobCredentials, input: RunnerStatusInput): Promise<RunnerStatusResult> {
    const requestId = this.#requestId();
    const received = await this.#send(
      this.#jobCall(job, 'POST', `/api/v4/jobs/${job.id}/runner_status`, requestId, {
        info: input.info,
        token: job.token.reveal(),
        status: input.status,
      }),
    );
    return classifyRunnerStatus(received.answer, this.#clock.now(), received.requestId);
  }

  async patchTrace(job: JobCredentials, input: PatchTraceInput): Promise<PatchTraceResult> {
    const { content, offset } = input;
    if (!Number.isSafeInteger(offset) || offset < 0) {
      throw new RangeError(`patchTrace: offset must be a non-negative integer, got ${offset}`);
    }
    // NOTE: gitlab-runner sends no request for an empty patch and reports success at the same offset (P1).
    if (content.byteLength === 0) return { kind: 'succeeded', offset, cancelRequested: false };
    const end = offset + content.byteLength;
    const requestId = this.#requestId();
    const received = await this.#send({
      what: `PATCH /api/v4/jobs/${job.id}/trace`,
      secrets: [job.token],
      requestId,
      request: {
        method: 'PATCH',
        url: `/api/v4/jobs/${job.id}/trace?debug_trace=${input.debugTrace === true}`,
        headers: {
          'JOB-TOKEN': job.token.reveal(),
          'Content-Range': `${offset}-${end - 1}`,
          'Content-Type': 'text/plain',
          'Content-Length': String(content.byteLength),
          'X-Request-Id': requestId,
          'User-Agent': this.#userAgent,
        },
        body: content,
      },
    });
    return classifyPatchTrace(received.answer, this.#clock.now(), end, received.requestId);
  }

  #jobCall(job: JobCredentials, method: string, url: string, requestId: string, body: object): Call {
    return {
      what: `${method} ${url}`,
      secrets: [job.token],
      requestId,
      request: {
        method,
        url,
        headers: {
          'JOB-TOKEN': job.token.reveal(),
          'Content-Type': 'application/json',
          'X-Request-Id': requestId,
          'User-Agent': this.#userAgent,
        },
        body: JSON.stringify(body),
      },
    };
  }

  async #send(call: Call): Promise<Received> {
    const { signal, what } = call;
    if (signal?.aborted) throw new TransportError(`${what}: aborted before sending`, false, { cause: signal.reason });
    const reply = this.#gitlab.handle(call.request);
    if (reply.delayMs > 0) await this.#clock.sleep(reply.delayMs, signal);
    if (signal?.aborted) throw new TransportError(`${what}: aborted while waiting`, true, { cause: signal.reason });
    if (reply.kind === 'fault') throw faultError(reply.fault, what);
    const answer = wireAnswer(reply.status, reply.headers, errorMessage(reply.status, reply.body, call.secrets));
    return { answer, body: reply.body, requestId: answer.header('X-Request-Id') ?? call.requestId };
  }

  /** The 201 body as a payload: the content type must be JSON and the payload readable. */
  #payload(received: Received): JobPayload {
    const contentType = received.answer.header('Content-Type') ?? '';
    if (!/^application\/json\s*(;|$)/i.test(contentType)) {
      throw new MalformedResponseError(
        `POST /api/v4/jobs/request: 201 with content type ${contentType || '(none)'}, expected application/json`,
      );
    }
    let raw: unknown;
    try {
      raw = JSON.parse(received.body);
    } catch (cause) {
      throw new MalformedResponseError('POST /api/v4/jobs/request: 201 body is not JSON', undefined, { cause });
    }
    try {
      return jobPayloadFromWire(raw);
    } catch (cause) {
      const detail = cause instanceof JobPayloadError ? cause.message : 'unreadable job payload';
      throw new MalformedResponseError(`POST /api/v4/jobs/request: ${detail}`, readableCredentials(raw), { cause });
    }
  }
}

/** An {@link InMemoryNetwork} over `options.gitlab`. */
export function createInMemoryNetwork(options: InMemoryNetworkOptions): InMemoryNetwork {
  return new InMemoryNetwork(options);
}

function faultError(fault: TransportFault, what: string): TransportError {
  switch (fault) {
    case 'reset':
      return new TransportError(`${what}: connection reset by the fake GitLab`, true);
    case 'timeout':
      return new TransportError(`${what}: timed out waiting for the fake GitLab`, true);
    case 'refused':
      return new TransportError(`${what}: connection refused by the fake GitLab`, false);
    default: {
      const unknown: never = fault;
      throw new TypeError(`unknown transport fault ${String(unknown)}`);
    }
  }
}

/** Rails' `message` (or Grape's `error`) of an error answer, else the status line; tokens redacted. */
function errorMessage(status: number, body: string, secrets: readonly Secret[]): string {
  let message = statusLine(status);
  if (status >= 300) {
    try {
      const parsed: unknown = JSON.parse(body);
      if (isRecord(parsed) && typeof parsed.message === 'string') message = parsed.message;
      else if (isRecord(parsed) && typeof parsed.error === 'string') message = parsed.error;
    } catch {
      // A non-JSON error body says nothing more than the status line.
    }
  }
  return redact(message, secrets);
}

/** The id and token of a payload that failed validation, when they can still be read (to release the job). */
function readableCredentials(raw: unknown): JobCredentials | undefined {
  if (!isRecord(raw)) return undefined;
  const { id, token } = raw;
  if (typeof id !== 'number' || !Number.isSafeInteger(id) || id <= 0) return undefined;
  if (typeof token !== 'string' || token === '') return undefined;
  return { id, token: new Secret(token) };
}
