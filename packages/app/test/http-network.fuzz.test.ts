import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { HttpNetwork } from '@runner-core/adapter-http';
import { type LogFields, type Logger, NetworkError, runnerInfo, Secret } from '@runner-core/core';
import { afterAll, beforeAll, expect, test } from 'vitest';
import {
  type CaseContext,
  caseOfToken,
  ERROR_CODES,
  type FuzzCase,
  generateCase,
  LEAKED_TOKEN,
  RESULT_KINDS,
  type ServerStep,
  SMALL_JOB_BOUND,
  type SocketEnd,
} from './support/fuzz-answers.js';

/*
 * Fuzzes HttpNetwork over real loopback HTTP: a node:http server answers each call with a scripted mutation (payloads,
 * statuses, headers, framing, resets, stalls) and every case must end in a documented result kind or a NetworkError
 * with a known code, within a bound, without a token in what comes back or in a log line. Cases run sixteen at a time
 * (the deadline cases spend real time waiting on sockets), each routed by the case number its tokens embed.
 *
 * Reproduce one case: RUNNER_CORE_FUZZ_SEED=<seed> RUNNER_CORE_FUZZ_ONLY=<case> npx vitest run <this file>
 */

const SEED = parseSeed(process.env.RUNNER_CORE_FUZZ_SEED) ?? 0x5eed_f00d;
const CASES = positive(process.env.RUNNER_CORE_FUZZ_CASES) ?? 5_000;
const ONLY = (process.env.RUNNER_CORE_FUZZ_ONLY ?? '')
  .split(',')
  .map((part) => part.trim())
  .filter((part) => part !== '')
  .map(Number)
  .filter((value) => Number.isSafeInteger(value) && value >= 0);
const CONCURRENCY = 16;
/** Deadline of the `short` client: long enough for loopback, short enough that stalls cost little. */
const SHORT_DEADLINE_MS = 200;
/** No case may take longer; far above any answer's real time, far below the clients' own 60 s deadlines. */
const SETTLE_BOUND_MS = 8_000;
/** The JS heap plus what lives outside it: Buffer contents (every body, sent or received) are not in `heapUsed`. */
const MEMORY_BOUND_BYTES = 300 * 1024 * 1024;
/** With a real `gc`, what the whole run may leave behind (the clients' `last_update` map, V8's caches). */
const RETAINED_BOUND_BYTES = 48 * 1024 * 1024;

interface KnownDefect {
  readonly id: string;
  /** What is wrong, where, and how it was found. */
  readonly what: string;
  /** The case shows the defect's trigger... */
  readonly matches: (fuzzCase: FuzzCase) => boolean;
  /** ...and this problem is its symptom (any other problem of the case still fails the test). */
  readonly symptom: (problem: string) => boolean;
}

/**
 * Product defects this fuzzer found and nobody fixed yet. A matching case still runs (so the counts show it still
 * reproduces) but its symptom does not fail the test; delete an entry once the defect is fixed. Empty: the first three
 * it found (a deeply nested error `message` overflowing the stack, tokens echoed in hint headers reaching results and
 * logs, a 101 read as an answer) were fixed in core/wire (19954cf).
 */
const KNOWN_DEFECTS: readonly KnownDefect[] = [];

interface Settled {
  readonly state: 'resolved' | 'rejected' | 'hung';
  readonly value?: unknown;
  readonly error?: unknown;
  readonly ms: number;
}

/** What the server knows of a case: its script while the call is out, and every request it got, then or later. */
interface CaseTrack {
  /** Dropped once the call settles, so that no case keeps its (up to 4 MiB) bodies alive. */
  steps: readonly ServerStep[] | undefined;
  readonly scripted: number;
  hops: number;
  readonly violations: string[];
}

const tracks = new Map<number, CaseTrack>();
/**
 * `late`: a request that reached the server after its call had settled. NOTE: client and server share one event loop;
 * when it is busy (a compression bomb being built), a 200 ms deadline can fire before the server reads the request.
 * Harmless within the script; past it, it is a retry.
 */
