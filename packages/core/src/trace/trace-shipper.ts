import { crc32 } from 'node:zlib';
import type { Clock } from '../clock/clock.port.js';
import type { TraceSink } from '../execution/executor.port.js';
import type { JobCredentials } from '../job/job.types.js';
import type { Logger } from '../logger/logger.port.js';
import { faultDetail } from '../network/network.errors.js';
import type { Network } from '../network/network.port.js';
import type { JobAnswerHints, PatchTraceResult, UpdateJobResult } from '../network/network.types.js';
import type { RunnerInfo } from '../network/runner-info.js';
import type { Observer } from '../observer/observer.port.js';
import { type Attempt, gatedCall } from '../retry/gated-call.js';
import { defaultRetryPolicy, type RetryPolicy } from '../retry/retry-policy.js';
import { ServerGate } from '../retry/server-gate.js';

/** Why the shipper asks the job to stop. */
export type TraceStopReason = 'cancel-requested' | 'gone';

/** How a flush ended: GitLab has every byte, the job is gone, or bytes are still unsent at the deadline. */
export type FlushResult = 'sent' | 'gone' | 'unsent';

/** Options of {@link TraceShipper}. */
export interface TraceShipperOptions {
  readonly network: Network;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly job: JobCredentials;
  readonly info: RunnerInfo;
  /** The gate of every call to this GitLab (share the confirmation's). @default a gate of its own */
  readonly gate?: ServerGate;
  /** Backoff between tries of a patch or a touch. @default defaultRetryPolicy */
  readonly retry?: RetryPolicy;
  /** @default Math.random */
  readonly random?: () => number;
  /** Told of every retry. @default none */
  readonly observer?: Observer;
  /** Time between trace patches, until the server sets another with `X-GitLab-Trace-Update-Interval`. @default 3_000 */
  readonly intervalMs?: number;
  /**
   * With nothing sent for this long, a `PUT state=running` tells GitLab the job is alive and learns of a cancel;
   * shorter when the server sets a shorter update interval (it does while someone watches the job). @default 30_000
   */
  readonly forceSendIntervalMs?: number;
  /** Largest patch, in bytes. @default 1_048_576 */
  readonly maxPatchBytes?: number;
  /** Output beyond this many bytes is dropped (a notice is written once). @default 4_194_304 */
  readonly outputLimitBytes?: number;
  /** Patches carry `debug_trace=true` (the job set `CI_DEBUG_TRACE`). @default false */
  readonly debugTrace?: boolean;
  /**
   * Resumes a trace GitLab already holds part of (delivering an outbox entry after a restart): what is written is the
   * trace from `offset` on — or, with no `offset`, is appended after whatever GitLab holds — and the final update
   * sends `checksum` and `bytesize` of the whole trace when they are known, none otherwise. @default a new trace
   */
  readonly resume?: { readonly offset?: number; readonly checksum?: string; readonly bytesize?: number };
  /**
   * Called when GitLab says the job must stop: canceled by a user (`cancel-requested`), or gone (403,
   * `Job-Status: canceled/failed`). Once per reason; `gone` may follow `cancel-requested`.
   */
  readonly onStop: (reason: TraceStopReason) => void;
}

/** Longest interval a server may impose (gitlab-runner's `MaxUpdateInterval`). */
export const MAX_UPDATE_INTERVAL_MS = 15 * 60_000;
const EMPTY = new Uint8Array(0);
/** Range mismatches answered in a row before a flush leaves the rest to the next one. */
const MAX_RANGE_RETRIES = 3;

/**
 * Ships a running job's output to GitLab as its trace (`PATCH /jobs/:id/trace`), as gitlab-runner's trace watcher
 * does (docs/gitlab-protocol.md §6.3, §7, §11): each tick sends one patch of at most 1 MiB of the unsent bytes (the final flush sends all);
 * `416` restarts from the server's offset; `Job-Status: canceling` asks the job to stop (canceled); `403` or
 * `Job-Status: canceled/failed` ask it to stop for good (gone); a `404` is logged and skipped (A1). Every call goes
 * through the server's gate: transient failures are retried within the tick, honour `Retry-After`, and keep the
 * bytes for the next tick. With nothing sent for a while, a `PUT state=running` (a touch) keeps the job alive; it
 * counts only when it succeeded (A4).
 *
 * It is the executor's {@link TraceSink}: `write` only buffers, so output never waits on the network.
 */
