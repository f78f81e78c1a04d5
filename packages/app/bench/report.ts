import { cpus, loadavg } from 'node:os';
import type { BenchOptions } from './bench-options.js';
import type { CoreFigures } from './core-overhead.bench.js';
import type { HeldJobFigures } from './held-jobs.bench.js';
import type { ClientFigures } from './http-clients.bench.js';
import type { ClientKey } from './http-clients.js';
import type { OutageFigures } from './outage.bench.js';
import type { ScaleFigures } from './scale.bench.js';
import { median, ratio, rounded } from './stats.js';

/** What each section measured; a section not run (`--only`) is absent. */
export interface BenchResults {
  readonly http?: readonly ClientFigures[];
  readonly core?: CoreFigures;
  readonly held?: HeldJobFigures;
  readonly outage?: readonly OutageFigures[];
  readonly scale?: readonly ScaleFigures[];
}

function table(headers: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = headers.map((header, column) =>
    Math.max(header.length, ...rows.map((row) => (row[column] ?? '').length)),
  );
  const line = (cells: readonly string[]): string =>
    cells
      .map((cell, column) => (column === 0 ? cell.padEnd(widths[column] ?? 0) : cell.padStart(widths[column] ?? 0)))
      .join('  ')
      .trimEnd();
  return [line(headers), line(widths.map((width) => '-'.repeat(width))), ...rows.map(line)].join('\n');
}

const fixed = (value: number, digits: number): string => (Number.isFinite(value) ? value.toFixed(digits) : 'n/a');
const times = (value: number): string => (Number.isFinite(value) ? `${value.toFixed(2)}×` : 'n/a');

function figureOf(http: readonly ClientFigures[] | undefined, key: ClientKey, concurrency: number) {
  return http?.find((figure) => figure.key === key && figure.concurrency === concurrency);
}

/**
 * The throughput of `a` against `b`: the median of their ratios round by round. NOTE: paired by round, not a ratio
 * of medians: both ran within seconds of each other in every round, so a slower round (the machine busy with
 * something else) slows both and cancels out of the ratio.
 */
function pairedRatio(a: ClientFigures | undefined, b: ClientFigures | undefined): number {
  if (a === undefined || b === undefined) return Number.NaN;
  const rounds = Math.min(a.roundOpsPerSec.length, b.roundOpsPerSec.length);
  const ratios: number[] = [];
  for (let round = 0; round < rounds; round++) {
    ratios.push(ratio(a.roundOpsPerSec[round] ?? Number.NaN, b.roundOpsPerSec[round] ?? Number.NaN));
  }
  return median(ratios.filter(Number.isFinite));
}

/** The ratios between clients at one concurrency (`NaN` when a client was not measured). */
function clientRatios(http: readonly ClientFigures[] | undefined, concurrency: number) {
  const of = (key: ClientKey) => figureOf(http, key, concurrency);
  const throughput = (a: ClientKey, b: ClientKey) => pairedRatio(of(a), of(b));
  const p99 = (key: ClientKey) => of(key)?.p99Ms ?? Number.NaN;
  return {
    httpVsAxiosThroughput: throughput('http', 'axios'),
    httpVsAxiosP99: ratio(p99('http'), p99('axios')),
    confirmVsAxiosThroughput: throughput('confirm', 'axios'),
    axiosVsRawThroughput: throughput('axios', 'raw'),
    httpVsLeanThroughput: throughput('http', 'lean'),
    confirmVsLeanThroughput: throughput('confirm', 'lean'),
    leanVsAxiosThroughput: throughput('lean', 'axios'),
  };
}

/** The core's CPU per confirmation against one bare-axios round trip (the confirmation `PUT`, sequential). */
function coreOverheadVsAxiosRtt(results: BenchResults): { readonly ratio: number; readonly rttUs: number } {
  const rttUs = (figureOf(results.http, 'axios', 1)?.confirmP50Ms ?? Number.NaN) * 1000;
  return { ratio: ratio(results.core?.heldConfirmCpuUs ?? Number.NaN, rttUs), rttUs };
}

function outageOf(results: BenchResults, outageMs: number, withRetryAfter: boolean): OutageFigures | undefined {
  return results.outage?.find(
    (figure) => figure.outageMs === outageMs && (figure.retryAfterSeconds !== undefined) === withRetryAfter,
  );
}