const stats = { requests: 0, stray: 0, late: 0, foreign: 0 };
const lateViolations: string[] = [];
const openSockets = new Set<Socket>();
const leakedLogLines: string[] = [];
let server: Server;
let foreign: Server;
let context: CaseContext;
let networks: Readonly<Record<FuzzCase['network'], HttpNetwork>>;

beforeAll(async () => {
  // The clients keep idle sockets for 90 s; a server closing them after its default 5 s would race the next case.
  server = createServer({ keepAliveTimeout: 60_000 }, answer);
  foreign = createServer(answerForeign);
  for (const each of [server, foreign]) {
    each.on('connection', (socket: Socket) => {
      openSockets.add(socket);
      // Resets are the point of many cases; they must not become unhandled errors of the server.
      socket.on('error', () => {});
      socket.once('close', () => openSockets.delete(socket));
    });
    each.on('clientError', (_error, socket) => socket.destroy());
  }
  const port = await listen(server);
  const foreignPort = await listen(foreign);
  const origin = `http://127.0.0.1:${port}`;
  context = { origin, foreignOrigins: [`http://127.0.0.1:${foreignPort}`, `http://localhost:${port}`] };
  // `env: {}`: a proxy set in CI must not see (or break) loopback traffic.
  const common = { url: origin, env: {}, logger: scanningLogger };
  networks = {
    small: new HttpNetwork({ ...common, maxJobPayloadBytes: SMALL_JOB_BOUND }),
    isolated: new HttpNetwork({ ...common, maxJobPayloadBytes: SMALL_JOB_BOUND }),
    large: new HttpNetwork(common),
    short: new HttpNetwork({
      ...common,
      maxJobPayloadBytes: SMALL_JOB_BOUND,
      timeoutMs: SHORT_DEADLINE_MS,
      jobRequestTimeoutMs: SHORT_DEADLINE_MS,
    }),
  };
});

afterAll(async () => {
  await Promise.all(Object.values(networks ?? {}).map((network) => network.close()));
  for (const socket of openSockets) socket.destroy();
  await Promise.all([server, foreign].map((each) => new Promise<void>((resolve) => each?.close(() => resolve()))));
});

