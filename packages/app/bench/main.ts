/**
 * `pnpm bench` (`--quick` for a CI smoke run, `--json` for one JSON object on the last line): what a job hand-out
 * and its confirmation cost at each layer, side by side in one process, and what holding jobs costs. Figures only:
 * nothing here asserts anything about speed (timing belongs here, never in tests). Loopback 127.0.0.1 only.
 */
import { readBenchOptions, type SectionName } from './bench-options.js';
import { benchCoreOverhead } from './core-overhead.bench.js';
import { forcedGc } from './gc-meter.js';
import { benchHeldJobs } from './held-jobs.bench.js';
import { benchHttpClients } from './http-clients.bench.js';
import { benchOutages } from './outage.bench.js';
import { type BenchResults, formatReport, jsonFigures } from './report.js';
import { benchScale } from './scale.bench.js';

const options = readBenchOptions(process.argv.slice(2));
if (forcedGc() === undefined) {
  console.error('bench: run with node --expose-gc (as `pnpm bench` does): heap figures need forced collections');
}

/** Runs one section with a progress line on stderr, so stdout holds only the report. */
async function section<T>(name: SectionName, title: string, run: () => Promise<T>): Promise<T | undefined> {
  if (!options.sections.has(name)) return undefined;
  const started = performance.now();
  process.stderr.write(`bench: ${title}…`);
  const result = await run();
  process.stderr.write(` ${((performance.now() - started) / 1000).toFixed(1)} s\n`);
  // The next section starts from a collected heap, not with this one's garbage.
  forcedGc()?.();
  return result;
}

const started = performance.now();
const http = await section('http', `HTTP clients (${options.http.rounds} rounds)`, () =>
  benchHttpClients(options.http),
);
const core = await section('core', 'core overhead', () => benchCoreOverhead(options.core));
const held = await section('held', `${options.held.jobs} held jobs`, () => benchHeldJobs(options.held));
const outage = await section('outage', 'outages on the fake clock', () => benchOutages(options.outage));
const cadences = options.scale.cadences.map((cadence) => `${cadence.keepAliveIntervalMs / 1000} s`).join(' and ');
const scale = await section(
  'scale',
  `scale runs (${options.scale.jobs} held jobs over HTTP, keep-alive every ${cadences})`,
  () => benchScale(options.scale),
);
const results: BenchResults = {
  ...(http === undefined ? {} : { http }),
  ...(core === undefined ? {} : { core }),
  ...(held === undefined ? {} : { held }),
  ...(outage === undefined ? {} : { outage }),
  ...(scale === undefined ? {} : { scale }),
};
console.log(formatReport(results, options));
console.log(`\n(${((performance.now() - started) / 1000).toFixed(1)} s in all${options.quick ? ', --quick' : ''})`);
if (options.json) console.log(JSON.stringify(jsonFigures(results, options)));
