import { type Clock, type Logger, ResponseTooLargeError, TransportError } from '@runner-core/core';
import type { TransportFault } from '@runner-core/core/simulation';
import {
  RunnerApiClient,
  type WireExchange,
  type WireRequest,
  type WireResponse,
  type WireTransport,
} from '@runner-core/core/wire';
import type { FakeGitLab } from './fake-gitlab/fake-gitlab.js';

/** Options of {@link InMemoryNetwork}. */
export interface InMemoryNetworkOptions {
  /** The fake GitLab that answers. */
  readonly gitlab: FakeGitLab;
  /** The clock for scripted delays and absolute wait hints. @default the fake's clock */
  readonly clock?: Clock;
  /** Makes the `X-Request-Id` of each call. @default 32 hex digits from a random UUID */
  readonly newRequestId?: () => string;
  /** The `User-Agent` sent. @default 'runner-core-in-memory' */
  readonly userAgent?: string;
  /** The largest job payload accepted, in bytes. @default 4 MiB, as `HttpNetwork` */
  readonly maxJobPayloadBytes?: number;
  /** Receives the same lines `HttpNetwork` logs. @default silentLogger */
  readonly logger?: Logger;
  /** Told of every request once it ended, as `HttpNetwork` tells it. @default none */
  readonly onExchange?: (exchange: WireExchange) => void;
}

/**
 * The `Network` port over a {@link FakeGitLab}, with no sockets: core's shared {@link RunnerApiClient} over a transport
 * that hands each encoded request to the fake, so every byte, header and classification is the one `HttpNetwork`
 * uses.
 *
 * Scripted faults become `TransportError`s: `reset` and `timeout` with `sent: true`, `refused` with `sent: false`.
 * Scripted delays wait on the clock (a `FakeClock` in tests). NOTE: there is no client timeout here, so a `timeout`
 * fails as soon as its `delayMs` (default 0) has passed: give it the client's timeout as `delayMs` to model one.
 */
export class InMemoryNetwork extends RunnerApiClient {
  constructor(options: InMemoryNetworkOptions) {
    const clock = options.clock ?? options.gitlab.clock;
    super({
      transport: new FakeGitLabTransport(options.gitlab, clock),
      clock,
      userAgent: options.userAgent ?? 'runner-core-in-memory',
      ...(options.newRequestId === undefined ? {} : { newRequestId: options.newRequestId }),
      ...(options.maxJobPayloadBytes === undefined ? {} : { maxJobPayloadBytes: options.maxJobPayloadBytes }),
      ...(options.logger === undefined ? {} : { logger: options.logger }),
      ...(options.onExchange === undefined ? {} : { onExchange: options.onExchange }),
    });
  }
}

/** An {@link InMemoryNetwork} over `options.gitlab`. */
export function createInMemoryNetwork(options: InMemoryNetworkOptions): InMemoryNetwork {
  return new InMemoryNetwork(options);
}

const encoder = new TextEncoder();

/** Hands each request to the fake as Workhorse would hand it to Rails, and applies the fake's delays and faults. */
class FakeGitLabTransport implements WireTransport {
  readonly #gitlab: FakeGitLab;
  readonly #clock: Clock;

  constructor(gitlab: FakeGitLab, clock: Clock) {
    this.#gitlab = gitlab;
    this.#clock = clock;
  }

  async send(request: WireRequest): Promise<WireResponse> {
    const { signal, what } = request;
    if (signal?.aborted) throw new TransportError(`${what}: aborted before sending`, false);
    const reply = this.#gitlab.handle({
      method: request.method,
      url: `/api/v4/${request.path}`,
      headers: { ...request.headers, 'Content-Length': String(request.body.byteLength) },
      body: request.body,
    });
    if (reply.delayMs > 0) await this.#clock.sleep(reply.delayMs, signal);
    if (signal?.aborted) throw new TransportError(`${what}: aborted while waiting`, true);
    if (reply.kind === 'fault') throw faultError(reply.fault, what);
    const body = encoder.encode(reply.body);
    if (body.byteLength > request.maxResponseBytes) {
      throw new ResponseTooLargeError(
        `${what} answered with a body over ${request.maxResponseBytes} bytes; not read further`,
        request.maxResponseBytes,
      );
    }
    return { status: reply.status, headers: reply.headers, body };
  }

  async close(): Promise<void> {}
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