function tally(outcomes: Readonly<Record<string, number>>): string {
  return Object.entries(outcomes)
    .map(([kind, count]) => `${kind} ${count}`)
    .join(', ');
}

/** The tables a person reads. */
export function formatReport(results: BenchResults, options: BenchOptions): string {
  const parts: string[] = [];
  const { http, core, held, outage, scale } = results;
  if (http !== undefined) {
    parts.push(
      `HTTP clients: loopback server in a child process, ${options.http.rounds} interleaved rounds, one op = job request (${core?.payloadBytes ?? '~2200'} B payload) + confirmation PUT; CPU and GC are this (client) process; throughput ratios are medians of round-by-round ratios`,
      table(
        [
          'client',
          'in flight',
          'ops',
          'ops/s',
          'rounds ops/s',
          'p50 ms',
          'p99 ms',
          'PUT p50 ms',
          'CPU µs/op',
          'GC µs/op',
          'req/op',
        ],
        http.map((figure) => [
          figure.label,
          String(figure.concurrency),
          String(figure.ops),
          fixed(figure.opsPerSec, 0),
          figure.roundOpsPerSec.map((value) => value.toFixed(0)).join(' '),
          fixed(figure.p50Ms, 2),
          fixed(figure.p99Ms, 2),
          fixed(figure.confirmP50Ms, 2),
          fixed(figure.cpuUsPerOp, 0),
          fixed(figure.gcUsPerOp, 1),
          fixed(figure.requestsPerOp, 2),
        ]),
      ),
      table(
        ['ratio', 'in flight 1', 'in flight 16'],
        (
          [
            ['HttpNetwork / bare axios, throughput', 'httpVsAxiosThroughput'],
            ['HttpNetwork / bare axios, p99 latency', 'httpVsAxiosP99'],
            ['HttpNetwork + JobConfirmation / bare axios, throughput', 'confirmVsAxiosThroughput'],
            ['bare axios / raw node:http, throughput', 'axiosVsRawThroughput'],
            ['HttpNetwork / lean axios instance, throughput', 'httpVsLeanThroughput'],
            ['HttpNetwork + JobConfirmation / lean axios instance, throughput', 'confirmVsLeanThroughput'],
            ['lean axios instance / bare axios, throughput', 'leanVsAxiosThroughput'],
          ] as const
        ).map(([label, key]) => [label, times(clientRatios(http, 1)[key]), times(clientRatios(http, 16)[key])]),
      ),
    );
  }
  if (core !== undefined) {
    const overhead = coreOverheadVsAxiosRtt(results);
    parts.push(
      'Core alone: scripted network answering at once, systemClock',
      table(
        ['what', 'CPU µs/op', 'requests/op'],
        [
          ['receive(job).confirm()', fixed(core.heldConfirmCpuUs, 1), fixed(core.requestsPerConfirm, 2)],
          [
            'receive(job).confirm(), probe: true',
            fixed(core.probeConfirmCpuUs, 1),
            fixed(core.requestsPerConfirmProbe, 2),
          ],
          ['confirm(job) (no hold)', fixed(core.directConfirmCpuUs, 1), fixed(core.requestsPerDirectConfirm, 2)],
          [
            `decode one job payload (${core.payloadBytes} B, bytes → JobPayload)`,
            fixed(core.payloadDecodeCpuUs, 1),
            '-',
          ],
          [
            'codec over an instant transport: job request + confirmation PUT',
            fixed(core.codecCpuUsPerOp, 1),
            fixed(core.codecRequestsPerOp, 2),
          ],
          [
            'in-memory fake: job request + confirm (wall µs/op)',
            fixed(core.inMemoryUsPerOp, 0),
            fixed(core.inMemoryRequestsPerOp, 2),
          ],
        ],
      ),
      `core overhead vs one bare-axios round trip (${fixed(overhead.rttUs, 0)} µs, sequential PUT p50): ${times(overhead.ratio)}`,
    );
  }
  if (held !== undefined) {
    parts.push(
      `Held pending jobs: ${held.jobs} jobs received, not confirmed (keep-alive loop + prepare timer each)`,
      table(
        ['figure', 'value'],
        [
          ['heap per held job beyond its payload, FakeClock (bytes)', fixed(held.heapBytesFakeClock, 0)],
          ['heap per held job beyond its payload, systemClock (bytes)', fixed(held.heapBytesSystemClock, 0)],
          ['the same after its first keep-alive, FakeClock (bytes)', fixed(held.heapBytesAfterKeepAlive, 0)],
          ['timers per held job', fixed(held.timersPerJob, 2)],
          [`one keep-alive round on FakeClock, all ${held.jobs} jobs (ms)`, fixed(held.fakeClockRoundMs, 0)],
          ['keep-alives per job in that round', fixed(held.keepAlivesPerJobInRound, 2)],
          [`confirming all ${held.jobs} on FakeClock (ms)`, fixed(held.fakeClockConfirmAllMs, 0)],
        ],
      ),
    );
  }
  if (outage !== undefined) {
    parts.push(
      `Outage on the fake clock: ${outage[0]?.jobs ?? 0} jobs handed out, then every PUT answers 503, confirmed through one ServerGate via InMemoryNetwork + FakeGitLab (two-phase)`,
      table(
        ['outage', 'Retry-After', 'PUTs/job during', 'PUTs/job total', 'recovery → last confirmed (ms)', 'outcomes'],
        outage.map((figure) => [
          `${figure.outageMs / 1000} s`,
          figure.retryAfterSeconds === undefined ? 'none' : `${figure.retryAfterSeconds} s`,
          fixed(figure.requestsPerJobDuringOutage, 3),
          fixed(figure.requestsPerJobTotal, 3),
          fixed(figure.recoveryMs, 0),
          tally(figure.outcomes),
        ]),
      ),
    );
  }
  for (const run of scale ?? []) parts.push(...scaleReport(run));
  return parts.join('\n\n');
}