export class TraceShipper implements TraceSink {
  readonly #options: TraceShipperOptions;
  readonly #gate: ServerGate;
  readonly #caller: symbol;
  readonly #chunks: Buffer[] = [];
  #length = 0;
  /** Bytes of this buffer GitLab acknowledged. */
  #sent = 0;
  /** Where this buffer starts in GitLab's trace; `undefined` until learnt (appending after a restart). */
  #base: number | undefined;
  /** Whether GitLab can check the trace against a checksum (false once the whole trace is no longer at hand). */
  #verifiable: boolean;
  #intervalMs: number;
  /** The interval the server asked for, when it did (it also shortens the touch interval). */
  #serverIntervalMs: number | undefined;
  #lastSentAt: number;
  #dropped = false;
  #stopReason: TraceStopReason | undefined;
  #lane: Promise<unknown> = Promise.resolve();
  readonly #ticker = new AbortController();
  #loop: Promise<void> | undefined;

  constructor(options: TraceShipperOptions) {
    this.#options = options;
    this.#gate = options.gate ?? new ServerGate(options.clock);
    this.#caller = Symbol(`trace of job ${options.job.id}`);
    this.#intervalMs = options.intervalMs ?? 3_000;
    this.#lastSentAt = options.clock.now();
    this.#base = options.resume === undefined ? 0 : options.resume.offset;
    this.#verifiable = options.resume === undefined || options.resume.checksum !== undefined;
  }

