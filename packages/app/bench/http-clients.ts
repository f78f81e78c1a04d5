import { Agent, request } from 'node:http';
import { HttpNetwork } from '@runner-core/adapter-http';
import {
  isRunnable,
  JobConfirmation,
  type JobPayload,
  jobCredentialsOf,
  Secret,
  ServerGate,
  systemClock,
} from '@runner-core/core';
import { encodeRequestJob, encodeUpdateJob, type WireRequest } from '@runner-core/core/wire';
import { type BareAxios, createBareAxios, createLeanAxios } from './bare-axios.js';
import { benchInfo, benchRunner } from './bench-payloads.js';

/**
 * One way of doing a job hand-out plus its confirmation over HTTP, from bare sockets up to the use case, so the
 * comparison shows what each layer adds.
 */
export interface BenchClient {
  /** Short key for the JSON figures: `raw`, `axios`, `lean`, `http`, `confirm`. */
  readonly key: ClientKey;
  readonly label: string;
  /** `POST /jobs/request` then the confirmation `PUT`; resolves with the `PUT`'s own latency in ms. */
  op(): Promise<number>;
  close(): Promise<void>;
}

export type ClientKey = 'raw' | 'axios' | 'lean' | 'http' | 'confirm';

/**
 * The socket pool every bare client uses: what `HttpNetwork` builds by default (keep-alive, 100 sockets, 90 s idle
 * timeout, axios's 60 s TCP keep-alive delay; adapter-http/src/http-transport.ts).
 */
function keptAliveAgent(): Agent {
  return new Agent({ keepAlive: true, keepAliveMsecs: 60_000, maxSockets: 100, maxFreeSockets: 100, timeout: 90_000 });
}

/**
 * The two requests exactly as the wire codec encodes them (same headers, same body bytes), encoded once: the bare
 * clients then pay for the transport only.
 */
function encodedOnce(): { readonly jobRequest: WireRequest; readonly confirmation: WireRequest } {
  const context = {
    requestId: 'b3nch0000000000000000000000000001',
    userAgent: 'runner-core-bench',
    maxResponseBytes: 0,
  };
  return {
    jobRequest: encodeRequestJob({ credentials: benchRunner, info: benchInfo }, undefined, context),
    confirmation: encodeUpdateJob(
      { id: 1, token: new Secret('glcbt-64_bench0000000001xyz') },
      { info: benchInfo, state: 'running' },
      context,
    ),
  };
}

function expectStatus(what: string, status: number, expected: number): void {
  if (status !== expected) throw new Error(`bench: ${what} answered ${status}, expected ${expected}`);
}

/** `node:http` with nothing on top: the floor. */
export function rawClient(baseUrl: string): BenchClient {
  const agent = keptAliveAgent();
  const { hostname, port } = new URL(baseUrl);
  const { jobRequest, confirmation } = encodedOnce();
  const call = (wire: WireRequest): Promise<number> => {
    const body = Buffer.from(wire.body);
    const headers = { ...wire.headers, 'Content-Length': String(body.length) };
    const path = `/api/v4/${wire.path}`;
    return new Promise((resolve, reject) => {
      const outgoing = request({ agent, hostname, port, method: wire.method, path, headers }, (incoming) => {
        const chunks: Buffer[] = [];
        incoming.on('data', (chunk: Buffer) => chunks.push(chunk));
        incoming.on('error', reject);
        incoming.on('end', () => {
          // Collected like axios's arraybuffer response, so both hold the same bytes.
          Buffer.concat(chunks);
          resolve(incoming.statusCode ?? 0);
        });
      });
      outgoing.on('error', reject);
      outgoing.end(body);
    });
  };
  return {
    key: 'raw',
    label: 'raw node:http',
    async op() {
      expectStatus('job request', await call(jobRequest), 201);
      const started = performance.now();
      expectStatus('confirmation', await call(confirmation), 200);
      return performance.now() - started;
    },
    async close() {
      agent.destroy();
    },
  };
}

/** An axios client sending pre-encoded bytes: the transport without the codec. */
async function axiosClient(
  key: 'axios' | 'lean',
  label: string,
  create: (baseUrl: string, agent: Agent) => Promise<BareAxios>,
  baseUrl: string,
): Promise<BenchClient> {
  const agent = keptAliveAgent();
  const axios: BareAxios = await create(`${baseUrl}/api/v4/`, agent);
  const { jobRequest, confirmation } = encodedOnce();
  const call = async (wire: WireRequest): Promise<number> => {
    const answer = await axios.request({
      method: wire.method,
      url: wire.path,
      headers: wire.headers,
      data: Buffer.from(wire.body),
    });
    return answer.status;
  };
  return {
    key,
    label,
    async op() {
      expectStatus('job request', await call(jobRequest), 201);
      const started = performance.now();
      expectStatus('confirmation', await call(confirmation), 200);
      return performance.now() - started;
    },
    async close() {
      agent.destroy();
    },
  };
}

/** axios as an application sets it up (`axios.create`): the reference of the targets. */
export function bareAxiosClient(baseUrl: string): Promise<BenchClient> {
  return axiosClient('axios', 'bare axios', createBareAxios, baseUrl);
}

/** axios as `HttpTransport` builds it (a bare `Axios` instance): what `HttpNetwork` runs under its own layers. */
export function leanAxiosClient(baseUrl: string): Promise<BenchClient> {
  return axiosClient('lean', 'bare axios, lean instance', createLeanAxios, baseUrl);
}

function httpNetwork(baseUrl: string): HttpNetwork {
  // An empty environment: no proxy variable of the machine's can change what is measured.
  return new HttpNetwork({ url: baseUrl, env: {} });
}

async function handOut(network: HttpNetwork): Promise<JobPayload> {
  const answer = await network.requestJob({ credentials: benchRunner, info: benchInfo });
  if (answer.kind !== 'job') throw new Error(`bench: expected a job, got ${answer.kind}`);
  return answer.job;
}

/** The production `Network`: encoding, transport, classification and payload decoding. */
export function httpNetworkClient(baseUrl: string): BenchClient {
  const network = httpNetwork(baseUrl);
  return {
    key: 'http',
    label: 'HttpNetwork',
    async op() {
      const job = await handOut(network);
      const started = performance.now();
      const result = await network.updateJob(jobCredentialsOf(job), { info: benchInfo, state: 'running' });
      if (result.kind !== 'succeeded') throw new Error(`bench: expected succeeded, got ${result.kind}`);
      return performance.now() - started;
    },
    close: () => network.close(),
  };
}

/** What the runner does: `HttpNetwork` plus the confirmation use case, through one shared gate. */
export function confirmationClient(baseUrl: string): BenchClient {
  const network = httpNetwork(baseUrl);
  const confirmation = new JobConfirmation(
    { network, clock: systemClock, gate: new ServerGate(systemClock) },
    { info: benchInfo },
  );
  return {
    key: 'confirm',
    label: 'HttpNetwork + JobConfirmation',
    async op() {
      const job = await handOut(network);
      const started = performance.now();
      const outcome = await confirmation.confirm(job);
      if (!isRunnable(outcome)) throw new Error(`bench: expected confirmed, got ${outcome.kind}`);
      return performance.now() - started;
    },
    close: () => network.close(),
  };
}

/** The five clients, bottom layer first. */
export async function benchClients(baseUrl: string): Promise<BenchClient[]> {
  return [
    rawClient(baseUrl),
    await bareAxiosClient(baseUrl),
    await leanAxiosClient(baseUrl),
    httpNetworkClient(baseUrl),
    confirmationClient(baseUrl),
  ];
}
