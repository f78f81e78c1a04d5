import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import type { JobSpec } from '@runner-core/core/simulation';
import type { FakeGitLab } from './fake-gitlab/fake-gitlab.js';
import type { FakeReply } from './fake-gitlab/fake-gitlab.types.js';
import { isRecord, parseJsonBody, splitUrl } from './fake-gitlab/http-answers.js';

/** Options of {@link FakeGitLabServer.start}. */
export interface FakeGitLabServerOptions {
  /** The model that answers. */
  readonly gitlab: FakeGitLab;
  /** @default 0 (a free port) */
  readonly port?: number;
  /** @default '127.0.0.1' */
  readonly host?: string;
}

/**
 * A {@link FakeGitLab} over real HTTP (`node:http`), answering the runner API as Rails does: `POST
 * /api/v4/jobs/request`, `PUT /api/v4/jobs/:id`, `POST /api/v4/jobs/:id/runner_status`, `PATCH
 * /api/v4/jobs/:id/trace`; 404 for unknown paths and 405 for a wrong method.
 *
 * Scripted faults act on the socket: `reset` destroys it, `timeout` never answers (until the client gives up or
 * {@link FakeGitLabServer.close}), `delayMs` holds the answer back in real time. NOTE: a TCP connection that was
 * accepted cannot be refused any more, so `refused` also destroys the socket: over HTTP a client sees a reset.
 *
 * Control endpoints for `runner-core sim` (answers carry no token):
 * - `POST /-/sim/jobs` (optional JSON `JobSpec` body) enqueues a job → 201 `{ "id": … }`;
 * - `GET /-/sim/jobs` → the jobs' states; `GET /-/sim/jobs/:id` → one job;
 * - `POST /-/sim/jobs/:id/cancel` → `{ "id": …, "status": … }`;
 * - `POST /-/sim/expire` runs the expiry worker → `{ "dropped": [ids] }`;
 * - `GET /-/sim/requests` → the request log (tokens redacted).
 */
export class FakeGitLabServer {
  /** The base URL, e.g. `http://127.0.0.1:40123` (give it to a client as the GitLab URL). */
  readonly url: string;
  readonly port: number;
  readonly #server: Server;
  readonly #gitlab: FakeGitLab;
  readonly #sockets = new Set<Socket>();
  readonly #timers = new Set<NodeJS.Timeout>();
  #closing: Promise<void> | undefined;