test(`HttpNetwork turns ${ONLY.length > 0 ? ONLY.length : CASES} mutated answers into typed results or typed errors (seed ${hex(SEED)})`, {
  timeout: 180_000,
}, async () => {
  const gc = exposedGc();
  gc?.();
  const memoryBefore = memoryInUse();
  const started = performance.now();
  const numbers = ONLY.length > 0 ? ONLY : Array.from({ length: CASES }, (_, index) => index);
  const outcomes = new Map<string, number>();
  const families = new Map<string, number>();
  const failures: string[] = [];
  const known = new Map<string, number>();
  let peakMemory = 0;
  let slowest = { ms: 0, caseNumber: -1 };
  let next = 0;

  const worker = async (): Promise<void> => {
    for (let index = next++; index < numbers.length; index = next++) {
      const caseNumber = numbers[index] ?? 0;
      const fuzzCase = generateCase(SEED, caseNumber, context);
      const track: CaseTrack = { steps: fuzzCase.steps, scripted: fuzzCase.steps.length, hops: 0, violations: [] };
      tracks.set(caseNumber, track);
      const settled = await settleWithin(invoke(networks[fuzzCase.network], fuzzCase), SETTLE_BOUND_MS);
      track.steps = undefined;
      const outcome = labelOf(settled);
      bump(outcomes, `${fuzzCase.call}:${outcome}`);
      bump(families, fuzzCase.family);
      if (settled.ms > slowest.ms) slowest = { ms: Math.round(settled.ms), caseNumber };
      const problems = [...problemsOf(fuzzCase, settled), ...track.violations];
      const unexplained = problems.filter((problem) => {
        const defect = KNOWN_DEFECTS.find((each) => each.matches(fuzzCase) && each.symptom(problem));
        if (defect !== undefined) bump(known, defect.id);
        return defect === undefined;
      });
      if (unexplained.length > 0) failures.push(report(fuzzCase, outcome, unexplained));
      if (index % 250 === 0) peakMemory = Math.max(peakMemory, memoryInUse());
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));

  const elapsedMs = Math.round(performance.now() - started);
  peakMemory = Math.max(peakMemory, memoryInUse());
  // What is left once the sockets are gone is what the run retained.
  await Promise.all(Object.values(networks).map((network) => network.close()));
  for (const socket of openSockets) socket.destroy();
  const memoryAfter = await settledMemory(gc);
  console.log(
    `[fuzz] seed=${hex(SEED)} cases=${numbers.length} time=${elapsedMs}ms requests=${stats.requests} late=${stats.late} ` +
      `slowest=${slowest.ms}ms(case ${slowest.caseNumber}) memory=${mb(memoryBefore)}→${mb(memoryAfter)}MB peak=${mb(peakMemory)}MB ` +
      `gc=${gc === undefined ? 'no' : 'yes'} known-defects=${JSON.stringify(Object.fromEntries(known))} ` +
      `outcomes=${JSON.stringify(Object.fromEntries([...outcomes].sort()))} ` +
      `families=${JSON.stringify(Object.fromEntries([...families].sort()))}`,
  );

  expect(failures, `${failures.length} case(s) failed:\n${failures.slice(0, 40).join('\n')}`).toEqual([]);
  expect(lateViolations, 'requests past their script after the call settled').toEqual([]);
  expect(leakedLogLines, 'log lines carrying a whole token, outside any case').toEqual([]);
  expect(stats.stray, 'requests that belonged to no case').toBe(0);
  expect(stats.foreign, 'requests that reached another origin').toBe(0);
  // Every case sends at least one request over the socket: the answers really went through HttpNetwork's transport.
  expect(stats.requests).toBeGreaterThanOrEqual(numbers.length);
  expect(memoryAfter).toBeLessThan(MEMORY_BOUND_BYTES);
  if (gc !== undefined) expect(memoryAfter - memoryBefore).toBeLessThan(RETAINED_BOUND_BYTES);
});

// ---------------------------------------------------------------------------------------------------------------
// The calls and the checks

const info = runnerInfo();

function invoke(network: HttpNetwork, fuzzCase: FuzzCase): Promise<unknown> {
  const job = { id: fuzzCase.jobId, token: new Secret(fuzzCase.jobToken) };
  switch (fuzzCase.call) {
    case 'requestJob':
      return network.requestJob({
        credentials: { token: new Secret(fuzzCase.runnerToken), systemId: 's_0123456789ab' },
        info,
      });
    case 'updateJob':
      return network.updateJob(job, {
        info,
        state: fuzzCase.update.state,
        ...(fuzzCase.update.state === 'failed' ? { failureReason: 'script_failure', exitCode: 1 } : {}),
        output: { checksum: 'crc32:0badc0de', bytesize: 12 },
      });
    case 'postRunnerStatus':
      return network.postRunnerStatus(job, {
        info,
        status: fuzzCase.update.state === 'pending' ? 'pending' : 'running',
      });
    case 'patchTrace':
      return network.patchTrace(job, {
        content: new Uint8Array(fuzzCase.patch.length).fill(0x61),
        offset: fuzzCase.patch.offset,
      });
  }
}

function settleWithin(promise: Promise<unknown>, boundMs: number): Promise<Settled> {
  const started = performance.now();
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve({ state: 'hung', ms: performance.now() - started }), boundMs);
    promise.then(
      (value: unknown) => {
        clearTimeout(timer);
        resolve({ state: 'resolved', value, ms: performance.now() - started });
      },
      (error: unknown) => {
        clearTimeout(timer);
        resolve({ state: 'rejected', error, ms: performance.now() - started });
      },
    );
  });
}