function scaleReport(scale: ScaleFigures): string[] {
  return [
    `Scale: ${scale.jobs} held jobs, HttpNetwork → FakeGitLabServer (child process), systemClock, keep-alive every ${scale.keepAliveIntervalMs / 1000} s, ack window ${scale.ackWindowMs / 1000} s (the fake's ${scale.serverAckWindowMs / 1000} s), deadline margin ${scale.deadlineMarginMs} ms; jobs handed out first, then received evenly over one interval`,
    table(
      ['figure', 'value'],
      [
        [`hand-out of ${scale.jobs} jobs before holding them, 16 in flight (ms)`, fixed(scale.handOutMs, 0)],
        ['keep-alives per second the held jobs ask for', fixed(scale.demandPerSec, 0)],
        [
          `keep-alives answered per second (over ${fixed(scale.holdMs / 1000, 1)} s held)`,
          fixed(scale.requestsPerSec, 0),
        ],
        [
          'keep-alive sent → answered p50 / p99 (ms)',
          `${fixed(scale.keepAliveP50Ms, 1)} / ${fixed(scale.keepAliveP99Ms, 1)}`,
        ],
        [
          'event-loop delay p50 / p99 / max (ms)',
          `${fixed(scale.loopDelayP50Ms, 1)} / ${fixed(scale.loopDelayP99Ms, 1)} / ${fixed(scale.loopDelayMaxMs, 1)}`,
        ],
        [
          'CPU while holding, runner / fake server (% of a core)',
          `${fixed(scale.runnerCpuPercent, 0)} / ${fixed(scale.serverCpuPercent, 0)}`,
        ],
        ['peak RSS (MiB)', fixed(scale.rssMb, 0)],
        ['heap used / live after GC (MiB)', `${fixed(scale.heapUsedMb, 0)} / ${fixed(scale.liveHeapMb, 0)}`],
        ['keep-alive answers', tally(scale.keepAliveAnswers)],
        ['jobs settled while held (gone, unreachable…)', String(scale.settledWhileHeld)],
        ['retries scheduled', tally(scale.retries) || 'none'],
        [`confirming all at once (ms): outcomes`, `${fixed(scale.confirmAllMs, 0)}: ${tally(scale.outcomes)}`],
      ],
    ),
  ];
}

