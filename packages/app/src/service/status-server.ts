import { once } from 'node:events';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';

/** What the health endpoints ask the service. */
export interface HealthSource {
  /** Whether the service stops (a signal came): not ready for new jobs. */
  readonly draining: () => boolean;
  /** The runners GitLab has not answered for too long (empty: all fine). */
  readonly unansweredRunners: () => readonly string[];
}

/**
 * The operator's endpoints on `--listen-address` (docs/operations.md):
 * - `GET /metrics`: Prometheus' text format;
 * - `GET /health/live`: 200 while the process serves requests (its event loop turns);
 * - `GET /health/ready`: 200 while every runner's GitLab answered recently and the runner is not draining, else 503
 *   with the reason;
 * anything else 404, a method other than GET (or HEAD) 405. Bodies are tiny and say nothing secret.
 */
export class StatusServer {
  readonly #server: Server;

  private constructor(server: Server) {
    this.#server = server;
  }

  /** Listens on `host:port` (port 0 picks a free one). @throws when the address cannot be listened on */
  static async start(
    address: { readonly host: string; readonly port: number },
    registry: Registry,
    health: HealthSource,
  ): Promise<StatusServer> {
    const server = createServer((request, response) => {
      void answer(request, response, registry, health);
    });
    // NOTE: a scrape is short; a client that never sends its request must not hold a socket for ever.
    server.requestTimeout = 10_000;
    server.headersTimeout = 5_000;
    server.listen(address.port, address.host);
    await Promise.race([
      once(server, 'listening'),
      once(server, 'error').then(([error]) => {
        throw error;
      }),
    ]);
    return new StatusServer(server);
  }

  /** `http://host:port` it listens on. */
  get url(): string {
    const { address, port, family } = this.#server.address() as AddressInfo;
    return `http://${family === 'IPv6' ? `[${address}]` : address}:${port}`;
  }

  async close(): Promise<void> {
    this.#server.closeAllConnections();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }
}

async function answer(
  request: IncomingMessage,
  response: ServerResponse,
  registry: Registry,
  health: HealthSource,
): Promise<void> {
  const path = new URL(request.url ?? '/', 'http://status').pathname;
  const send = (status: number, contentType: string, body: string): void => {
    response.writeHead(status, { 'content-type': contentType, 'cache-control': 'no-store' });
    response.end(request.method === 'HEAD' ? undefined : body);
  };
  const json = (status: number, body: Record<string, unknown>): void =>
    send(status, 'application/json', `${JSON.stringify(body)}\n`);
  if (request.method !== 'GET' && request.method !== 'HEAD') {
    json(405, { error: 'only GET' });
    return;
  }
  switch (path) {
    case '/metrics':
      try {
        send(200, registry.contentType, await registry.metrics());
      } catch (error) {
        json(500, { error: `metrics could not be collected: ${error instanceof Error ? error.message : 'error'}` });
      }
      return;
    case '/health/live':
      json(200, { status: 'live' });
      return;
    case '/health/ready': {
      if (health.draining()) {
        json(503, { status: 'draining' });
        return;
      }
      const unanswered = health.unansweredRunners();
      if (unanswered.length > 0) {
        json(503, { status: 'gitlab-unanswered', runners: unanswered });
        return;
      }
      json(200, { status: 'ready' });
      return;
    }
    default:
      json(404, { error: 'not found', endpoints: ['/metrics', '/health/live', '/health/ready'] });
  }
}
