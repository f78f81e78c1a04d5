/**
 * `pnpm bench`: what one confirmation costs, from the bare core to real loopback HTTP. Prints figures and ratios;
 * asserts nothing about speed (timing belongs here, never in tests). Bounded loops on 127.0.0.1 only.
 */
import { createInMemoryNetwork, FakeGitLab, FakeGitLabServer } from '@runner-core/adapter-fake';
import { createHttpNetwork } from '@runner-core/adapter-http';
import { JobConfirmation, type JobPayload, type Network, runnerInfo, Secret, systemClock } from '@runner-core/core';
import { FakeClock, jobAnswer, ScriptedNetwork } from '@runner-core/core/testing';
import { decodeJobPayload } from '@runner-core/core/wire';

interface Figure {
  readonly name: string;
  readonly ops: number;
  readonly ms: number;
  readonly requestsPerOp?: number;
}

const figures: Figure[] = [];
const info = runnerInfo();

async function measure(name: string, ops: number, run: () => Promise<number | undefined>): Promise<Figure> {
  const started = performance.now();
  const requests = await run();
  const figure: Figure = {
    name,
    ops,
    ms: performance.now() - started,
    ...(requests === undefined ? {} : { requestsPerOp: requests / ops }),
  };
  figures.push(figure);
  return figure;
}

function payloads(count: number): JobPayload[] {
  return Array.from({ length: count }, (_, index) =>
    decodeJobPayload({ id: index + 1, token: `glcbt-bench-${index}` }),
  );
}

/** The core alone: a network that answers 200 at once. */
async function benchCore(count: number): Promise<void> {
  const network = new ScriptedNetwork();
  const confirmation = new JobConfirmation({ network, clock: systemClock }, { info });
  const jobs = payloads(count);
  // Warm-up, so the JIT does not dominate the first figure.
  for (const job of jobs.slice(0, 200)) await confirmation.confirm(job);
  network.calls.length = 0;
  await measure('core only (scripted network)', count, async () => {
    for (const job of jobs) await confirmation.confirm(job);
    return network.calls.length;
  });
}

/** Hand-out plus confirmation through one network against a fake GitLab. */
async function handOutAndConfirm(
  network: Network,
  gitlab: FakeGitLab,
  count: number,
  concurrency: number,
): Promise<number> {
  const credentials = { token: new Secret(gitlab.runnerToken), systemId: 's_bench0000001' };
  const confirmation = new JobConfirmation({ network, clock: systemClock }, { info });
  for (let index = 0; index < count; index++) gitlab.enqueueJob();
  const before = gitlab.requests('update-job').length;
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < count) {
      next += 1;
      const answer = await network.requestJob({ credentials, info });
      if (answer.kind !== 'job') throw new Error(`bench: expected a job, got ${answer.kind}`);
      const outcome = await confirmation.confirm(answer.job);
      if (outcome.kind !== 'confirmed') throw new Error(`bench: expected confirmed, got ${outcome.kind}`);
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  return gitlab.requests('update-job').length - before;
}

async function benchInMemory(count: number): Promise<void> {
  const gitlab = new FakeGitLab({ profile: 'two-phase', requestLogLimit: count * 4 });
  const network = createInMemoryNetwork({ gitlab });
  await handOutAndConfirm(network, gitlab, 200, 1);
  await measure('in-memory fake (request + confirm)', count, () => handOutAndConfirm(network, gitlab, count, 1));
}

async function benchHttp(count: number, concurrency: number): Promise<void> {
  const gitlab = new FakeGitLab({ profile: 'two-phase', requestLogLimit: count * 4 });
  const server = await FakeGitLabServer.start({ gitlab });
  const network = createHttpNetwork({ url: server.url });
  try {
    await handOutAndConfirm(network, gitlab, 100, concurrency);
    await measure(`loopback HTTP, concurrency ${concurrency} (request + confirm)`, count, () =>
      handOutAndConfirm(network, gitlab, count, concurrency),
    );
  } finally {
    network.close();
    await server.close();
  }
}

/** Memory held per pending job (keep-alive loop, prepare timer, handle), measured on a fake clock. */
async function benchPendingMemory(count: number): Promise<number> {
  const clock = new FakeClock();
  const network = new ScriptedNetwork(() => clock.now()).onUpdateJob(jobAnswer('succeeded'));
  const confirmation = new JobConfirmation({ network, clock }, { info });
  const jobs = payloads(count);
  const gc = (globalThis as { gc?: () => void }).gc;
  gc?.();
  const before = process.memoryUsage().heapUsed;
  const pending = jobs.map((job) => confirmation.receive(job));
  gc?.();
  const perJob = (process.memoryUsage().heapUsed - before) / count;
  await clock.run(Promise.all(pending.map((job) => job.confirm())));
  return perJob;
}

function row(cells: readonly string[], widths: readonly number[]): string {
  return cells
    .map((cell, index) => (index === 0 ? cell.padEnd(widths[index] ?? 0) : cell.padStart(widths[index] ?? 0)))
    .join('  ');
}

async function main(): Promise<void> {
  await benchCore(20_000);
  await benchInMemory(5_000);
  await benchHttp(1_000, 1);
  await benchHttp(2_000, 16);
  const bytesPerPending = await benchPendingMemory(10_000);

  const widths = [50, 8, 10, 10, 13];
  console.log(row(['benchmark', 'ops', 'ops/s', 'µs/op', 'requests/op'], widths));
  for (const figure of figures) {
    console.log(
      row(
        [
          figure.name,
          String(figure.ops),
          (figure.ops / (figure.ms / 1000)).toFixed(0),
          ((figure.ms * 1000) / figure.ops).toFixed(1),
          figure.requestsPerOp === undefined ? '-' : figure.requestsPerOp.toFixed(2),
        ],
        widths,
      ),
    );
  }
  const perOp = (name: string): number => {
    const figure = figures.find((candidate) => candidate.name.startsWith(name));
    return figure === undefined ? Number.NaN : figure.ms / figure.ops;
  };
  console.log('');
  console.log(`ratio in-memory / core:                 ${(perOp('in-memory') / perOp('core')).toFixed(1)}×`);
  console.log(
    `ratio HTTP (sequential) / in-memory:    ${(perOp('loopback HTTP, concurrency 1') / perOp('in-memory')).toFixed(1)}×`,
  );
  console.log(
    `ratio HTTP sequential / concurrency 16: ${(perOp('loopback HTTP, concurrency 1') / perOp('loopback HTTP, concurrency 16')).toFixed(1)}×`,
  );
  console.log(
    `heap per pending job (10,000 held):     ${Number.isFinite(bytesPerPending) ? `${(bytesPerPending / 1024).toFixed(2)} KiB` : 'n/a'}${
      (globalThis as { gc?: unknown }).gc === undefined ? ' (run with --expose-gc for a steadier figure)' : ''
    }`,
  );
}

await main();