/** A result's kind, an error's code, or what went wrong instead. */
function labelOf(settled: Settled): string {
  if (settled.state === 'hung') return 'hung';
  if (settled.state === 'resolved') {
    const kind = isRecord(settled.value) ? settled.value.kind : undefined;
    return typeof kind === 'string' ? kind : 'untyped-result';
  }
  const { error } = settled;
  if (error instanceof NetworkError) return error.code;
  return `untyped-error:${error instanceof Error ? error.name : typeof error}`;
}

function problemsOf(fuzzCase: FuzzCase, settled: Settled): string[] {
  const problems: string[] = [];
  const label = labelOf(settled);
  if (settled.state === 'hung') {
    problems.push(`hang: did not settle within ${SETTLE_BOUND_MS} ms`);
    return problems;
  }
  if (settled.state === 'resolved') {
    if (!RESULT_KINDS[fuzzCase.call].includes(label)) problems.push(`resolved to an undocumented kind "${label}"`);
    const leaked = tokensIn(settled.value, fuzzCase, label === 'job' && fuzzCase.serverExposesJobToken);
    if (leaked.length > 0) problems.push(`leak: the result carries the ${leaked.join(' and ')}`);
  } else {
    const { error } = settled;
    if (!(error instanceof NetworkError) || !ERROR_CODES.includes(error.code)) {
      problems.push(`untyped error: ${describeError(error, fuzzCase)}`);
    } else {
      const leaked = tokensInMessages(error, fuzzCase);
      if (leaked.length > 0)
        problems.push(`leak: the ${error.code} error's message carries the ${leaked.join(' and ')}`);
    }
  }
  if (!fuzzCase.allowed.includes(label)) {
    const detail = settled.state === 'rejected' ? ` (${describeError(settled.error, fuzzCase)})` : '';
    problems.push(`outcome "${label}"${detail}, expected one of ${fuzzCase.allowed.join(', ')}`);
  }
  return problems;
}

function tokensIn(value: unknown, fuzzCase: FuzzCase, jobTokenExposedByServer: boolean): string[] {
  const leaked: string[] = [];
  if (containsText(value, fuzzCase.runnerToken)) leaked.push('runner token');
  if (!jobTokenExposedByServer && containsText(value, fuzzCase.jobToken)) leaked.push('job token');
  return leaked;
}

/**
 * The error's message and stack, every message along its `cause` chain, and its own fields serialized (a
 * `MalformedResponseError` carries the job's credentials: its token must stay a Secret).
 */
function tokensInMessages(error: Error, fuzzCase: FuzzCase): string[] {
  let text = '';
  let current: unknown = error;
  for (let depth = 0; depth < 8 && current instanceof Error; depth++) {
    text += `${current.message}\n${String(current.stack)}\n`;
    try {
      text += `${JSON.stringify(current)}\n`;
    } catch {
      text += '(unserializable)\n';
    }
    current = current.cause;
  }
  return [
    ...(text.includes(fuzzCase.runnerToken) ? ['runner token'] : []),
    ...(text.includes(fuzzCase.jobToken) ? ['job token'] : []),
  ];
}

/**
 * Whether a value shows `needle` when serialized. JSON.stringify overflows the stack on the deeply nested unknown
 * fields some payloads carry, so fall back to an explicit walk (Secrets show nothing either way).
 */
function containsText(value: unknown, needle: string): boolean {
  try {
    return (JSON.stringify(value) ?? '').includes(needle);
  } catch {
    const seen = new Set<unknown>();
    const stack: unknown[] = [value];
    for (let item = stack.pop(); item !== undefined || stack.length > 0; item = stack.pop()) {
      if (typeof item === 'string' && item.includes(needle)) return true;
      if (typeof item !== 'object' || item === null || seen.has(item) || item instanceof Secret) continue;
      seen.add(item);
      for (const [key, child] of Object.entries(item)) {
        if (key.includes(needle)) return true;
        stack.push(child);
      }
    }
    return false;
  }
}

