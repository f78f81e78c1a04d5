import { brotliCompressSync, constants, deflateRawSync, deflateSync, gzipSync } from 'node:zlib';
import { aWireJob } from '@runner-core/core/simulation';
import { DEFAULT_MAX_JOB_PAYLOAD_BYTES, MAX_ANSWER_BYTES } from '@runner-core/core/wire';

/*
 * What a hostile or broken GitLab (or something in front of it) may send back to `HttpNetwork`, as deterministic
 * scripts for a loopback server. Every case draws from its own PRNG stream (the run's seed mixed with the case
 * number), so one case reproduces alone, whatever ran before it and however many ran at once.
 */

// ---------------------------------------------------------------------------------------------------------------
// Randomness

/** mulberry32: tiny, fast, and good enough to pick mutations; not for anything secret. */
export function mulberry32(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A case's own seed: neighbouring case numbers must not give correlated streams, hence the avalanche. */
export function caseSeed(seed: number, caseNumber: number): number {
  let h = (seed ^ Math.imul(caseNumber + 1, 0x9e3779b9)) >>> 0;
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

export class Random {
  readonly #next: () => number;

  constructor(seed: number) {
    this.#next = mulberry32(seed);
  }

  float(): number {
    return this.#next();
  }

  /** An integer in [min, max], both included. */
  int(min: number, max: number): number {
    return min + Math.floor(this.#next() * (max - min + 1));
  }

  chance(probability: number): boolean {
    return this.#next() < probability;
  }

  pick<T>(items: readonly T[]): T {
    const item = items[this.int(0, items.length - 1)];
    if (item === undefined) throw new Error('pick from an empty list');
    return item;
  }

  weighted<T>(entries: ReadonlyArray<readonly [T, number]>): T {
    const total = entries.reduce((sum, [, weight]) => sum + weight, 0);
    let roll = this.#next() * total;
    for (const [value, weight] of entries) {
      roll -= weight;
      if (roll < 0) return value;
    }
    const last = entries[entries.length - 1];
    if (last === undefined) throw new Error('weighted pick from an empty list');
    return last[0];
  }

  hex(length: number): string {
    let text = '';
    while (text.length < length) text += this.int(0, 15).toString(16);
    return text;
  }

  bytes(length: number): Buffer {
    const out = Buffer.alloc(length);
    for (let index = 0; index < length; index++) out[index] = this.int(0, 255);
    return out;
  }
}

// ---------------------------------------------------------------------------------------------------------------
// What a case is

export type FuzzCall = 'requestJob' | 'updateJob' | 'postRunnerStatus' | 'patchTrace';

/**
 * Which client a case talks through: the bounds and deadlines differ, the rest is the same `HttpNetwork`. `isolated` is
 * `small` with a pool of its own, for answers that leave a kept-alive socket unusable (a 101) so they cannot break
 * other cases' calls.
 */
export type NetworkProfile = 'small' | 'large' | 'short' | 'isolated';

/** The job payload bound of the `small` and `short` clients: big enough for any real payload, cheap to exceed. */
export const SMALL_JOB_BOUND = 64 * 1024;

export const TRANSPORT = 'network.transport';
export const MALFORMED = 'network.malformed-response';
export const UNEXPECTED = 'network.unexpected-status';
export const TOO_LARGE = 'network.response-too-large';
export const CLIENT_CONFIG = 'network.client-config';
export const ERROR_CODES: readonly string[] = [TRANSPORT, MALFORMED, UNEXPECTED, TOO_LARGE, CLIENT_CONFIG];

const UPDATE_KINDS = [
  'succeeded',
  'accepted',
  'trace-invalid',
  'aborted',
  'conflict',
  'rejected',
  'retryable',
  'failed',
];

/** The result kinds `network.types.ts` documents for each call. */
export const RESULT_KINDS: Readonly<Record<FuzzCall, readonly string[]>> = {
  requestJob: ['job', 'no-job', 'forbidden', 'unavailable', 'rate-limited', 'failed'],
  updateJob: UPDATE_KINDS,
  postRunnerStatus: [...UPDATE_KINDS, 'unsupported'],
  patchTrace: ['succeeded', 'aborted', 'not-found', 'range-mismatch', 'retryable', 'failed'],
};

export type Header = readonly [name: string, value: string];

/** What the server does with one request of a case (a redirect chain is several requests). */
export type ServerStep =
  /** A well-formed answer, framed by `node:http` (Content-Length, keep-alive). Header values must be valid. */
  | {
      readonly type: 'respond';
      readonly status: number;
      readonly headers: readonly Header[];
      readonly body: Uint8Array;
    }
  /** Bytes written to the socket as they are (any framing, any header byte), then `finish`. */
  | { readonly type: 'raw'; readonly chunks: readonly Uint8Array[]; readonly finish: SocketEnd }
  /** No answer at all, then `finish`. */
  | { readonly type: 'silent'; readonly finish: SocketEnd };

/**
 * How the server leaves the socket: `end` (FIN), `reset` (RST), `stall` (keep it open, say nothing more), `trickle`
 * (one byte every few milliseconds, forever). The last two only go with the `short` client.
 */
export type SocketEnd = 'end' | 'reset' | 'stall' | 'trickle';

export interface FuzzCase {
  readonly seed: number;
  readonly caseNumber: number;
  readonly call: FuzzCall;
  readonly network: NetworkProfile;
  /** The kind of mutation, for the summary and for `KNOWN_DEFECTS`. */
  readonly family: string;
  /** What was sent, in a few words; never a token. */
  readonly detail: string;
  /** Marks that known defects match on. */
  readonly tags: readonly string[];
  readonly runnerToken: string;
  readonly jobToken: string;
  readonly jobId: number;
  readonly steps: readonly ServerStep[];
  /** Outcome labels (result kinds and error codes) this answer may produce. */
  readonly allowed: readonly string[];
  /**
   * The server itself put the job token where the payload does not call it secret (a variable no longer marked
   * masked): the client cannot know, so a `job` result may show it.
   */
  readonly serverExposesJobToken: boolean;
  readonly update: { readonly state: 'pending' | 'running' | 'success' | 'failed' };
  readonly patch: { readonly offset: number; readonly length: number };
}

export interface CaseContext {
  /** `http://127.0.0.1:<port>`: the GitLab the clients are configured with. */
  readonly origin: string;
  /** Other origins reachable on loopback (a redirect there must be refused, not followed). */
  readonly foreignOrigins: readonly string[];
}

/** The case number a token belongs to (tokens embed it so the server can route concurrent cases). */
export function caseOfToken(token: string | undefined): number | undefined {
  const match = token === undefined ? null : /fz(\d+)_/.exec(token);
  return match?.[1] === undefined ? undefined : Number(match[1]);
}

/**
 * A token of the run shaped like a whole one: its short form (9 characters, logged on purpose) never matches, the
 * whole token (or 20 of its hex characters) does.
 */
export const LEAKED_TOKEN = /fz\d+_[0-9a-f]{20}/;

// ---------------------------------------------------------------------------------------------------------------
// Generation

interface Draft {
  readonly family: string;
  readonly detail: string;
  readonly steps: readonly ServerStep[];
  readonly allowed: readonly string[];
  readonly network?: NetworkProfile;
  readonly tags?: readonly string[];
  readonly serverExposesJobToken?: boolean;
}

interface Tokens {
  readonly runner: string;
  readonly job: string;
  /** What this call sends, hence what a server may echo back. */
  readonly sent: string;
}

/** Case numbers at which the payload bound of the default client (4 MiB) is probed: a handful per run. */
export function isDefaultBoundCase(caseNumber: number): boolean {
  return caseNumber % 800 === 17;
}

/**
 * Case numbers that give a wrong type to the next known field of the payload in turn, so every field gets its wrong
 * types in a run of a few thousand cases whatever the random picks do.
 */
export function isFieldSweepCase(caseNumber: number): boolean {
  return caseNumber % 25 === 3;
}

export function generateCase(seed: number, caseNumber: number, context: CaseContext): FuzzCase {
  const r = new Random(caseSeed(seed, caseNumber));
  const runner = `glrt-fz${caseNumber}_${r.hex(24)}`;
  const job = `glcbt-fz${caseNumber}_${r.hex(24)}`;
  const jobId = 1000 + caseNumber;
  const call: FuzzCall =
    isDefaultBoundCase(caseNumber) || isFieldSweepCase(caseNumber)
      ? 'requestJob'
      : r.weighted<FuzzCall>([
          ['requestJob', 40],
          ['updateJob', 20],
          ['postRunnerStatus', 20],
          ['patchTrace', 20],
        ]);
  const tokens: Tokens = { runner, job, sent: call === 'requestJob' ? runner : job };
  const generator = new Generator(r, call, context, tokens, jobId);
  const draft = isDefaultBoundCase(caseNumber)
    ? generator.defaultBoundJob(Math.floor(caseNumber / 800))
    : isFieldSweepCase(caseNumber)
      ? generator.wrongTypes(Math.floor(caseNumber / 25))
      : generator.any();
  const patchLength = r.int(1, 64);
  return {
    seed,
    caseNumber,
    call,
    network: draft.network ?? 'small',
    family: draft.family,
    detail: draft.detail,
    tags: draft.tags ?? [],
    runnerToken: runner,
    jobToken: job,
    jobId,
    steps: draft.steps,
    allowed: draft.allowed,
    serverExposesJobToken: draft.serverExposesJobToken ?? false,
    update: { state: r.pick(['pending', 'running', 'success', 'failed'] as const) },
    patch: { offset: r.pick([0, r.int(1, 1_000_000)]), length: patchLength },
  };
}

const latin1 = (text: string): Buffer => Buffer.from(text, 'latin1');
const utf8 = (text: string): Buffer => Buffer.from(text, 'utf8');

/** A status line and headers as raw bytes: nothing validated, nothing added. */
export function rawHead(
  status: number | string,
  headers: readonly Header[],
  reason = 'Fuzz',
  version = 'HTTP/1.1',
): Buffer {
  let text = `${version} ${status} ${reason}\r\n`;
  for (const [name, value] of headers) text += `${name}: ${value}\r\n`;
  return latin1(`${text}\r\n`);
}

const CLOSE: Header = ['Connection', 'close'];

/** A whole raw answer on a connection the server closes, so broken framing never reaches the next case. */
function rawAnswer(status: number | string, headers: readonly Header[], body: Uint8Array): Uint8Array[] {
  return [rawHead(status, [CLOSE, ...headers, ['Content-Length', String(body.byteLength)]]), body];
}

function chunked(body: Uint8Array, pieces: number): Buffer {
  const parts: Buffer[] = [];
  const size = Math.max(1, Math.ceil(body.byteLength / pieces));
  for (let at = 0; at < body.byteLength; at += size) {
    const piece = body.subarray(at, at + size);
    parts.push(latin1(`${piece.byteLength.toString(16)}\r\n`), Buffer.from(piece), latin1('\r\n'));
  }
  return Buffer.concat(parts);
}

// Values that fit where a header value goes through `node:http` (latin1 printable)...
const JOB_STATUSES = [
  'running',
  'canceling',
  'canceled',
  'failed',
  'success',
  'pending',
  'CANCELED',
  ' canceled ',
  'canceled, canceled',
  'skipped',
  'manual',
  'unknown-status',
  '\u00e9t\u00e9',
  '{"status":"canceled"}',
];
const RETRY_AFTERS = [
  '0',
  '1',
  '7',
  '-1',
  '-30',
  '1.5',
  ' 7 ',
  '1e3',
  '0x10',
  '99999999999999999999999',
  '9'.repeat(400),
  'Wed, 21 Oct 2015 07:28:00 GMT',
  'Fri, 31 Dec 9999 23:59:59 GMT',
  'Thu, 01 Jan 1970 00:00:00 GMT',
  'Sun, 06 Nov 1994 08:49:37 GMT, Sun, 06 Nov 1994 08:49:37 GMT',
  'tomorrow',
  'NaN',
  'Infinity',
];
const RESET_TIMES = [
  'Wed, 21 Oct 2015 07:28:00 GMT',
  'Fri, 31 Dec 9999 23:59:59 GMT',
  '1700000000',
  '-1',
  'soon',
  '2024-13-45T99:99:99Z',
  '2030-01-01T00:00:00Z',
  'Mon, 32 Foo 2020 25:61:61 GMT',
];
const INTERVALS = ['3', '0', '-5', '', '  ', '60', '3.5', 'abc', '1e9', '9'.repeat(300), '-'.repeat(5), '+3', '0030'];
const RANGES = [
  '0-100',
  '0-',
  'bytes=0-5',
  '-',
  '0-99999999999999999999999',
  `0-${'9'.repeat(400)}`,
  '5-3',
  'junk',
  ' 0-10 ',
  '0-1,0-2',
];

// ...and junk only a raw answer can carry.
const JUNK_VALUES = [
  'a\u0000b',
  'tab\there',
  'bell\u0007',
  'del\u007f',
  '\u00ff\u00fe\u00fd',
  'obs\r\n fold',
  'x'.repeat(9000),
  '',
  '=?utf-8?b?Y2FuY2VsZWQ=?=',
];

const HINT_NAMES = ['Job-Status', 'Retry-After', 'RateLimit-ResetTime', 'X-GitLab-Trace-Update-Interval', 'Range'];

const JSON_CONTENT_TYPES = [
  'application/json',
  'application/json; charset=utf-8',
  'application/json;charset=UTF-8',
  'Application/JSON',
  'application/json ; charset=iso-8859-1',
  'application/json; charset=',
  'application/json;',
  'APPLICATION/JSON; CHARSET=UTF-16',
  'application/json; charset="utf-8"; boundary=x',
];
const OTHER_CONTENT_TYPES = [
  'text/html',
  'text/plain; charset=utf-8',
  'application/jsonp',
  'application/json-patch+json',
  'application/vnd.gitlab+json',
  'application/x-www-form-urlencoded',
  '',
  'json',
  'application/ json',
  'application/json, text/html',
  '*/*',
  'application/json\u00ff',
];

const DELETE: unique symbol = Symbol('delete');
type Replacement = { readonly value: unknown; readonly note: string };
type PathKey = string | number;
type Path = readonly PathKey[];

/** A quoted placeholder in serialized JSON, replaced afterwards by raw text (deep nesting, invalid literals). */
const SLOT = 'FUZZ-RAW-SLOT-';

class Generator {
  constructor(
    readonly r: Random,
    readonly call: FuzzCall,
    readonly context: CaseContext,
    readonly tokens: Tokens,
    readonly jobId: number,
  ) {}

  get kinds(): readonly string[] {
    return RESULT_KINDS[this.call];
  }

  /** The bound of every answer of this call on the `small` client. */
  get bound(): number {
    return this.call === 'requestJob' ? SMALL_JOB_BOUND : MAX_ANSWER_BYTES;
  }

  any(): Draft {
    const r = this.r;
    const family = r.weighted<() => Draft>([
      ...(this.call === 'requestJob'
        ? ([
            [() => this.wrongTypes(), 14],
            [() => this.idAndToken(), 5],
            [() => this.hugeStrings(), 2],
            [() => this.deepNesting(), 3],
            [() => this.unicode(), 3],
            [() => this.extraFields(), 4],
            [() => this.duplicateKeys(), 3],
            [() => this.truncated(), 3],
            [() => this.notJson(), 4],
            [() => this.contentTypes(), 4],
            [() => this.smallBound(), 3],
            [() => this.compressed(), 3],
          ] as const)
        : []),
      [() => this.wellFormed(), this.call === 'requestJob' ? 8 : 24],
      [() => this.junkHeaders(), this.call === 'requestJob' ? 3 : 10],
      [() => this.redirect(), this.call === 'requestJob' ? 4 : 12],
      [() => this.informational(), this.call === 'requestJob' ? 1 : 4],
      [() => this.oversized(), this.call === 'requestJob' ? 2 : 8],
      [() => this.errorBody(), this.call === 'requestJob' ? 4 : 14],
      [() => this.transport(), this.call === 'requestJob' ? 6 : 12],
      [() => this.stall(), this.call === 'requestJob' ? 1 : 2],
    ]);
    return family();
  }

  // -------------------------------------------------------------------------------------------------------------
  // The job payload (a 201 to a job request)

  payload(): Record<string, unknown> {
    const token = this.tokens.job;
    const wire = aWireJob({
      id: this.jobId,
      token,
      payload: {
        image: {
          name: 'alpine:3.20',
          entrypoint: [''],
          variables: [{ key: 'IMAGE_SECRET', value: 'image-secret-value', masked: true }],
          pull_policy: ['if-not-present'],
        },
        services: [{ name: 'postgres:16', alias: 'db', ports: [{ number: 5432, protocol: 'tcp', name: 'pg' }] }],
        credentials: [{ type: 'registry', url: 'registry.example.com', username: 'gitlab-ci-token', password: token }],
        dependencies: [
          { id: this.jobId + 1, token, name: 'compile', artifacts_file: { filename: 'artifacts.zip', size: 1024 } },
        ],
        hooks: [{ name: 'pre_get_sources_script', script: ['echo hook'] }],
        run: '[]',
      },
    });
    return structuredClone(wire) as Record<string, unknown>;
  }

  created(
    body: Uint8Array,
    /** `null`: no Content-Type header at all. */
    contentType: string | null = 'application/json',
    extra: readonly Header[] = [],
  ): ServerStep {
    const headers: Header[] = contentType === null ? [] : [['Content-Type', contentType]];
    if (this.r.chance(0.3)) headers.push(['X-GitLab-Last-Update', this.r.hex(this.r.int(0, 40))]);
    return { type: 'respond', status: 201, headers: [...headers, ...extra], body };
  }

  jobDraft(
    family: string,
    detail: string,
    payload: Record<string, unknown>,
    allowed: readonly string[],
    options: { readonly slots?: readonly string[]; readonly network?: NetworkProfile; readonly tags?: string[] } = {},
  ): Draft {
    const text = serialize(payload, options.slots ?? []);
    return {
      family,
      detail,
      steps: [this.created(utf8(text))],
      allowed,
      ...(options.network === undefined ? {} : { network: options.network }),
      ...(options.tags === undefined ? {} : { tags: options.tags }),
      serverExposesJobToken: exposesToken(payload, this.tokens.job),
    };
  }

  /** `sweep`: the turn of a field sweep case, whose first mutation hits the field of that turn. */
  wrongTypes(sweep?: number): Draft {
    const payload = this.payload();
    // Fields, not slots: `variables[0].key` and `variables[2].key` are one field, picked as often as `id`.
    const fields = new Map<string, Path[]>();
    for (const path of pathsOf(payload)) {
      const field = formatPath(path).replace(/\[\d+\]/g, '[]');
      fields.set(field, [...(fields.get(field) ?? []), path]);
    }
    const shapes = [...fields.values()];
    const notes: string[] = [];
    for (let count = this.r.int(1, 3); count > 0; count--) {
      const first = sweep !== undefined && notes.length === 0 ? shapes[sweep % shapes.length] : undefined;
      const path = this.r.pick(first ?? this.r.pick(shapes));
      const current = getAt(payload, path);
      if (current === DELETE) continue;
      const replacement = this.wrongType(current);
      setAt(payload, path, replacement.value);
      notes.push(`${formatPath(path)} → ${replacement.note}`);
    }
    const family = sweep === undefined ? 'job-wrong-type' : 'job-field-sweep';
    return this.jobDraft(family, `201 with ${notes.join(', ')}`, payload, ['job', MALFORMED]);
  }

  wrongType(current: unknown): Replacement {
    const r = this.r;
    const always: Replacement[] = [
      { value: null, note: 'null' },
      { value: DELETE, note: '(removed)' },
    ];
    if (typeof current === 'number') {
      return r.pick([
        ...always,
        { value: String(current), note: 'the number as a string' },
        { value: current + 0.5, note: 'a fraction' },
        { value: -Math.abs(current) - 1, note: 'a negative number' },
        { value: 0, note: '0' },
        { value: 1e21, note: '1e21' },
        { value: 2 ** 53 + 2, note: '2^53+2' },
        { value: Number.MAX_VALUE, note: 'MAX_VALUE' },
        { value: true, note: 'true' },
        { value: [], note: '[]' },
        { value: {}, note: '{}' },
      ]);
    }
    if (typeof current === 'string') {
      return r.pick([
        ...always,
        { value: {}, note: '{}' },
        { value: { value: 'x' }, note: 'an object' },
        { value: 42, note: '42' },
        { value: [], note: '[]' },
        { value: ['x'], note: 'a list' },
        { value: false, note: 'false' },
        { value: '', note: '""' },
      ]);
    }
    if (typeof current === 'boolean') {
      return r.pick([
        ...always,
        { value: String(current), note: 'the boolean as a string' },
        { value: 1, note: '1' },
        { value: 0, note: '0' },
        { value: [], note: '[]' },
      ]);
    }
    if (Array.isArray(current)) {
      return r.pick([
        ...always,
        { value: 'a,b', note: 'a string' },
        { value: {}, note: '{}' },
        { value: 0, note: '0' },
        { value: [null], note: '[null]' },
        { value: [[]], note: '[[]]' },
        { value: [{}], note: '[{}]' },
        { value: [42], note: '[42]' },
      ]);
    }
    if (current === null) {
      return r.pick([
        { value: 'null', note: '"null"' },
        { value: 0, note: '0' },
        { value: {}, note: '{}' },
        { value: [], note: '[]' },
        { value: DELETE, note: '(removed)' },
      ]);
    }
    return r.pick([
      ...always,
      { value: '{}', note: 'a string' },
      { value: [], note: '[]' },
      { value: 0, note: '0' },
      { value: true, note: 'true' },
    ]);
  }

  idAndToken(): Draft {
    const r = this.r;
    const payload = this.payload();
    const slots: string[] = [];
    const idVariants: ReadonlyArray<readonly [unknown, boolean, string]> = [
      [DELETE, false, 'missing id'],
      [null, false, 'id null'],
      [0, false, 'id 0'],
      [-1, false, 'id -1'],
      [-(2 ** 31), false, 'id -2^31'],
      [1.5, false, 'id 1.5'],
      [2 ** 53, false, 'id 2^53'],
      [2 ** 53 - 1, true, 'id 2^53-1'],
      [1e21, false, 'id 1e21'],
      ['42', false, 'id "42"'],
      [[], false, 'id []'],
      [{}, false, 'id {}'],
      [true, false, 'id true'],
      [1, true, 'id 1'],
      [this.jobId, true, 'id as sent'],
      [rawSlot(slots, '1e2'), true, 'id 1e2'],
      [rawSlot(slots, '1.0'), true, 'id 1.0'],
      [rawSlot(slots, '-0'), false, 'id -0'],
      [rawSlot(slots, '1E400'), false, 'id 1E400'],
      [rawSlot(slots, '123456789012345678901234567890'), false, 'id 30 digits'],
    ];
    const tokenVariants: ReadonlyArray<readonly [unknown, boolean, string]> = [
      [DELETE, false, 'missing token'],
      [null, false, 'token null'],
      ['', false, 'token ""'],
      [42, false, 'token 42'],
      [{}, false, 'token {}'],
      [[this.tokens.job], false, 'token in a list'],
      [true, false, 'token true'],
      [this.tokens.job, true, 'token as sent'],
      [' ', true, 'token " "'],
    ];
    const [id, idValid, idNote] = r.pick(idVariants);
    const [token, tokenValid, tokenNote] = r.chance(0.5) ? r.pick(tokenVariants) : [this.tokens.job, true, 'token'];
    setAt(payload, ['id'], id);
    setAt(payload, ['token'], token);
    return this.jobDraft(
      'job-id-token',
      `201 with ${idNote}, ${tokenNote}`,
      payload,
      idValid && tokenValid ? ['job'] : [MALFORMED],
      { slots },
    );
  }

  hugeStrings(): Draft {
    const r = this.r;
    const payload = this.payload();
    const size = r.int(100 * 1024, 300 * 1024);
    const huge = r.pick([
      () => 'x'.repeat(size),
      () => '\u00e9\u4e2d\ud83d\ude00'.repeat(Math.floor(size / 9)),
      () => '\\"'.repeat(Math.floor(size / 2)),
      () => '\u0000'.repeat(Math.floor(size / 6)),
    ])();
    const where = r.chance(0.4) ? undefined : r.pick(stringPaths(payload));
    if (where === undefined) {
      setAt(payload, ['x_huge'], huge);
    } else {
      setAt(payload, where, huge);
    }
    const place = where === undefined ? 'an unknown field' : formatPath(where);
    return this.jobDraft('job-huge-string', `201 with a ${size}-character string in ${place}`, payload, ['job'], {
      network: 'large',
    });
  }

  deepNesting(): Draft {
    const r = this.r;
    const payload = this.payload();
    const depth = r.int(1_000, 40_000);
    const shape = r.pick(['array', 'object', 'mixed'] as const);
    const raw = nested(shape, depth);
    const slots: string[] = [];
    const slot = rawSlot(slots, raw);
    const inUnknown = r.chance(0.5);
    const path = inUnknown ? ['x_deep'] : r.pick(pathsOf(payload));
    setAt(payload, path, slot);
    const size = raw.length + 4096;
    const network: NetworkProfile = size > SMALL_JOB_BOUND ? 'large' : 'small';
    return this.jobDraft(
      'job-deep-nesting',
      `201 with ${depth} levels of ${shape} nesting in ${inUnknown ? 'an unknown field' : formatPath(path)}`,
      payload,
      inUnknown ? ['job'] : ['job', MALFORMED],
      { slots, network },
    );
  }

  unicode(): Draft {
    const r = this.r;
    const payload = this.payload();
    const samples = [
      '\u0000',
      'nul\u0000inside',
      '\ud800',
      '\udfff\ud800',
      '\ud83d\ude00\u200d\ud83d\udd25',
      '\u202eevil\u202c',
      '\u2028\u2029',
      '\ufeffbom',
      'e\u0301\u0301\u0301',
      '\uffff\ufffe',
      '\u0001\u001f\u007f',
      '"\\/\b\f\n\r\t',
      '\u4e2d\u6587',
    ];
    const notes: string[] = [];
    const strings = stringPaths(payload);
    for (let count = r.int(1, 4); count > 0; count--) {
      const path = r.pick(strings);
      setAt(payload, path, r.pick(samples));
      notes.push(formatPath(path));
    }
    if (r.chance(0.5)) defineKey(payload, r.pick(samples), r.pick(samples));
    return this.jobDraft('job-unicode', `201 with unusual characters in ${notes.join(', ')}`, payload, ['job']);
  }

  extraFields(): Draft {
    const r = this.r;
    const payload = this.payload();
    const slots: string[] = [];
    const names = [
      '__proto__',
      'constructor',
      'prototype',
      'toString',
      'hasOwnProperty',
      'toJSON',
      'valueOf',
      '',
      ' ',
      'ID',
      'Token',
      'id ',
      'x-unknown',
      'future_field',
      '\u00fcnknown',
    ];
    const values: unknown[] = [
      null,
      0,
      -1,
      1.5,
      'text',
      true,
      [],
      {},
      { nested: { deeper: [1, 'two', null] } },
      { id: 'not an id', token: 'not the token' },
    ];
    const objects = pathsOf(payload).filter((path) => isRecord(getAt(payload, path)));
    objects.push([]);
    const notes: string[] = [];
    for (let count = r.int(1, 6); count > 0; count--) {
      const path = r.pick(objects);
      const target = path.length === 0 ? payload : getAt(payload, path);
      if (!isRecord(target)) continue;
      const name = r.pick(names);
      const value = r.chance(0.1) ? rawSlot(slots, nested('array', r.int(100, 2_000))) : r.pick(values);
      defineKey(target, name, value);
      notes.push(`${JSON.stringify(name)} in ${path.length === 0 ? '(root)' : formatPath(path)}`);
    }
    return this.jobDraft('job-extra-fields', `201 with extra fields ${notes.join(', ')}`, payload, ['job'], { slots });
  }

  duplicateKeys(): Draft {
    const r = this.r;
    const text = JSON.stringify(this.payload());
    const key = r.pick(['id', 'token', 'job_info', 'variables', 'steps', 'git_info']);
    const first = r.chance(0.5);
    const value = r.pick(['"dup"', '"42"', '[]', 'false']);
    let body: string;
    if (first) {
      body = `{"${key}":${value},${text.slice(1)}`;
    } else {
      body = `${text.slice(0, -1)},"${key}":${value}}`;
    }
    if (r.chance(0.3)) {
      // NOTE: a nested duplicate, first occurrence invalid, the real value later (and so winning).
      body = body.replace('"job_info":{', '"job_info":{"name":1,"pipeline_id":"x",');
    }
    const where = first ? 'first (the real value wins)' : 'last (the duplicate wins)';
    // JSON.parse keeps the last occurrence: a duplicate written last decides, and some of them are valid values.
    const validLast =
      (key === 'token' && value.startsWith('"')) || ((key === 'variables' || key === 'steps') && value === '[]');
    return {
      family: 'job-duplicate-keys',
      detail: `201 with "${key}":${value} duplicated, ${where}`,
      steps: [this.created(utf8(body))],
      allowed: first || validLast ? ['job'] : [MALFORMED],
    };
  }

  truncated(): Draft {
    const text = JSON.stringify(this.payload());
    const cut = this.r.int(0, text.length - 1);
    const how = this.r.pick(['Content-Length of the cut', 'chunked, cut'] as const);
    const body = utf8(text.slice(0, cut));
    const steps: ServerStep[] =
      how === 'Content-Length of the cut'
        ? [this.created(body)]
        : [
            {
              type: 'raw',
              chunks: [
                rawHead(201, [CLOSE, ['Content-Type', 'application/json'], ['Transfer-Encoding', 'chunked']]),
                chunked(body, this.r.int(1, 5)),
                latin1('0\r\n\r\n'),
              ],
              finish: 'end',
            },
          ];
    return {
      family: 'job-truncated',
      detail: `201 JSON cut at ${cut} of ${text.length} bytes (${how})`,
      steps,
      allowed: [MALFORMED],
    };
  }

  notJson(): Draft {
    const r = this.r;
    const text = JSON.stringify(this.payload());
    const variants: ReadonlyArray<readonly [string, () => Uint8Array, readonly string[]]> = [
      ['an empty body', () => Buffer.alloc(0), [MALFORMED]],
      ['null', () => utf8('null'), [MALFORMED]],
      ['[]', () => utf8('[]'), [MALFORMED]],
      ['a number', () => utf8('42'), [MALFORMED]],
      ['a JSON string', () => utf8('"job"'), [MALFORMED]],
      ['true', () => utf8('true'), [MALFORMED]],
      ['an HTML page', () => utf8('<html><body><h1>502 Bad Gateway</h1></body></html>'), [MALFORMED]],
      ['random bytes', () => r.bytes(r.int(16, 4096)), [MALFORMED]],
      ['a BOM before the JSON', () => Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), utf8(text)]), ['job', MALFORMED]],
      ['trailing garbage', () => utf8(`${text}x`), [MALFORMED]],
      ['trailing whitespace', () => utf8(`${text}\n\r\n\t `), ['job']],
      ['leading whitespace', () => utf8(` \n${text}`), ['job']],
      ['a raw NUL in a string', () => utf8(text.replace('"build"', '"bu\u0000ild"')), [MALFORMED]],
      ['a raw control character', () => utf8(text.replace('"build"', '"bu\u0001ild"')), [MALFORMED]],
      [
        'invalid UTF-8 in a string',
        () => {
          const at = text.indexOf('"build"') + 1;
          return Buffer.concat([utf8(text.slice(0, at)), Buffer.from([0xff, 0xfe, 0xc0]), utf8(text.slice(at))]);
        },
        ['job'],
      ],
      ['NaN for a number', () => utf8(text.replace('"pipeline_id":900', '"pipeline_id":NaN')), [MALFORMED]],
      ['Infinity for a number', () => utf8(text.replace('"pipeline_id":900', '"pipeline_id":Infinity')), [MALFORMED]],
      ['single quotes', () => utf8(text.replaceAll('"', "'")), [MALFORMED]],
      ['a comment', () => utf8(`/* job */${text}`), [MALFORMED]],
      ['a trailing comma', () => utf8(`${text.slice(0, -1)},}`), [MALFORMED]],
      ['UTF-16LE', () => Buffer.from(text, 'utf16le'), [MALFORMED]],
      ['two JSON documents', () => utf8(`${text}${text}`), [MALFORMED]],
      ['form encoding', () => utf8(`id=${this.jobId}&token=x`), [MALFORMED]],
    ];
    const [note, body, allowed] = r.pick(variants);
    return { family: 'job-not-json', detail: `201 with ${note}`, steps: [this.created(body())], allowed };
  }

  contentTypes(): Draft {
    const r = this.r;
    const body = utf8(JSON.stringify(this.payload()));
    const variant = r.pick(['json', 'other', 'missing', 'duplicated'] as const);
    if (variant === 'json') {
      const type = r.pick(JSON_CONTENT_TYPES);
      return {
        family: 'job-content-type',
        detail: `201 as ${JSON.stringify(type)}`,
        steps: [this.created(body, type)],
        allowed: ['job'],
      };
    }
    if (variant === 'other') {
      const type = r.pick(OTHER_CONTENT_TYPES);
      return {
        family: 'job-content-type',
        detail: `201 as ${JSON.stringify(type)}`,
        steps: [this.created(body, type)],
        allowed: [MALFORMED],
      };
    }
    if (variant === 'missing') {
      return {
        family: 'job-content-type',
        detail: '201 without Content-Type',
        steps: [this.created(body, null)],
        allowed: [MALFORMED],
      };
    }
    const types = r.chance(0.5) ? ['application/json', 'text/html'] : ['text/html', 'application/json'];
    return {
      family: 'job-content-type',
      detail: `201 with two Content-Type headers, ${types.join(' then ')}`,
      steps: [
        {
          type: 'raw',
          chunks: rawAnswer(
            201,
            types.map((type): Header => ['Content-Type', type]),
            body,
          ),
          finish: 'end',
        },
      ],
      allowed: ['job', MALFORMED],
    };
  }

  /** A payload padded to `size` bytes exactly (an unknown field of `x`s). */
  paddedPayload(size: number): Buffer {
    const payload = this.payload();
    payload.x_padding = '';
    const base = Buffer.byteLength(JSON.stringify(payload));
    payload.x_padding = 'x'.repeat(Math.max(0, size - base));
    return utf8(JSON.stringify(payload));
  }

  smallBound(): Draft {
    const r = this.r;
    const size = r.pick([
      SMALL_JOB_BOUND - 1,
      SMALL_JOB_BOUND,
      SMALL_JOB_BOUND + 1,
      SMALL_JOB_BOUND + r.int(2, 1024 * 1024),
    ]);
    const body = this.paddedPayload(size);
    const framing = r.pick(['Content-Length', 'chunked'] as const);
    const steps: ServerStep[] =
      framing === 'Content-Length'
        ? [this.created(body)]
        : [
            {
              type: 'raw',
              chunks: [
                rawHead(201, [CLOSE, ['Content-Type', 'application/json'], ['Transfer-Encoding', 'chunked']]),
                chunked(body, r.int(1, 40)),
                latin1('0\r\n\r\n'),
              ],
              finish: 'end',
            },
          ];
    return {
      family: 'job-bound',
      detail: `201 of ${body.byteLength} bytes (${framing}) against a bound of ${SMALL_JOB_BOUND}`,
      steps,
      allowed: body.byteLength > SMALL_JOB_BOUND ? [TOO_LARGE] : ['job'],
    };
  }

  /** Just under, at, and just over the default bound, in turn (`turn` counts these cases). */
  defaultBoundJob(turn: number): Draft {
    const sizes = [DEFAULT_MAX_JOB_PAYLOAD_BYTES - 1, DEFAULT_MAX_JOB_PAYLOAD_BYTES, DEFAULT_MAX_JOB_PAYLOAD_BYTES + 1];
    const size = sizes[turn % sizes.length] ?? DEFAULT_MAX_JOB_PAYLOAD_BYTES;
    const body = this.paddedPayload(size);
    return {
      family: 'job-default-bound',
      detail: `201 of ${body.byteLength} bytes against the default bound of ${DEFAULT_MAX_JOB_PAYLOAD_BYTES}`,
      steps: [this.created(body)],
      allowed: body.byteLength > DEFAULT_MAX_JOB_PAYLOAD_BYTES ? [TOO_LARGE] : ['job'],
      network: 'large',
    };
  }

  compressed(): Draft {
    const r = this.r;
    const body = utf8(JSON.stringify(this.payload()));
    const encodings: ReadonlyArray<readonly [string, (data: Buffer) => Buffer]> = [
      ['gzip', (data) => gzipSync(data)],
      ['x-gzip', (data) => gzipSync(data)],
      ['deflate', (data) => deflateSync(data)],
      ['deflate', (data) => deflateRawSync(data)],
      ['br', (data) => brotliCompressSync(data)],
    ];
    const [encoding, compress] = r.pick(encodings);
    const variant = r.pick(['valid', 'bomb', 'corrupt', 'truncated', 'plain', 'unknown'] as const);
    let data: Buffer;
    let allowed: readonly string[];
    let header = encoding;
    switch (variant) {
      case 'valid':
        data = compress(body);
        allowed = ['job'];
        break;
      case 'bomb':
        data = bomb(encoding === 'br' ? 'br' : encoding === 'deflate' ? 'deflate' : 'gzip');
        allowed = [TOO_LARGE];
        break;
      case 'corrupt': {
        data = Buffer.from(compress(body));
        for (let flips = r.int(1, 8); flips > 0; flips--) {
          const at = r.int(Math.min(10, data.length - 1), data.length - 1);
          data[at] = (data[at] ?? 0) ^ (1 << r.int(0, 7));
        }
        allowed = [TRANSPORT, MALFORMED, 'job'];
        break;
      }
      case 'truncated': {
        const full = compress(body);
        data = full.subarray(0, r.int(0, full.length - 1));
        allowed = [TRANSPORT, MALFORMED];
        break;
      }
      case 'plain':
        data = body;
        allowed = [TRANSPORT, MALFORMED];
        break;
      case 'unknown':
        data = body;
        header = r.pick(['identity', 'compress9', 'gzip, identity', 'zstd-ish']);
        allowed = ['job', TRANSPORT, MALFORMED];
        break;
    }
    return {
      family: 'job-compressed',
      detail: `201 with Content-Encoding ${JSON.stringify(header)}, ${variant} (${data.byteLength} bytes on the wire)`,
      steps: [this.created(data, 'application/json', [['Content-Encoding', header]])],
      allowed,
      tags: variant === 'bomb' ? ['bomb'] : [],
    };
  }

  // -------------------------------------------------------------------------------------------------------------
  // Any call: statuses, headers, bodies

  /** A status a well-formed answer may have for this call: never 1xx or 3xx (their own families), and for a job
   * request never 201 (the payload families). */
  finalStatus(): number {
    const r = this.r;
    for (;;) {
      const status = r.chance(0.6)
        ? r.pick([
            200, 202, 204, 400, 401, 403, 404, 405, 408, 409, 412, 413, 416, 422, 429, 500, 501, 502, 503, 504, 511,
            512, 599,
          ])
        : r.int(200, 599);
      if (status >= 300 && status < 400) continue;
      if (this.call === 'requestJob' && status === 201) continue;
      return status;
    }
  }

  /** A final status whose answer has a body (raw framings after a 204 would be read as a second answer). */
  statusWithBody(): number {
    const status = this.finalStatus();
    return status === 204 ? 200 : status;
  }

  /** Headers that `node:http` accepts: hints with odd values, sometimes a token echoed back. */
  validHeaders(tags: string[]): Header[] {
    const r = this.r;
    const headers: Header[] = [];
    if (r.chance(0.5)) headers.push(['Content-Type', r.pick([...JSON_CONTENT_TYPES, ...OTHER_CONTENT_TYPES])]);
    if (r.chance(0.4)) headers.push(['Job-Status', r.pick(JOB_STATUSES)]);
    if (r.chance(0.3)) headers.push(['Retry-After', r.pick(RETRY_AFTERS)]);
    if (r.chance(0.2)) headers.push(['RateLimit-ResetTime', r.pick(RESET_TIMES)]);
    if (r.chance(0.3)) headers.push(['X-GitLab-Trace-Update-Interval', r.pick(INTERVALS)]);
    if (r.chance(0.3)) headers.push(['Range', r.pick(RANGES)]);
    if (r.chance(0.2)) headers.push(['X-Request-Id', r.pick(['', r.hex(32), 'x'.repeat(2000), 'id with spaces'])]);
    if (r.chance(0.15)) headers.push(['X-GitLab-Last-Update', r.pick(['', r.hex(16), 'not a date'])]);
    if (r.chance(0.1)) headers.push(['Job-Status', r.pick(JOB_STATUSES)]);
    if (r.chance(0.04)) {
      // A server (or a proxy) that reflects what it was sent: the client must not pass the token on.
      const name = r.pick(['Job-Status', 'X-Request-Id', 'X-GitLab-Last-Update']);
      headers.push([name, r.pick([this.tokens.sent, `echo ${this.tokens.sent}`])]);
      tags.push(`header-echo:${name}`);
    }
    return headers;
  }

  /** An error body: Rails' `{"message": …}` with odd types, other JSON, or not JSON at all. */
  errorBody(): Draft;
  errorBody(kind: 'body'): { readonly body: Buffer; readonly note: string; readonly tags: string[] };
  errorBody(kind?: 'body'): Draft | { readonly body: Buffer; readonly note: string; readonly tags: string[] } {
    const r = this.r;
    const tags: string[] = [];
    const sent = this.tokens.sent;
    const messages: ReadonlyArray<readonly [string, () => string]> = [
      ['a string message', () => JSON.stringify({ message: '403 Forbidden' })],
      ['an empty message', () => JSON.stringify({ message: '' })],
      ['a number message', () => JSON.stringify({ message: 42 })],
      ['a boolean message', () => JSON.stringify({ message: false })],
      ['a null message', () => JSON.stringify({ message: null, error: 'fallback' })],
      ['a list message', () => JSON.stringify({ message: ['a', 1, null] })],
      ['an object message', () => JSON.stringify({ message: { base: ['is invalid'], token: ['is missing'] } })],
      ['a Grape error', () => JSON.stringify({ error: 'job_id is invalid' })],
      ['an object error', () => JSON.stringify({ error: { code: 7 } })],
      ['a long message', () => JSON.stringify({ message: 'm'.repeat(r.int(500, 40_000)) })],
      ['a unicode message', () => JSON.stringify({ message: '\ud83d\udca5 \u0000 \ud800 \u202e' })],
      [
        'a deeply nested message',
        () => {
          tags.push('deep-message');
          return `{"message":${nested(r.pick(['array', 'object', 'mixed'] as const), r.int(1_000, 6_000))}}`;
        },
      ],
      [
        'a deeply nested error',
        () => {
          tags.push('deep-message');
          return `{"error":${nested('array', r.int(1_000, 20_000))}}`;
        },
      ],
      [
        'the token echoed in the message',
        () => {
          tags.push('body-echo');
          return JSON.stringify({ message: `invalid token ${sent} (${sent})` });
        },
      ],
      [
        'the token echoed with JSON escapes',
        () => {
          tags.push('body-echo');
          return `{"message":"bad ${[...sent].map((char) => `\\u${char.charCodeAt(0).toString(16).padStart(4, '0')}`).join('')}"}`;
        },
      ],
      [
        'the token as an object key',
        () => {
          tags.push('body-echo');
          return JSON.stringify({ message: { [sent]: ['is revoked'] } });
        },
      ],
      ['a JSON list', () => '[1,2,3]'],
      ['a JSON string', () => '"just text"'],
      ['plain text', () => 'Internal Server Error'],
      ['an HTML page', () => '<!DOCTYPE html><html><body>Whoops</body></html>'],
      ['truncated JSON', () => '{"message":"cut'],
      ['an empty body', () => ''],
      ['__proto__ message', () => '{"__proto__":{"message":"polluted"},"message":{"__proto__":1}}'],
    ];
    const [note, make] = r.pick(messages);
    const body = r.chance(0.05) ? r.bytes(r.int(1, 2048)) : utf8(make());
    if (kind === 'body') return { body, note, tags };
    const status = this.finalStatus();
    const headers = this.validHeaders(tags);
    return {
      family: 'error-body',
      detail: `${status} with ${note} (${body.byteLength} bytes)`,
      steps: [{ type: 'respond', status, headers, body }],
      allowed: this.allowedFor(status, body.byteLength),
      tags,
    };
  }

  /** What a complete, well-framed answer of `status` may produce on the `small` client. */
  allowedFor(status: number, bodyBytes: number): readonly string[] {
    const bodyRead = status !== 204 && status !== 304;
    if (bodyRead && bodyBytes > this.bound) return [TOO_LARGE];
    if (status >= 300 && status < 400) return [UNEXPECTED];
    if (this.call === 'requestJob' && status === 201) return ['job', MALFORMED];
    return this.kinds;
  }

  wellFormed(): Draft {
    const tags: string[] = [];
    const status = this.finalStatus();
    const headers = this.validHeaders(tags);
    const {
      body,
      note,
      tags: bodyTags,
    } = this.r.chance(0.5) ? this.errorBody('body') : { body: Buffer.alloc(0), note: 'no body', tags: [] };
    return {
      family: 'well-formed',
      detail: `${status} with ${headers.map(([name, value]) => `${name}: ${JSON.stringify(value.slice(0, 40))}`).join(', ') || 'no headers'}; ${note}`,
      steps: [{ type: 'respond', status, headers, body }],
      allowed: this.allowedFor(status, body.byteLength),
      tags: [...tags, ...bodyTags],
    };
  }

  junkHeaders(): Draft {
    const r = this.r;
    const status = this.statusWithBody();
    const headers: Header[] = [];
    for (let count = r.int(1, 5); count > 0; count--) {
      headers.push([r.pick(HINT_NAMES), r.pick([...JUNK_VALUES, ...JOB_STATUSES, ...RETRY_AFTERS, ...INTERVALS])]);
    }
    if (r.chance(0.2)) headers.push([r.pick(['X Bad Name', 'Bad:Name', '', '\u00e9']), 'value']);
    if (r.chance(0.1)) {
      for (let count = 0; count < 3000; count++) headers.push([`X-Many-${count}`, 'v']);
    }
    const body = utf8(JSON.stringify({ message: 'junk headers' }));
    return {
      family: 'junk-headers',
      detail: `${status} with ${headers.length} odd headers (${headers
        .slice(0, 3)
        .map(([name, value]) => `${name}: ${JSON.stringify(value.slice(0, 20))}`)
        .join(', ')})`,
      steps: [{ type: 'raw', chunks: rawAnswer(status, headers, body), finish: 'end' }],
      allowed: [...this.kinds, TRANSPORT],
    };
  }

  redirect(): Draft {
    const r = this.r;
    const origin = this.context.origin;
    const status = r.weighted([
      [307, 4],
      [308, 4],
      [301, 1],
      [302, 1],
      [303, 1],
      [304, 1],
      [300, 0.5],
      [305, 0.5],
      [306, 0.5],
      [r.int(300, 399), 1],
    ]);
    const sameOrigin = [
      `${origin}/api/v4/jobs/request`,
      `${origin}/elsewhere?x=1`,
      '/api/v4/other',
      'relative/path',
      '?query=only',
      `//${new URL(origin).host}/scheme-relative`,
      `${origin.replace('http', 'HTTP')}/upper-scheme`,
      `http://127.1:${new URL(origin).port}/short-ip`,
      `http://0x7f.0.0.1:${new URL(origin).port}/hex-ip`,
      `http://user:pass@${new URL(origin).host}/userinfo`,
    ];
    const refused = [
      ...this.context.foreignOrigins.map((foreign) => `${foreign}/api/v4/jobs/request`),
      `//${new URL(this.context.foreignOrigins[0] ?? 'http://localhost').host}/scheme-relative-foreign`,
      `https://${new URL(origin).host}/other-scheme`,
      'data:application/json,{}',
      'file:///etc/passwd',
      'javascript:alert(1)',
      'http://[::1',
      'http://:99999/',
      'http://127.0.0.1:99999/',
    ];
    const location = r.weighted<string | undefined>([
      [undefined, 1],
      ['', 1],
      [r.pick(sameOrigin), 6],
      [r.pick(refused), 4],
    ]);
    const headers: Header[] = location === undefined ? [] : [['Location', location]];
    const tags: string[] = [];
    headers.push(...this.validHeaders(tags));
    const redirectStep: ServerStep = { type: 'respond', status, headers, body: utf8('redirecting') };
    const followed = (status === 307 || status === 308) && location !== undefined && sameOrigin.includes(location);
    if (!followed) {
      return {
        family: 'redirect',
        detail: `${status} to ${location === undefined ? '(no Location)' : JSON.stringify(location)}`,
        steps: [redirectStep],
        allowed: [UNEXPECTED],
        tags,
      };
    }
    const hops = r.int(1, 12);
    const final = this.finalAnswer(tags);
    return {
      family: 'redirect',
      detail: `${hops} × ${status} to ${JSON.stringify(location)}, then ${final.detail}`,
      steps: [...Array.from({ length: hops }, () => redirectStep), final.step],
      // The transport follows 10 hops and refuses the 11th.
      allowed: hops <= 10 ? final.allowed : [UNEXPECTED],
      tags,
    };
  }

  /** A well-formed final answer: a valid job for a job request (sometimes), else a plain status. */
  finalAnswer(tags: string[]): {
    readonly step: ServerStep;
    readonly detail: string;
    readonly allowed: readonly string[];
  } {
    if (this.call === 'requestJob' && this.r.chance(0.4)) {
      return { step: this.created(utf8(JSON.stringify(this.payload()))), detail: 'a valid job', allowed: ['job'] };
    }
    const status = this.finalStatus();
    return {
      step: { type: 'respond', status, headers: this.validHeaders(tags), body: Buffer.alloc(0) },
      detail: `${status}`,
      allowed: this.kinds,
    };
  }

  informational(): Draft {
    const r = this.r;
    const status = r.pick([100, 101, 102, 103, 150, 199]);
    const head = rawHead(status, r.chance(0.5) ? [['Link', '</style.css>; rel=preload']] : [], 'Info');
    const after = r.pick(['final', 'final', 'end', 'reset', 'stall'] as const);
    if (status === 101) {
      // Node hands a 101 over as the answer (an interim status elsewhere): network.errors.ts says a client refuses
      // to interpret a 1xx. What follows it is not HTTP any more, and the socket is not fit for another call.
      const chunks = after === 'final' ? [head, ...rawAnswer(this.statusWithBody(), [], utf8('{}'))] : [head];
      return {
        family: 'informational',
        detail: `101, then ${after === 'final' ? 'an HTTP answer' : after}`,
        steps: [{ type: 'raw', chunks, finish: after === 'final' ? 'end' : after }],
        allowed: [UNEXPECTED, TRANSPORT],
        network: 'isolated',
        tags: ['status-101'],
      };
    }
    if (after === 'final') {
      const finalStatus = this.statusWithBody();
      return {
        family: 'informational',
        detail: `${status}, then ${finalStatus}`,
        steps: [{ type: 'raw', chunks: [head, ...rawAnswer(finalStatus, [], utf8('{}'))], finish: 'end' }],
        allowed: this.kinds,
      };
    }
    return {
      family: 'informational',
      detail: `${status}, then ${after === 'stall' ? 'silence (short deadline)' : after}`,
      steps: [{ type: 'raw', chunks: [head], finish: after }],
      allowed: [TRANSPORT],
      ...(after === 'stall' ? { network: 'short' as const } : {}),
    };
  }

  oversized(): Draft {
    const r = this.r;
    const status = this.statusWithBody();
    const size = r.pick([this.bound, this.bound + 1, this.bound + r.int(2, 1024 * 1024)]);
    const body = utf8(JSON.stringify({ message: 'x'.repeat(Math.max(0, size - 14)) }));
    const framing = r.pick(['Content-Length', 'chunked', 'until close'] as const);
    const headers: Header[] = [['Content-Type', 'application/json']];
    let step: ServerStep;
    if (framing === 'Content-Length') {
      step = { type: 'respond', status, headers, body };
    } else if (framing === 'chunked') {
      step = {
        type: 'raw',
        chunks: [
          rawHead(status, [CLOSE, ...headers, ['Transfer-Encoding', 'chunked']]),
          chunked(body, r.int(1, 64)),
          latin1('0\r\n\r\n'),
        ],
        finish: 'end',
      };
    } else {
      step = { type: 'raw', chunks: [rawHead(status, [CLOSE, ...headers]), body], finish: 'end' };
    }
    return {
      family: 'oversized',
      detail: `${status} with a ${body.byteLength}-byte body (${framing}), bound ${this.bound}`,
      steps: [step],
      allowed: this.allowedFor(status, body.byteLength),
    };
  }

  /** A body for a broken answer: a valid job for a job request's 201, else a short JSON error. */
  brokenBody(status: number): Buffer {
    return this.call === 'requestJob' && status === 201
      ? utf8(JSON.stringify(this.payload()))
      : utf8(JSON.stringify({ message: 'broken' }));
  }

  transport(): Draft {
    const r = this.r;
    const status = this.call === 'requestJob' && r.chance(0.5) ? 201 : this.statusWithBody();
    const body = this.brokenBody(status);
    const json: Header = ['Content-Type', 'application/json'];
    const full = rawHead(status, [CLOSE, json, ['Content-Length', String(body.byteLength)]]);
    const cutHead = full.subarray(0, r.int(0, full.byteLength - 3));
    const cutBody = body.subarray(0, r.int(0, body.byteLength - 1));
    const allowedComplete = this.call === 'requestJob' && status === 201 ? ['job', MALFORMED] : this.kinds;
    const variants: ReadonlyArray<readonly [string, () => ServerStep, readonly string[]]> = [
      ['closed without an answer', () => ({ type: 'silent', finish: 'end' }), [TRANSPORT]],
      ['reset without an answer', () => ({ type: 'silent', finish: 'reset' }), [TRANSPORT]],
      ['reset mid-headers', () => ({ type: 'raw', chunks: [cutHead], finish: 'reset' }), [TRANSPORT]],
      ['closed mid-headers', () => ({ type: 'raw', chunks: [cutHead], finish: 'end' }), [TRANSPORT]],
      ['reset mid-body', () => ({ type: 'raw', chunks: [full, cutBody], finish: 'reset' }), [TRANSPORT]],
      [
        'closed mid-body (Content-Length longer than the body)',
        () => ({ type: 'raw', chunks: [full, cutBody], finish: 'end' }),
        [TRANSPORT],
      ],
      [
        'Content-Length shorter than the body',
        () => ({
          type: 'raw',
          chunks: [rawHead(status, [CLOSE, json, ['Content-Length', String(cutBody.byteLength)]]), body],
          finish: 'end',
        }),
        // NOTE: the first Content-Length bytes are a complete answer; the bytes after it may fail the parser.
        [...allowedComplete, MALFORMED, TRANSPORT],
      ],
      [
        'chunked, cut off',
        () => ({
          type: 'raw',
          chunks: [
            rawHead(status, [CLOSE, json, ['Transfer-Encoding', 'chunked']]),
            chunked(body, 4).subarray(0, r.int(0, body.byteLength)),
          ],
          finish: r.pick(['end', 'reset'] as const),
        }),
        [TRANSPORT],
      ],
      [
        'chunked with a bad chunk size',
        () => ({
          type: 'raw',
          chunks: [
            rawHead(status, [CLOSE, json, ['Transfer-Encoding', 'chunked']]),
            latin1('zz\r\nhello\r\n0\r\n\r\n'),
          ],
          finish: 'end',
        }),
        [TRANSPORT],
      ],
      [
        'chunked and Content-Length both',
        () => ({
          type: 'raw',
          chunks: [
            rawHead(status, [CLOSE, json, ['Content-Length', '3'], ['Transfer-Encoding', 'chunked']]),
            chunked(body, 2),
            latin1('0\r\n\r\n'),
          ],
          finish: 'end',
        }),
        [TRANSPORT],
      ],
      [
        'two different Content-Lengths',
        () => ({
          type: 'raw',
          chunks: [
            rawHead(status, [CLOSE, json, ['Content-Length', String(body.byteLength)], ['Content-Length', '1']]),
            body,
          ],
          finish: 'end',
        }),
        [TRANSPORT],
      ],
      [
        'a negative Content-Length',
        () => ({
          type: 'raw',
          chunks: [rawHead(status, [CLOSE, json, ['Content-Length', '-5']]), body],
          finish: 'end',
        }),
        [TRANSPORT],
      ],
      [
        'HTTP/1.0 without a length, body until close',
        () => ({ type: 'raw', chunks: [rawHead(status, [json], 'OK', 'HTTP/1.0'), body], finish: 'end' }),
        allowedComplete,
      ],
      [
        'a garbage status line',
        () => ({
          type: 'raw',
          chunks: [
            latin1(
              r.pick([
                'HTTP/1.1 abc OK\r\n\r\n',
                'HTPT/1.1 200 OK\r\n\r\n',
                'garbage\r\n\r\n',
                'HTTP/2 200\r\n\r\n',
                '\u0000\u0001\u0002',
              ]),
            ),
          ],
          finish: 'end',
        }),
        [TRANSPORT],
      ],
      [
        'a status outside 100–599',
        () => ({ type: 'raw', chunks: rawAnswer(r.pick(['000', '099', '600', '999']), [], body), finish: 'end' }),
        [...this.kinds, TRANSPORT, UNEXPECTED],
      ],
      [
        'bare LF line endings',
        () => ({
          type: 'raw',
          chunks: [latin1(`HTTP/1.1 ${status} OK\nConnection: close\nContent-Length: 0\n\n`)],
          finish: 'end',
        }),
        [...allowedComplete, TRANSPORT],
      ],
      [
        'headers over 16 KiB',
        () => ({
          type: 'raw',
          chunks: rawAnswer(status, [['Job-Status', 'x'.repeat(r.int(17_000, 80_000))]], body),
          finish: 'end',
        }),
        [TRANSPORT],
      ],
      [
        'a NUL in a header value',
        () => ({ type: 'raw', chunks: rawAnswer(status, [['Job-Status', 'run\u0000ning']], body), finish: 'end' }),
        [...allowedComplete, TRANSPORT],
      ],
    ];
    const [note, step, allowed] = r.pick(variants);
    return { family: 'transport', detail: `${status}: ${note}`, steps: [step()], allowed };
  }

  stall(): Draft {
    const r = this.r;
    const status = this.call === 'requestJob' ? 201 : this.statusWithBody();
    const body = this.brokenBody(status);
    const head = rawHead(status, [
      ['Content-Type', 'application/json'],
      ['Content-Length', String(body.byteLength)],
    ]);
    const variants: ReadonlyArray<readonly [string, () => ServerStep]> = [
      ['no answer at all', () => ({ type: 'silent', finish: 'stall' })],
      [
        'half the headers',
        () => ({ type: 'raw', chunks: [head.subarray(0, r.int(1, head.byteLength - 3))], finish: 'stall' }),
      ],
      [
        'headers and part of the body',
        () => ({ type: 'raw', chunks: [head, body.subarray(0, r.int(0, body.byteLength - 1))], finish: 'stall' }),
      ],
      [
        '100 Continue and nothing more',
        () => ({ type: 'raw', chunks: [rawHead(100, [], 'Continue')], finish: 'stall' }),
      ],
      [
        'some chunks, then nothing',
        () => ({
          type: 'raw',
          chunks: [
            rawHead(status, [['Transfer-Encoding', 'chunked']]),
            chunked(body, 4).subarray(0, r.int(0, body.byteLength)),
          ],
          finish: 'stall',
        }),
      ],
      [
        'a body trickling in byte by byte',
        () => ({ type: 'raw', chunks: [rawHead(status, [['Content-Length', '100000']])], finish: 'trickle' }),
      ],
    ];
    const [note, step] = r.pick(variants);
    return {
      family: 'stall',
      detail: `${status}: ${note} (200 ms deadline)`,
      steps: [step()],
      allowed: [TRANSPORT],
      network: 'short',
    };
  }
}