function scaleJson(scale: ScaleFigures) {
  return {
    jobs: scale.jobs,
    keep_alive_interval_ms: scale.keepAliveIntervalMs,
    hold_ms: rounded(scale.holdMs, 0),
    demand_per_sec: rounded(scale.demandPerSec, 0),
    requests_per_sec: rounded(scale.requestsPerSec, 0),
    keep_alive_p50_ms: rounded(scale.keepAliveP50Ms, 1),
    keep_alive_p99_ms: rounded(scale.keepAliveP99Ms, 1),
    loop_delay_p50_ms: rounded(scale.loopDelayP50Ms, 1),
    loop_delay_p99_ms: rounded(scale.loopDelayP99Ms, 1),
    loop_delay_max_ms: rounded(scale.loopDelayMaxMs, 1),
    runner_cpu_percent: rounded(scale.runnerCpuPercent, 0),
    server_cpu_percent: rounded(scale.serverCpuPercent, 0),
    rss_mb: rounded(scale.rssMb, 0),
    live_heap_mb: rounded(scale.liveHeapMb, 0),
    hand_out_ms: rounded(scale.handOutMs, 0),
    settled_while_held: scale.settledWhileHeld,
    keep_alive_answers: scale.keepAliveAnswers,
    retries: scale.retries,
    outcomes: scale.outcomes,
  };
}

function clientJson(figure: ClientFigures | undefined) {
  if (figure === undefined) return null;
  return {
    ops_per_sec: rounded(figure.opsPerSec, 0),
    p50_ms: rounded(figure.p50Ms, 3),
    p99_ms: rounded(figure.p99Ms, 3),
    put_p50_ms: rounded(figure.confirmP50Ms, 3),
    cpu_us_per_op: rounded(figure.cpuUsPerOp, 1),
    gc_us_per_op: rounded(figure.gcUsPerOp, 1),
    requests_per_op: rounded(figure.requestsPerOp, 2),
  };
}