function describeError(error: unknown, fuzzCase: FuzzCase): string {
  const text =
    error instanceof Error
      ? `${error.name}${error instanceof NetworkError ? ` ${error.code}` : ''}: ${error.message.slice(0, 300)}`
      : String(error);
  return text.split(fuzzCase.runnerToken).join('<runner token>').split(fuzzCase.jobToken).join('<job token>');
}

function report(fuzzCase: FuzzCase, outcome: string, problems: readonly string[]): string {
  return (
    `  case ${fuzzCase.caseNumber} (seed ${hex(fuzzCase.seed)}) ${fuzzCase.call} via ${fuzzCase.network} client, ` +
    `${fuzzCase.family}${fuzzCase.tags.length > 0 ? ` [${fuzzCase.tags.join(', ')}]` : ''}: ` +
    `${fuzzCase.detail.slice(0, 300)} → ${outcome}: ${problems.join('; ')}\n` +
    `    reproduce: RUNNER_CORE_FUZZ_SEED=${hex(fuzzCase.seed)} RUNNER_CORE_FUZZ_ONLY=${fuzzCase.caseNumber} ` +
    'npx vitest run packages/app/test/http-network.fuzz.test.ts'
  );
}

// ---------------------------------------------------------------------------------------------------------------
// The servers

function answer(request: IncomingMessage, response: ServerResponse): void {
  stats.requests++;
  const token = headerText(request.headers['runner-token']) ?? headerText(request.headers['job-token']);
  const caseNumber = caseOfToken(token);
  const track = caseNumber === undefined ? undefined : tracks.get(caseNumber);
  if (track === undefined) {
    stats.stray++;
    response.writeHead(599, { Connection: 'close' }).end();
    return;
  }
  const violations = track.steps === undefined ? lateViolations : track.violations;
  const host = new URL(context.origin).host;
  if (request.headers.host !== host) {
    violations.push(`case ${caseNumber}: a redirect to another origin was followed (Host: ${request.headers.host})`);
  }
  track.hops++;
  if (track.hops > track.scripted) {
    violations.push(`case ${caseNumber}: request ${track.hops} arrived; the script had ${track.scripted} (a retry?)`);
  }
  const step = track.steps?.[track.hops - 1];
  if (step === undefined) {
    if (track.steps === undefined) stats.late++;
    response.writeHead(599, { Connection: 'close' }).end();
    return;
  }
  request.on('error', () => {});
  request.resume();
  request.once('end', () => perform(step, request, response));
}

function perform(step: ServerStep, request: IncomingMessage, response: ServerResponse): void {
  // NOTE: the request's socket, not the response's: after a raw answer node:http never sees finish (a 101 the client
  // pooled, say), it queues the next response and leaves `response.socket` null.
  const socket = request.socket;
  if (socket.destroyed) return;
  switch (step.type) {
    case 'respond':
      response.writeHead(step.status, step.headers.flat());
      response.end(step.body);
      return;
    case 'raw':
      for (const chunk of step.chunks) socket.write(chunk);
      leave(socket, step.finish);
      return;
    case 'silent':
      leave(socket, step.finish);
      return;
  }
}

function leave(socket: Socket, how: SocketEnd): void {
  switch (how) {
    case 'end':
      socket.end();
      return;
    case 'reset':
      socket.resetAndDestroy();
      return;
    case 'stall':
      return;
    case 'trickle': {
      // A body that never stops arriving: only a deadline for the whole exchange ends it.
      const timer = setInterval(() => {
        if (socket.destroyed) clearInterval(timer);
        else socket.write('x');
      }, 20);
      socket.once('close', () => clearInterval(timer));
      return;
    }
  }
}