  /** Buffers output; bytes beyond the output limit are dropped with one notice (never mid-character). */
  write(chunk: string | Uint8Array): void {
    const bytes = typeof chunk === 'string' ? Buffer.from(chunk, 'utf8') : Buffer.from(chunk);
    const limit = this.#options.outputLimitBytes ?? 4 * 1024 * 1024;
    if (this.#length + bytes.byteLength > limit) {
      if (this.#dropped) return;
      this.#dropped = true;
      const notice = Buffer.from(`\nWARNING: job output exceeded ${limit} bytes; the rest is not shown\n`);
      let room = Math.max(0, limit - this.#length);
      // NOTE: a UTF-8 continuation byte (10xxxxxx) at the cut means a character would be split: cut before it.
      while (room > 0 && room < bytes.byteLength && isContinuation(bytes[room])) room -= 1;
      if (room === 0 && isContinuation(bytes[0])) {
        // The character began in an earlier write: its first bytes go too (ticks never send them alone, see #flush).
        const partial = incompleteTail(this.content);
        if (this.#length - partial >= this.#sent) this.#truncate(this.#length - partial);
      }
      this.#append(bytes.subarray(0, room));
      this.#append(notice);
      return;
    }
    this.#append(bytes);
  }

  /** The whole trace so far. */
  get content(): Buffer {
    if (this.#chunks.length !== 1)
      this.#chunks.splice(0, this.#chunks.length, Buffer.concat(this.#chunks, this.#length));
    return this.#chunks[0] ?? Buffer.alloc(0);
  }

  /** Bytes of this trace GitLab has acknowledged. */
  get sentBytes(): number {
    return this.#sent;
  }

  /** Where GitLab's acknowledged trace ends; `undefined` when not known (appending after a restart). */
  get acknowledgedOffset(): number | undefined {
    return this.#base === undefined ? undefined : this.#base + this.#sent;
  }

  /** The bytes GitLab has not acknowledged yet: what an outbox entry keeps. */
  get unsentTail(): Uint8Array {
    return this.content.subarray(this.#sent);
  }

  /** The size of the whole trace (the resumed part included). */
  get bytesize(): number {
    return this.#options.resume?.bytesize ?? this.#length;
  }

  /** `crc32:` + 8 hex of the whole trace, as gitlab-runner sends it with updates. */
  get checksum(): string {
    const resumed = this.#options.resume?.checksum;
    if (resumed !== undefined) return resumed;
    let value = 0;
    for (const chunk of this.#chunks) value = crc32(chunk, value);
    return `crc32:${value.toString(16).padStart(8, '0')}`;
  }

  /** Whether the final update can carry the checksum and size for GitLab to check (the whole trace is at hand). */
  get verifiable(): boolean {
    return this.#verifiable;
  }

  /** The interval in force (the server may change it); also the wait between final-update tries after 202 or 412. */
  get intervalMs(): number {
    return this.#intervalMs;
  }

  /** Why GitLab asked the job to stop, if it did. */
  get stopReason(): TraceStopReason | undefined {
    return this.#stopReason;
  }

  /** Starts the periodic patches. */
  start(): void {
    this.#loop ??= this.#tick();
  }

  /** Stops the periodic patches (waits for a patch in flight); `flushAll` still works afterwards. */
  async stop(): Promise<void> {
    this.#ticker.abort();
    await this.#loop;
    await this.#lane;
  }

  /**
   * Sends everything unsent, retrying through the gate until `deadline` (epoch ms). @returns `sent` when GitLab has
   * the whole trace, `gone` when the job is no longer ours, `unsent` when bytes are left at the deadline.
   */
  flushAll(deadline: number): Promise<FlushResult> {
    return this.#serially(() => this.#flush(deadline));
  }

  /**
   * GitLab could not validate the trace (412): the next flush sends it again from the start. A resumed trace cannot
   * (its beginning is not at hand): the final update then goes without a checksum. @returns whether it rewound
   */
  rewind(): boolean {
    if (this.#base !== 0) {
      this.#verifiable = false;
      return false;
    }
    this.#sent = 0;
    return true;
  }

  /** Sets the interval in force (gitlab-runner goes back to 3 s when the final update starts). */
  resetInterval(ms: number): void {
    this.#intervalMs = ms;
  }

  /** Applies the answer hints of any call about this job (interval changes, cancellation). */
  applyHints(hints: JobAnswerHints): void {
    if (hints.updateIntervalMs !== undefined && hints.updateIntervalMs > 0) {
      this.#serverIntervalMs = Math.min(hints.updateIntervalMs, MAX_UPDATE_INTERVAL_MS);
      this.#intervalMs = this.#serverIntervalMs;
    }
    if (hints.cancelRequested) this.#requestStop('cancel-requested');
  }

  async #tick(): Promise<void> {
    const { clock } = this.#options;
    while (!this.#ticker.signal.aborted && this.#stopReason !== 'gone') {
      await clock.sleep(this.#intervalMs, this.#ticker.signal);
      if (this.#ticker.signal.aborted) return;
      await this.#serially(async () => {
        // NOTE: one tick's retries end with the tick; what is left goes with the next one.
        const tickEnds = clock.now() + this.#intervalMs;
        // NOTE: one patch per tick, as gitlab-runner: a job printing fast does not flood GitLab; the final flush
        // sends all that is left.
        if (this.#sent < this.#length) await this.#flush(tickEnds, 1, false);
        else if (clock.now() - this.#lastSentAt >= this.#touchIntervalMs()) await this.#touch(tickEnds);
      });
    }
  }

  /** 30 s, or the server's update interval when it is shorter: a silent job then learns of a cancel that soon. */
  #touchIntervalMs(): number {
    const force = this.#options.forceSendIntervalMs ?? 30_000;
    return this.#serverIntervalMs === undefined ? force : Math.min(force, this.#serverIntervalMs);
  }

  /**
   * Sends unsent bytes until `deadline`, at most `patchLimit` accepted patches (unbounded by default). A tick (`whole`
   * false) keeps back a character whose last bytes have not been written yet, so the output limit can still drop it
   * whole; the final flush sends everything.
   */
  async #flush(deadline: number, patchLimit = Number.POSITIVE_INFINITY, whole = true): Promise<FlushResult> {
    const { network, job, logger } = this.#options;
    const maxPatch = this.#options.maxPatchBytes ?? 1024 * 1024;
    let mismatches = 0;
    let accepted = 0;
    const sendable = (): number => (whole ? this.#length : this.#length - incompleteTail(this.content));
    while (this.#sent < sendable()) {
      if (accepted >= patchLimit) return 'unsent';
      if (this.#stopReason === 'gone') return 'gone';
      const local = this.#sent;
      // NOTE: appending after a restart, where GitLab's trace ends is learnt first with an empty patch, which writes
      // nothing: a first patch whose answer was lost could not be told from the previous run's trace (soak D1).
      const probing = this.#base === undefined;
      const offset = (this.#base ?? 0) + local;
      const content = probing ? EMPTY : this.#slice(local, Math.min(sendable(), local + maxPatch));
      const patch = await this.#gated('trace-patch', deadline, async (): Promise<Attempt<PatchTraceResult>> => {
        try {
          const result = await network.patchTrace(job, {
            content,
            offset,
            ...(this.#options.debugTrace === true ? { debugTrace: true } : {}),
            ...(probing ? { probe: true } : {}),
          });
          if (result.kind === 'retryable' || result.kind === 'failed') {
            return transient(`${result.status} from PATCH /jobs/:id/trace`, result);
          }
          return { kind: 'answered', value: result };
        } catch (error) {
          return { kind: 'transient', detail: faultDetail(error) };
        }
      });
      if (patch.kind !== 'answered') return 'unsent';
      const result = patch.value;
      this.applyHints(result);
      switch (result.kind) {
        case 'succeeded':
          this.#base ??= 0;
          this.#sent = Math.min(this.#length, Math.max(local, result.offset - this.#base));
          this.#lastSentAt = this.#options.clock.now();
          if (!probing) accepted += 1;
          break;
        case 'range-mismatch':
          // NOTE: 416 carries the server's size in `Range: 0-<size>`: continue from there.
          if (!probing) mismatches += 1;
          if (mismatches > MAX_RANGE_RETRIES) return 'unsent';
          if (this.#base === undefined) {
            // Appending after a restart: what GitLab holds ends here.
            this.#base = result.offset;
          } else if (result.offset < this.#base) {
            // GitLab holds less than the part of the trace no longer at hand: send nothing more, report the state.
            logger.warn('GitLab holds less of the trace than was acknowledged; the rest is lost', { jobId: job.id });
            this.#verifiable = false;
            this.#sent = this.#length;
          } else {
            this.#sent = Math.min(this.#length, result.offset - this.#base);
          }
          break;
        case 'not-found':
          // NOTE: gitlab-runner carries on after a 404 (docs/gitlab-protocol.md §11 A1): the job still ends with its
          // final state, which carries the trace's size and checksum.
          logger.warn('trace patch answered 404; the job goes on', { jobId: job.id, offset });
          this.#base ??= 0;
          this.#sent = this.#length;
          break;
        case 'aborted':
          this.#requestStop('gone');
          return 'gone';
        // NOTE: never here (the gated call retries them); listed so the switch stays exhaustive.
        case 'retryable':
        case 'failed':
          return 'unsent';
        default: {
          const unreachable: never = result;
          throw new Error(`unknown trace patch result ${JSON.stringify(unreachable)}`);
        }
      }
    }
    return 'sent';
  }

  /** `PUT state=running` with the checksum: the job is alive though it printed nothing for a while. */
  async #touch(deadline: number): Promise<void> {
    const { network, job, info } = this.#options;
    const touch = await this.#gated('touch', deadline, async (): Promise<Attempt<UpdateJobResult>> => {
      try {
        const result = await network.updateJob(job, {
          info,
          state: 'running',
          output: { checksum: this.checksum, bytesize: this.bytesize },
        });
        if (result.kind === 'retryable') return transient(`${result.status} from PUT /jobs/:id`, result);
        return { kind: 'answered', value: result };
      } catch (error) {
        return { kind: 'transient', detail: faultDetail(error) };
      }
    });
    // NOTE: a touch counts only when GitLab took it; a failed one is tried again at the next tick (§11 A4).
    if (touch.kind !== 'answered') return;
    this.applyHints(touch.value);
    if (touch.value.kind === 'aborted') this.#requestStop('gone');
    else this.#lastSentAt = this.#options.clock.now();
  }

  #gated<T>(
    operation: 'trace-patch' | 'touch',
    deadline: number,
    tryOnce: () => Promise<Attempt<T>>,
  ): ReturnType<typeof gatedCall<T>> {
    const { clock, observer } = this.#options;
    return gatedCall(
      {
        clock,
        gate: this.#gate,
        retry: this.#options.retry ?? defaultRetryPolicy,
        random: this.#options.random ?? Math.random,
        ...(observer === undefined ? {} : { observer }),
      },
      {
        caller: this.#caller,
        operation,
        jobId: this.#options.job.id,
        deadline,
        firstTryPastDeadline: true,
        // NOTE: what a tick leaves unsent waits for the next one, so no last try that would slip past the gate.
        lastTry: false,
        tryOnce,
      },
    );
  }

  #requestStop(reason: TraceStopReason): void {
    if (this.#stopReason === 'gone') return;
    if (this.#stopReason === reason) return;
    this.#stopReason = reason;
    this.#options.onStop(reason);
  }

  /** Drops the buffer's bytes from `length` on (bytes GitLab has not been sent). */
  #truncate(length: number): void {
    const kept = this.content.subarray(0, length);
    this.#chunks.splice(0, this.#chunks.length, kept);
    this.#length = length;
  }

  #append(bytes: Buffer): void {
    if (bytes.byteLength === 0) return;
    this.#chunks.push(bytes);
    this.#length += bytes.byteLength;
  }

  #slice(start: number, end: number): Uint8Array {
    return this.content.subarray(start, end);
  }

  #serially<T>(step: () => Promise<T>): Promise<T> {
    const run = this.#lane.then(step);
    this.#lane = run.catch(() => undefined);
    return run;
  }
}

function transient(detail: string, result: JobAnswerHints): Attempt<never> {
  return { kind: 'transient', detail, ...(result.wait === undefined ? {} : { wait: result.wait }) };
}

/** A UTF-8 continuation byte (10xxxxxx): it cannot start a character. */
function isContinuation(byte: number | undefined): boolean {
  return byte !== undefined && (byte & 0xc0) === 0x80;
}

/** How many bytes at the end of `bytes` start a UTF-8 character whose last bytes are still to come (0 to 3). */
function incompleteTail(bytes: Uint8Array): number {
  const length = bytes.byteLength;
  for (let back = 1; back <= Math.min(3, length); back++) {
    const byte = bytes[length - back] ?? 0;
    if (isContinuation(byte)) continue;
    const needed = byte >= 0xf0 ? 4 : byte >= 0xe0 ? 3 : byte >= 0xc0 ? 2 : 1;
    return needed > back ? back : 0;
  }
  return 0;
}