  private constructor(server: Server, gitlab: FakeGitLab, url: string, port: number) {
    this.#server = server;
    this.#gitlab = gitlab;
    this.url = url;
    this.port = port;
    server.on('connection', (socket) => {
      this.#sockets.add(socket);
      socket.once('close', () => this.#sockets.delete(socket));
    });
  }

  /** Starts listening. @throws {Error} when the port cannot be bound */
  static async start(options: FakeGitLabServerOptions): Promise<FakeGitLabServer> {
    const { gitlab, port = 0, host = '127.0.0.1' } = options;
    if (!Number.isInteger(port) || port < 0 || port > 65_535) {
      throw new RangeError(`FakeGitLabServer: port must be an integer in 0-65535, got ${port}`);
    }
    let serve: (request: IncomingMessage, response: ServerResponse) => void = (_request, response) => {
      send(response, 503, { message: '503 Service Unavailable - starting' });
    };
    const server = createServer((request, response) => serve(request, response));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => {
        server.off('error', reject);
        resolve();
      });
    });
    const address = server.address() as AddressInfo;
    const hostInUrl = address.family === 'IPv6' ? `[${address.address}]` : address.address;
    const instance = new FakeGitLabServer(server, gitlab, `http://${hostInUrl}:${address.port}`, address.port);
    serve = (request, response) => instance.#serve(request, response);
    return instance;
  }

  /**
   * Stops listening, drops every connection (answers held back by `timeout` or `delayMs` included) and cancels
   * pending delays, so nothing keeps the process alive. Calling it again returns the same promise.
   */
  close(): Promise<void> {
    this.#closing ??= new Promise<void>((resolve) => {
      for (const timer of this.#timers) clearTimeout(timer);
      this.#timers.clear();
      this.#server.close(() => resolve());
      this.#server.closeAllConnections();
      for (const socket of this.#sockets) socket.destroy();
    });
    return this.#closing;
  }

  #serve(request: IncomingMessage, response: ServerResponse): void {
    const chunks: Buffer[] = [];
    // A client that aborts mid-body makes the request emit 'error'; unheard, that would crash the process.
    request.on('error', () => request.socket.destroy());
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      try {
        const body = Buffer.concat(chunks);
        const url = request.url ?? '/';
        if (url.startsWith('/-/sim/') || url === '/-/sim') {
          this.#control(request.method ?? 'GET', url, body, response);
          return;
        }
        const reply = this.#gitlab.handle({
          method: request.method ?? 'GET',
          url,
          headers: flattenHeaders(request.headers),
          body,
        });
        this.#later(reply.delayMs, () => this.#deliver(reply, request, response));
      } catch (error) {
        // NOTE: the message of a fault inside the fake names no token (the model never puts one in a message).
        send(response, 500, { message: `500 Internal Server Error - ${(error as Error).message}` });
      }
    });
  }

  #deliver(reply: FakeReply, request: IncomingMessage, response: ServerResponse): void {
    if (response.destroyed || request.socket.destroyed) return;
    if (reply.kind === 'answer') {
      // NOTE: a 204 carries neither a body nor a Content-Length.
      const length = reply.status === 204 ? {} : { 'Content-Length': Buffer.byteLength(reply.body) };
      response.writeHead(reply.status, { ...reply.headers, ...length });
      response.end(reply.status === 204 ? undefined : reply.body);
      return;
    }
    switch (reply.fault) {
      case 'reset':
      case 'refused':
        request.socket.destroy();
        return;
      case 'timeout':
        // Never answered; close() drops the socket.
        return;
      default: {
        const unknown: never = reply.fault;
        throw new TypeError(`unknown transport fault ${String(unknown)}`);
      }
    }
  }

  #later(delayMs: number, action: () => void): void {
    if (delayMs <= 0) {
      action();
      return;
    }
    const timer = setTimeout(() => {
      this.#timers.delete(timer);
      action();
    }, delayMs);
    this.#timers.add(timer);
  }

  #control(method: string, url: string, body: Buffer, response: ServerResponse): void {
    const answer = this.#controlAnswer(method.toUpperCase(), splitUrl(url).path, body);
    send(response, answer.status, answer.body, answer.headers);
  }

  #controlAnswer(method: string, path: string, body: Buffer): ControlAnswer {
    const only = (allowed: string, run: () => ControlAnswer): ControlAnswer =>
      method === allowed
        ? run()
        : { status: 405, body: { message: '405 Method Not Allowed' }, headers: { Allow: allowed } };
    if (path === '/-/sim/jobs') {
      if (method === 'GET') return { status: 200, body: this.#gitlab.jobs() };
      return only('POST', () => {
        const parsed = parseJsonBody(body);
        if (parsed.invalid || (parsed.value !== undefined && !isRecord(parsed.value))) {
          return { status: 400, body: { message: '400 Bad Request - the body must be a JSON object (a job spec)' } };
        }
        try {
          const { id } = this.#gitlab.enqueueJob((parsed.value ?? {}) as JobSpec);
          return { status: 201, body: { id } };
        } catch (error) {
          if (!(error instanceof TypeError)) throw error;
          return { status: 400, body: { message: `400 Bad Request - ${error.message}` } };
        }
      });
    }
    const jobMatch = /^\/-\/sim\/jobs\/(\d+)(\/cancel)?$/.exec(path);
    if (jobMatch !== null) {
      const id = Number(jobMatch[1]);
      if (!this.#gitlab.jobs().some((job) => job.id === id)) {
        return { status: 404, body: { message: `404 Not Found - no job with id ${id}` } };
      }
      if (jobMatch[2] === '/cancel') {
        return only('POST', () => ({ status: 200, body: { id, status: this.#gitlab.cancelJob(id) } }));
      }
      return only('GET', () => ({ status: 200, body: this.#gitlab.job(id) }));
    }
    if (path === '/-/sim/expire')
      return only('POST', () => ({ status: 200, body: { dropped: this.#gitlab.runExpiry() } }));
    if (path === '/-/sim/requests') return only('GET', () => ({ status: 200, body: this.#gitlab.requests() }));
    return { status: 404, body: { message: '404 Not Found' } };
  }
}

/** An answer of a control endpoint (always JSON). */
interface ControlAnswer {
  readonly status: number;
  readonly body: unknown;
  readonly headers?: Readonly<Record<string, string>>;
}

function send(
  response: ServerResponse,
  status: number,
  body: unknown,
  headers: Readonly<Record<string, string>> = {},
): void {
  const text = JSON.stringify(body);
  response.writeHead(status, {
    ...headers,
    'Content-Type': 'application/json',
    'Content-Length': Buffer.byteLength(text),
  });
  response.end(text);
}

function flattenHeaders(headers: IncomingMessage['headers']): Record<string, string | undefined> {
  const result: Record<string, string | undefined> = {};
  for (const [name, value] of Object.entries(headers)) {
    result[name] = Array.isArray(value) ? value.join(', ') : value;
  }
  return result;
}