/** Another origin on loopback: reaching it means a redirect took a token where it must not go. */
function answerForeign(request: IncomingMessage, response: ServerResponse): void {
  stats.foreign++;
  const token = headerText(request.headers['runner-token']) ?? headerText(request.headers['job-token']);
  const caseNumber = caseOfToken(token);
  const track = tracks.get(caseNumber ?? -1);
  const violations = track?.steps === undefined ? lateViolations : track.violations;
  violations.push(`case ${caseNumber}: a request (with its token) reached another origin`);
  request.resume();
  response.writeHead(200, { 'Content-Type': 'application/json', Connection: 'close' }).end('{}');
}

/**
 * Fails any log line that carries a whole token of the run (the short form is logged by design). The token names its
 * case, so the leak is charged to that case (and may be a known defect there).
 */
const scanningLogger: Logger = (() => {
  const scan = (level: string, bindings: LogFields) => (message: string, fields?: LogFields) => {
    let text: string;
    try {
      text = `${message} ${JSON.stringify({ ...bindings, ...fields })}`;
    } catch {
      text = `${message} (unserializable fields)`;
    }
    const leaked = LEAKED_TOKEN.exec(text);
    if (leaked === null) return;
    const track = tracks.get(caseOfToken(leaked[0]) ?? -1);
    const line = `leak: a ${level} log line carries a whole token ("${message}")`;
    if (track?.steps !== undefined) track.violations.push(line);
    else if (leakedLogLines.length < 20) leakedLogLines.push(line);
  };
  const make = (bindings: LogFields): Logger => ({
    debug: scan('debug', bindings),
    info: scan('info', bindings),
    warn: scan('warn', bindings),
    error: scan('error', bindings),
    child: (more) => make({ ...bindings, ...more }),
  });
  return make({});
})();

// ---------------------------------------------------------------------------------------------------------------
// Small helpers

function listen(each: Server): Promise<number> {
  return new Promise((resolve, reject) => {
    each.once('error', reject);
    each.listen(0, '127.0.0.1', () => resolve((each.address() as AddressInfo).port));
  });
}

function headerText(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function bump(counts: Map<string, number>, key: string): void {
  counts.set(key, (counts.get(key) ?? 0) + 1);
}

function parseSeed(text: string | undefined): number | undefined {
  if (text === undefined || text.trim() === '') return undefined;
  const value = Number(text.trim());
  if (!Number.isSafeInteger(value)) throw new Error(`RUNNER_CORE_FUZZ_SEED must be an integer, got ${text}`);
  return value >>> 0;
}

function positive(text: string | undefined): number | undefined {
  if (text === undefined || text.trim() === '') return undefined;
  const value = Number(text.trim());
  if (!Number.isSafeInteger(value) || value <= 0)
    throw new Error(`RUNNER_CORE_FUZZ_CASES must be positive, got ${text}`);
  return value;
}

function hex(value: number): string {
  return `0x${value.toString(16)}`;
}

/** Memory in use after garbage collection; a Buffer's contents are freed only after its wrapper was collected. */
async function settledMemory(gc: (() => void) | undefined): Promise<number> {
  gc?.();
  await new Promise<void>((resolve) => setImmediate(resolve));
  gc?.();
  return memoryInUse();
}

function memoryInUse(): number {
  const { heapUsed, external } = process.memoryUsage();
  return heapUsed + external;
}

function mb(bytes: number): number {
  return Math.round(bytes / 1024 / 1024);
}

/**
 * A real `gc()`, so the heap can be compared without garbage in it. Vitest's workers run without --expose-gc; the
 * flag can still be set at run time and the function fetched from a fresh context. Undefined if that fails.
 */
function exposedGc(): (() => void) | undefined {
  const existing: unknown = Reflect.get(globalThis, 'gc');
  if (typeof existing === 'function') return () => void existing();
  try {
    setFlagsFromString('--expose-gc');
    const fetched: unknown = runInNewContext('gc');
    return typeof fetched === 'function' ? () => void fetched() : undefined;
  } catch {
    return undefined;
  }
}