// ---------------------------------------------------------------------------------------------------------------
// JSON helpers

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Adds a key as an own data property, so `__proto__` is a key like any other and not the prototype. */
function defineKey(target: Record<string, unknown>, key: string, value: unknown): void {
  Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
}

/** Every path below the root, containers and leaves. */
function pathsOf(root: unknown): Path[] {
  const out: Path[] = [];
  const stack: Array<{ readonly value: unknown; readonly path: Path }> = [{ value: root, path: [] }];
  for (let item = stack.pop(); item !== undefined; item = stack.pop()) {
    const { value, path } = item;
    if (path.length > 0) out.push(path);
    if (Array.isArray(value)) {
      value.forEach((child: unknown, index) => {
        stack.push({ value: child, path: [...path, index] });
      });
    } else if (isRecord(value)) {
      for (const key of Object.keys(value)) stack.push({ value: value[key], path: [...path, key] });
    }
  }
  return out.reverse();
}

/** Paths of string leaves that accept any string (not `steps[].when`, an enumeration). */
function stringPaths(root: unknown): Path[] {
  return pathsOf(root).filter((path) => typeof getAt(root, path) === 'string' && path[path.length - 1] !== 'when');
}

function getAt(root: unknown, path: Path): unknown {
  let current: unknown = root;
  for (const key of path) {
    if (Array.isArray(current) && typeof key === 'number') current = current[key];
    else if (isRecord(current) && typeof key === 'string' && Object.hasOwn(current, key)) current = current[key];
    else return DELETE;
  }
  return current;
}

