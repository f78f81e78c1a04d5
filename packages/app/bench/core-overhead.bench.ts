import { createInMemoryNetwork, FakeGitLab } from '@runner-core/adapter-fake';
import { isRunnable, JobConfirmation, type JobPayload, Secret, systemClock } from '@runner-core/core';
import { ScriptedNetwork } from '@runner-core/core/testing';
import { decodeParsedJobPayload, parseJson } from '@runner-core/core/wire';
import type { BenchOptions } from './bench-options.js';
import { benchInfo, benchPayloads, benchWireJob } from './bench-payloads.js';

/** What the core costs per confirmation, with no I/O under it. */
export interface CoreFigures {
  /** `receive(job).confirm()` (keep-alive loop and prepare timer set up, then torn down) on `systemClock`. */
  readonly heldConfirmCpuUs: number;
  /** `confirm(job)`: no hold, no timer. */
  readonly directConfirmCpuUs: number;
  /** `receive(job).confirm()` with `probe: true` (one keep-alive before the confirmation). */
  readonly probeConfirmCpuUs: number;
  readonly requestsPerConfirm: number;
  readonly requestsPerConfirmProbe: number;
  /** Decoding one ~2.2 KB job payload (bytes → JSON → `JobPayload`), the codec's biggest step. */
  readonly payloadDecodeCpuUs: number;
  readonly payloadBytes: number;
  /** Job request + confirmation through `InMemoryNetwork` and `FakeGitLab` (codec and fake, no sockets). */
  readonly inMemoryUsPerOp: number;
  readonly inMemoryRequestsPerOp: number;
}

/** CPU µs per call of `run`, over `ops` calls after `warmup` unmeasured ones. */
async function cpuPerOp(ops: number, warmup: number, run: (index: number) => Promise<void>): Promise<number> {
  for (let index = 0; index < warmup; index++) await run(index);
  // NOTE: no forced collection here: after one, V8 shrinks the young generation and the next few thousand ops run
  // up to twice as slow, which would measure the collector's recovery rather than the code.
  const before = process.cpuUsage();
  for (let index = 0; index < ops; index++) await run(index);
  const used = process.cpuUsage(before);
  return (used.user + used.system) / ops;
}

/** A way of confirming over a scripted network that answers 200 at once, counting what reaches the network. */
interface Variant {
  readonly run: (index: number) => Promise<void>;
  readonly requests: () => number;
  cpuUs: number;
}

function variant(
  jobs: readonly JobPayload[],
  probe: boolean,
  confirm: (confirmation: JobConfirmation, job: JobPayload) => Promise<void>,
): Variant {
  const network = new ScriptedNetwork();
  const confirmation = new JobConfirmation({ network, clock: systemClock }, { info: benchInfo, probe });
  let requests = 0;
  return {
    cpuUs: 0,
    requests: () => requests,
    async run(index) {
      await confirm(confirmation, jobs[index % jobs.length] as JobPayload);
      // The scripted network records every call; emptied as it goes so the log's growth is not what is measured.
      requests += network.calls.length;
      network.calls.length = 0;
    },
  };
}

async function expectConfirmed(outcome: ReturnType<JobConfirmation['confirm']>): Promise<void> {
  const settled = await outcome;
  if (!isRunnable(settled)) throw new Error(`bench: expected confirmed, got ${settled.kind}`);
}

/** Rounds the variants take turns in, so JIT warm-up and machine drift do not favour whichever runs last. */
const ROUNDS = 4;

export async function benchCoreOverhead(options: BenchOptions['core']): Promise<CoreFigures> {
  const jobs = benchPayloads(1_000);
  const held = variant(jobs, false, (confirmation, job) => expectConfirmed(confirmation.receive(job).confirm()));
  const direct = variant(jobs, false, (confirmation, job) => expectConfirmed(confirmation.confirm(job)));
  const probe = variant(jobs, true, (confirmation, job) => expectConfirmed(confirmation.receive(job).confirm()));
  const variants = [held, direct, probe];
  const opsPerRound = Math.ceil(options.ops / ROUNDS);
  for (const each of variants) for (let index = 0; index < options.warmupOps; index++) await each.run(index);
  for (let round = 0; round < ROUNDS; round++) {
    for (const each of variants) each.cpuUs += (await cpuPerOp(opsPerRound, 0, each.run)) / ROUNDS;
  }
  const callsPerConfirm = (each: Variant): number => each.requests() / (options.warmupOps + opsPerRound * ROUNDS);

  const body = Buffer.from(JSON.stringify(benchWireJob(4242)));
  const payloadDecodeCpuUs = await cpuPerOp(options.ops, options.warmupOps, async () => {
    const parsed = parseJson(body);
    if (!parsed.ok) throw new Error('bench: the bench payload is not JSON');
    // As a job request decodes it: the freshly parsed body becomes the payload.
    decodeParsedJobPayload(parsed.value);
  });

  const inMemory = await benchInMemory(options.inMemoryOps);
  return {
    heldConfirmCpuUs: held.cpuUs,
    directConfirmCpuUs: direct.cpuUs,
    probeConfirmCpuUs: probe.cpuUs,
    requestsPerConfirm: callsPerConfirm(held),
    requestsPerConfirmProbe: callsPerConfirm(probe),
    payloadDecodeCpuUs,
    payloadBytes: body.length,
    ...inMemory,
  };
}

/** The previous benchmark's middle layer, kept for comparison with the README's table. */
async function benchInMemory(ops: number): Promise<Pick<CoreFigures, 'inMemoryUsPerOp' | 'inMemoryRequestsPerOp'>> {
  const gitlab = new FakeGitLab({ profile: 'two-phase', requestLogLimit: 100 });
  const network = createInMemoryNetwork({ gitlab });
  const confirmation = new JobConfirmation({ network, clock: systemClock }, { info: benchInfo });
  const credentials = { token: new Secret(gitlab.runnerToken), systemId: 's_bench0000001' };
  const handOutAndConfirm = async (): Promise<void> => {
    gitlab.enqueueJob();
    const answer = await network.requestJob({ credentials, info: benchInfo });
    if (answer.kind !== 'job') throw new Error(`bench: expected a job, got ${answer.kind}`);
    await expectConfirmed(confirmation.confirm(answer.job));
  };
  const warmup = Math.min(ops, 300);
  for (let index = 0; index < warmup; index++) await handOutAndConfirm();
  const seqBefore = lastSeq(gitlab);
  const started = performance.now();
  for (let index = 0; index < ops; index++) await handOutAndConfirm();
  const elapsed = performance.now() - started;
  return { inMemoryUsPerOp: (elapsed * 1000) / ops, inMemoryRequestsPerOp: (lastSeq(gitlab) - seqBefore) / ops };
}

/** The sequence number of the fake's last logged request: how many requests it received in all. */
function lastSeq(gitlab: FakeGitLab): number {
  return gitlab.requests().at(-1)?.seq ?? 0;
}
