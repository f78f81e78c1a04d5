import { createInMemoryNetwork, FakeGitLab } from '@runner-core/adapter-fake';
import { isRunnable, JobConfirmation, type JobPayload, jobCredentialsOf, Secret, systemClock } from '@runner-core/core';
import { ScriptedNetwork } from '@runner-core/core/testing';
import {
  decodeParsedJobPayload,
  parseJson,
  RunnerApiClient,
  type WireRequest,
  type WireResponse,
  type WireTransport,
} from '@runner-core/core/wire';
import type { BenchOptions } from './bench-options.js';
import { benchInfo, benchJobBodies, benchPayloads, benchRunner, benchWireJob } from './bench-payloads.js';

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
  readonly requestsPerDirectConfirm: number;
  /** Decoding one ~2.2 KB job payload (bytes → JSON → `JobPayload`), the codec's biggest step. */
  readonly payloadDecodeCpuUs: number;
  readonly payloadBytes: number;
  /**
   * The shared codec alone (`RunnerApiClient`, as `HttpNetwork` runs it) over a transport answering at once: a job
   * request (encoding, classification, the payload parsed and checked) plus the confirmation `PUT`. What
   * `HttpNetwork` adds to axios's work, measured without sockets.
   */
  readonly codecCpuUsPerOp: number;
  /** Requests the instant transport was sent per op. */
  readonly codecRequestsPerOp: number;
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

  const codec = await benchCodec(options.ops, options.warmupOps);
  const inMemory = await benchInMemory(options.inMemoryOps);
  return {
    heldConfirmCpuUs: held.cpuUs,
    directConfirmCpuUs: direct.cpuUs,
    probeConfirmCpuUs: probe.cpuUs,
    requestsPerConfirm: callsPerConfirm(held),
    requestsPerConfirmProbe: callsPerConfirm(probe),
    requestsPerDirectConfirm: callsPerConfirm(direct),
    payloadDecodeCpuUs,
    payloadBytes: body.length,
    codecCpuUsPerOp: codec.cpuUs,
    codecRequestsPerOp: codec.requestsPerOp,
    ...inMemory,
  };
}

/** Answers as the loopback server does (a fresh body per job request, as a socket would deliver it), at once. */
class InstantTransport implements WireTransport {
  readonly #bodies = benchJobBodies(256);
  #served = 0;
  /** Requests sent so far. */
  sent = 0;

  async send(request: WireRequest): Promise<WireResponse> {
    this.sent += 1;
    if (request.operation === 'request-job') {
      const body = this.#bodies[this.#served++ % this.#bodies.length] as Buffer;
      // A copy: the codec parses the body it is given, as it would a socket's fresh bytes.
      return { status: 201, headers: { 'content-type': 'application/json' }, body: Buffer.from(body) };
    }
    return { status: 200, headers: { 'content-type': 'text/plain', 'job-status': 'running' }, body: RUNNING };
  }

  async close(): Promise<void> {}
}

const RUNNING = Buffer.from('200');

/** CPU per job request + confirmation through the codec over {@link InstantTransport}, and requests per op. */
async function benchCodec(ops: number, warmup: number): Promise<{ cpuUs: number; requestsPerOp: number }> {
  const transport = new InstantTransport();
  const client = new RunnerApiClient({ transport, clock: systemClock });
  const cpuUs = await cpuPerOp(ops, warmup, async () => {
    const answer = await client.requestJob({ credentials: benchRunner, info: benchInfo });
    if (answer.kind !== 'job') throw new Error(`bench: expected a job, got ${answer.kind}`);
    const result = await client.updateJob(jobCredentialsOf(answer.job), { info: benchInfo, state: 'running' });
    if (result.kind !== 'succeeded') throw new Error(`bench: expected succeeded, got ${result.kind}`);
  });
  return { cpuUs, requestsPerOp: transport.sent / (warmup + ops) };
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