function setAt(root: Record<string, unknown>, path: Path, value: unknown): void {
  const parent = getAt(root, path.slice(0, -1));
  const key = path[path.length - 1];
  if (key === undefined) return;
  if (Array.isArray(parent) && typeof key === 'number') {
    if (value === DELETE) parent.splice(key, 1);
    else parent[key] = value;
  } else if (isRecord(parent) && typeof key === 'string') {
    if (value === DELETE) delete parent[key];
    else defineKey(parent, key, value);
  }
}

function formatPath(path: Path): string {
  let text = '';
  for (const key of path) text += typeof key === 'number' ? `[${key}]` : text === '' ? key : `.${key}`;
  return text === '' ? '(root)' : text;
}

/** Registers raw JSON text and returns the placeholder to put where it goes. */
function rawSlot(slots: string[], raw: string): string {
  slots.push(raw);
  return `${SLOT}${slots.length - 1}`;
}

function serialize(payload: unknown, slots: readonly string[]): string {
  let text = JSON.stringify(payload);
  slots.forEach((raw, index) => {
    text = text.replace(`"${SLOT}${index}"`, () => raw);
  });
  return text;
}

function nested(shape: 'array' | 'object' | 'mixed', depth: number): string {
  switch (shape) {
    case 'array':
      return `${'['.repeat(depth)}${']'.repeat(depth)}`;
    case 'object':
      return `${'{"a":'.repeat(depth)}null${'}'.repeat(depth)}`;
    case 'mixed':
      return `${'[{"a":'.repeat(depth)}0${'}]'.repeat(depth)}`;
  }
}

