import type { BenchOptions } from './bench-options.js';
import { ChildServer } from './child-server.js';
import { GcMeter } from './gc-meter.js';
import { type BenchClient, benchClients, type ClientKey } from './http-clients.js';
import { median, percentile } from './stats.js';

/** One client at one concurrency, over every round. */
export interface ClientFigures {
  readonly key: ClientKey;
  readonly label: string;
  readonly concurrency: number;
  readonly ops: number;
  /** Median over rounds of each round's ops/s. */
  readonly opsPerSec: number;
  readonly roundOpsPerSec: readonly number[];
  /** Whole op (hand-out + confirmation), pooled over rounds. */
  readonly p50Ms: number;
  readonly p99Ms: number;
  /** The confirmation `PUT` alone (one round trip). */
  readonly confirmP50Ms: number;
  /** CPU of this process (the client side; the server is a child process) per op. */
  readonly cpuUsPerOp: number;
  readonly gcUsPerOp: number;
  /** Counted by the server. */
  readonly requestsPerOp: number;
}

class Tally {
  readonly latencies: number[] = [];
  readonly confirmLatencies: number[] = [];
  readonly roundOpsPerSec: number[] = [];
  ops = 0;
  cpuUs = 0;
  gcMs = 0;
  requests = 0;
}

/**
 * Raw `node:http`, bare axios, `HttpNetwork` and `HttpNetwork` + `JobConfirmation` against one loopback server in a
 * child process, interleaved: every round runs each client in turn (the order rotating per round) at each
 * concurrency, so drift on a busy machine (other work, thermal, the JIT) lands on all clients alike.
 */
export async function benchHttpClients(options: BenchOptions['http']): Promise<ClientFigures[]> {
  const server = await ChildServer.start('loopback-server.js');
  const gc = new GcMeter();
  const clients = await benchClients(server.url);
  const tallies = new Map<string, Tally>();
  const tallyOf = (client: BenchClient, concurrency: number): Tally => {
    const key = `${client.key}@${concurrency}`;
    let tally = tallies.get(key);
    if (tally === undefined) {
      tally = new Tally();
      tallies.set(key, tally);
    }
    return tally;
  };
  try {
    const topConcurrency = Math.max(...options.concurrencies);
    for (const client of clients) await drive(client, topConcurrency, options.warmupOps, new Tally());
    for (let round = 0; round < options.rounds; round++) {
      for (const concurrency of options.concurrencies) {
        for (let index = 0; index < clients.length; index++) {
          const client = clients[(index + round) % clients.length] as BenchClient;
          await segment(client, concurrency, options.opsAt(concurrency), tallyOf(client, concurrency), server, gc);
        }
      }
    }
  } finally {
    for (const client of clients) await client.close();
    gc.close();
    await server.close();
  }
  const figures: ClientFigures[] = [];
  for (const concurrency of options.concurrencies) {
    for (const client of clients) {
      const tally = tallyOf(client, concurrency);
      figures.push({
        key: client.key,
        label: client.label,
        concurrency,
        ops: tally.ops,
        opsPerSec: median(tally.roundOpsPerSec),
        roundOpsPerSec: tally.roundOpsPerSec,
        p50Ms: percentile(tally.latencies, 50),
        p99Ms: percentile(tally.latencies, 99),
        confirmP50Ms: percentile(tally.confirmLatencies, 50),
        cpuUsPerOp: tally.cpuUs / tally.ops,
        gcUsPerOp: (tally.gcMs * 1000) / tally.ops,
        requestsPerOp: tally.requests / tally.ops,
      });
    }
  }
  return figures;
}

async function segment(
  client: BenchClient,
  concurrency: number,
  ops: number,
  tally: Tally,
  server: ChildServer,
  gc: GcMeter,
): Promise<void> {
  const before = await server.counts();
  // NOTE: no forced collection between segments: after one, V8 shrinks the young generation and the next segment
  // runs slower for it. A segment may pay for an earlier one's garbage instead; the rotating order spreads that.
  const cpuBefore = process.cpuUsage();
  const started = performance.now();
  await drive(client, concurrency, ops, tally);
  const ended = performance.now();
  const cpu = process.cpuUsage(cpuBefore);
  const after = await server.counts();
  tally.ops += ops;
  tally.cpuUs += cpu.user + cpu.system;
  tally.gcMs += gc.msBetween(started, ended);
  tally.requests += after.total - before.total;
  tally.roundOpsPerSec.push(ops / ((ended - started) / 1000));
}

/** Runs `ops` ops with `concurrency` in flight, recording each op's latency. */
async function drive(client: BenchClient, concurrency: number, ops: number, tally: Tally): Promise<void> {
  let started = 0;
  const worker = async (): Promise<void> => {
    while (started < ops) {
      started += 1;
      const begin = performance.now();
      const confirmMs = await client.op();
      tally.latencies.push(performance.now() - begin);
      tally.confirmLatencies.push(confirmMs);
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
}