/** The one JSON object of `--json`: the agreed keys first, then the details they come from. */
export function jsonFigures(results: BenchResults, options: BenchOptions): Record<string, unknown> {
  const at16 = clientRatios(results.http, 16);
  const at1 = clientRatios(results.http, 1);
  const overhead = coreOverheadVsAxiosRtt(results);
  const outage60 = outageOf(results, 60_000, false);
  const outage60RetryAfter = outageOf(results, 60_000, true);
  const outage90 = outageOf(results, 90_000, false);
  const outage90RetryAfter = outageOf(results, 90_000, true);
  const { core, held } = results;
  // The flat scale_* keys are the stress cadence's (the first run), as before; every run is under scale_runs.
  const scale = results.scale?.[0];
  const atDefaultCadence = results.scale?.find((run) => run.keepAliveIntervalMs === 30_000);
  const clients: Record<string, unknown> = {};
  for (const key of ['raw', 'axios', 'lean', 'http', 'confirm'] as const) {
    clients[key] = { c1: clientJson(figureOf(results.http, key, 1)), c16: clientJson(figureOf(results.http, key, 16)) };
  }
  return {
    http_vs_axios_throughput: rounded(at16.httpVsAxiosThroughput, 3),
    http_vs_axios_p99: rounded(at16.httpVsAxiosP99, 3),
    confirm_vs_axios_throughput: rounded(at16.confirmVsAxiosThroughput, 3),
    axios_vs_raw_throughput: rounded(at16.axiosVsRawThroughput, 3),
    core_overhead_vs_axios_rtt: rounded(overhead.ratio, 4),
    held_job_heap_bytes: rounded(held?.heapBytesFakeClock ?? Number.NaN, 0),
    requests_per_confirm: rounded(core?.requestsPerConfirm ?? Number.NaN, 2),
    outage_requests_per_job: rounded(outage60?.requestsPerJobDuringOutage ?? Number.NaN, 3),
    outage_recovery_ms: rounded(outage60?.recoveryMs ?? Number.NaN, 0),
    outage_90s_unreachable: outage90 === undefined ? null : (outage90.outcomes.unreachable ?? 0),
    scale_10k_loop_delay_p99_ms: rounded(scale?.loopDelayP99Ms ?? Number.NaN, 1),
    scale_10k_loop_delay_p99_ms_at_30s: rounded(atDefaultCadence?.loopDelayP99Ms ?? Number.NaN, 1),

    http_vs_axios_throughput_c1: rounded(at1.httpVsAxiosThroughput, 3),
    http_vs_axios_p99_c1: rounded(at1.httpVsAxiosP99, 3),
    confirm_vs_axios_throughput_c1: rounded(at1.confirmVsAxiosThroughput, 3),
    axios_vs_raw_throughput_c1: rounded(at1.axiosVsRawThroughput, 3),
    http_vs_lean_axios_throughput: rounded(at16.httpVsLeanThroughput, 3),
    http_vs_lean_axios_throughput_c1: rounded(at1.httpVsLeanThroughput, 3),
    confirm_vs_lean_axios_throughput: rounded(at16.confirmVsLeanThroughput, 3),
    confirm_vs_lean_axios_throughput_c1: rounded(at1.confirmVsLeanThroughput, 3),
    lean_vs_axios_throughput: rounded(at16.leanVsAxiosThroughput, 3),
    lean_vs_axios_throughput_c1: rounded(at1.leanVsAxiosThroughput, 3),
    clients,
    axios_rtt_us: rounded(overhead.rttUs, 0),
    core_confirm_cpu_us: rounded(core?.heldConfirmCpuUs ?? Number.NaN, 1),
    core_direct_confirm_cpu_us: rounded(core?.directConfirmCpuUs ?? Number.NaN, 1),
    core_probe_confirm_cpu_us: rounded(core?.probeConfirmCpuUs ?? Number.NaN, 1),
    requests_per_confirm_probe: rounded(core?.requestsPerConfirmProbe ?? Number.NaN, 2),
    payload_decode_cpu_us: rounded(core?.payloadDecodeCpuUs ?? Number.NaN, 1),
    payload_bytes: core?.payloadBytes ?? null,
    codec_cpu_us_per_op: rounded(core?.codecCpuUsPerOp ?? Number.NaN, 1),
    in_memory_us_per_op: rounded(core?.inMemoryUsPerOp ?? Number.NaN, 0),
    held_jobs: held?.jobs ?? null,
    held_job_heap_bytes_system_clock: rounded(held?.heapBytesSystemClock ?? Number.NaN, 0),
    held_job_heap_bytes_after_keep_alive: rounded(held?.heapBytesAfterKeepAlive ?? Number.NaN, 0),
    timers_per_held_job: rounded(held?.timersPerJob ?? Number.NaN, 2),
    fakeclock_10k_round_ms: rounded(held?.fakeClockRoundMs ?? Number.NaN, 0),
    fakeclock_10k_confirm_all_ms: rounded(held?.fakeClockConfirmAllMs ?? Number.NaN, 0),
    outage_jobs: outage60?.jobs ?? null,
    outage_requests_per_job_total: rounded(outage60?.requestsPerJobTotal ?? Number.NaN, 3),
    outage_retry_after_requests_per_job: rounded(outage60RetryAfter?.requestsPerJobDuringOutage ?? Number.NaN, 3),
    outage_retry_after_recovery_ms: rounded(outage60RetryAfter?.recoveryMs ?? Number.NaN, 0),
    outage_90s_recovery_ms: rounded(outage90?.recoveryMs ?? Number.NaN, 0),
    outage_90s_outcomes: outage90?.outcomes ?? null,
    outage_90s_retry_after_unreachable:
      outage90RetryAfter === undefined ? null : (outage90RetryAfter.outcomes.unreachable ?? 0),
    scale_jobs: scale?.jobs ?? null,
    scale_requests_per_sec: rounded(scale?.requestsPerSec ?? Number.NaN, 0),
    scale_settled_while_held: scale?.settledWhileHeld ?? null,
    scale_demand_per_sec: rounded(scale?.demandPerSec ?? Number.NaN, 0),
    scale_keep_alive_p99_ms: rounded(scale?.keepAliveP99Ms ?? Number.NaN, 1),
    scale_rss_mb: rounded(scale?.rssMb ?? Number.NaN, 0),
    scale_live_heap_mb: rounded(scale?.liveHeapMb ?? Number.NaN, 0),
    scale_loop_delay_max_ms: rounded(scale?.loopDelayMaxMs ?? Number.NaN, 1),
    scale_runner_cpu_percent: rounded(scale?.runnerCpuPercent ?? Number.NaN, 0),
    scale_server_cpu_percent: rounded(scale?.serverCpuPercent ?? Number.NaN, 0),
    scale_hand_out_ms: rounded(scale?.handOutMs ?? Number.NaN, 0),
    scale_keep_alive_answers: scale?.keepAliveAnswers ?? null,
    scale_retries: scale?.retries ?? null,
    scale_outcomes: scale?.outcomes ?? null,
    scale_runs: results.scale?.map(scaleJson) ?? null,
    quick: options.quick,
    rounds: options.http.rounds,
    node: process.version,
    cpus: cpus().length,
    loadavg_1m: rounded(loadavg()[0] ?? Number.NaN, 2),
  };
}