/**
 * Whether the job token sits somewhere the payload does not declare secret: then the server exposed it, and a `job`
 * result may show it. The secret places: `token`, `git_info.repo_url`, a registry password, a dependency token, the
 * value of a variable marked masked.
 */
function exposesToken(payload: Record<string, unknown>, token: string): boolean {
  for (const path of pathsOf(payload)) {
    const value = getAt(payload, path);
    if (typeof value !== 'string' || !value.includes(token)) continue;
    const text = formatPath(path);
    if (text === 'token' || text === 'git_info.repo_url') continue;
    if (/^credentials\[\d+\]\.password$/.test(text) || /^dependencies\[\d+\]\.token$/.test(text)) continue;
    if (path[path.length - 1] === 'value') {
      const variable = getAt(payload, path.slice(0, -1));
      if (isRecord(variable) && variable.masked === true) continue;
    }
    return true;
  }
  return false;
}

const bombs = new Map<string, Buffer>();

/** 32 MiB of spaces, compressed once per run (a few dozen KB): decompressed, far over any bound. */
function bomb(encoding: 'gzip' | 'deflate' | 'br'): Buffer {
  const cached = bombs.get(encoding);
  if (cached !== undefined) return cached;
  const plain = Buffer.alloc(32 * 1024 * 1024, 0x20);
  plain.write('{"id":1,"token":"t","x":"');
  const compressed =
    encoding === 'gzip'
      ? gzipSync(plain)
      : encoding === 'deflate'
        ? deflateSync(plain)
        : // NOTE: brotli's default quality takes seconds on 32 MiB; the bomb needs no density.
          brotliCompressSync(plain, { params: { [constants.BROTLI_PARAM_QUALITY]: 4 } });
  bombs.set(encoding, compressed);
  return compressed;
}
