/**
 * The child process of the HTTP client comparison (forked by `ChildServer`): a plain `node:http` server on 127.0.0.1
 * answering the two calls of a hand-out plus confirmation as GitLab does, and nothing else. It accepts any token and
 * keeps no state but counters: it is a load target, not the fake GitLab, so the clients' differences are all the
 * figures show.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { benchJobBodies } from './bench-payloads.js';
import { cpuUsSoFar, serveParent } from './ipc-messages.js';

/** Distinct payloads served in turn: built once, so the server spends its CPU on HTTP, not on JSON. */
const PAYLOADS = benchJobBodies(256);
const JOB_HEADERS = { 'Content-Type': 'application/json' };
const RUNNING = Buffer.from('200');
const RUNNING_HEADERS = { 'Content-Type': 'text/plain', 'Job-Status': 'running', 'Content-Length': RUNNING.length };
const UPDATE_PATH = /^\/api\/v4\/jobs\/\d+$/;

const counts = { requestJob: 0, updateJob: 0, other: 0 };
let served = 0;

function answer(request: IncomingMessage, response: ServerResponse): void {
  const { method, url = '' } = request;
  if (method === 'POST' && url === '/api/v4/jobs/request') {
    counts.requestJob += 1;
    const payload = PAYLOADS[served++ % PAYLOADS.length] as Buffer;
    response.writeHead(201, { ...JOB_HEADERS, 'Content-Length': payload.length });
    response.end(payload);
    return;
  }
  if (method === 'PUT' && UPDATE_PATH.test(url)) {
    counts.updateJob += 1;
    response.writeHead(200, RUNNING_HEADERS);
    response.end(RUNNING);
    return;
  }
  counts.other += 1;
  response.writeHead(404, { 'Content-Type': 'application/json', 'Content-Length': 27 });
  response.end('{"message":"404 Not Found"}');
}

const server = createServer((request, response) => {
  // The body is read (a client must be able to send it) and dropped.
  request.on('data', () => {});
  request.on('end', () => answer(request, response));
  request.on('error', () => request.socket.destroy());
});
// NOTE: Node's 5 s default would close kept-alive sockets while the bench talks to the parent between segments.
server.keepAliveTimeout = 120_000;
server.headersTimeout = 121_000;
server.listen(0, '127.0.0.1', () => {
  const { port } = server.address() as AddressInfo;
  serveParent((request) =>
    request.type === 'counts'
      ? {
          id: request.id,
          type: 'counts',
          total: counts.requestJob + counts.updateJob + counts.other,
          cpuUs: cpuUsSoFar(),
          byRoute: { ...counts },
        }
      : { id: request.id, type: 'error', message: 'the loopback server has no job queue' },
  );
  process.send?.({ id: 0, type: 'ready', url: `http://127.0.0.1:${port}` });
});
