import { crc32 } from 'node:zlib';
import type { Clock } from '../clock/clock.port.js';
import type { TraceSink } from '../execution/executor.port.js';
import type { JobCredentials } from '../job/job.types.js';
import type { Logger } from '../logger/logger.port.js';
import { faultDetail } from '../network/network.errors.js';
import type { Network } from '../network/network.port.js';
import type { JobAnswerHints, PatchTraceResult, UpdateJobResult } from '../network/network.types.js';
import type { RunnerInfo } from '../network/runner-info.js';

/** Why the shipper asks the job to stop. */
export type TraceStopReason = 'cancel-requested' | 'gone';

/** Options of {@link TraceShipper}. */
export interface TraceShipperOptions {
  readonly network: Network;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly job: JobCredentials;
  readonly info: RunnerInfo;
  /** Time between trace patches, until the server sets another with `X-GitLab-Trace-Update-Interval`. @default 3_000 */
  readonly intervalMs?: number;
  /** With nothing sent for this long, a `PUT state=running` tells GitLab the job is alive. @default 30_000 */
  readonly forceSendIntervalMs?: number;
  /** Largest patch, in bytes. @default 1_048_576 */
  readonly maxPatchBytes?: number;
  /** Output beyond this many bytes is dropped (a notice is written once). @default 4_194_304 */
  readonly outputLimitBytes?: number;
  /**
   * Called when GitLab says the job must stop: canceled by a user (`cancel-requested`), or gone (403, 404,
   * `Job-Status: canceled/failed`). Once per reason; `gone` may follow `cancel-requested`.
   */
  readonly onStop: (reason: TraceStopReason) => void;
}

/** Longest interval a server may impose (gitlab-runner's `MaxUpdateInterval`). */
const MAX_INTERVAL_MS = 15 * 60_000;
/** Range mismatches answered in a row before a flush gives up until the next tick. */
const MAX_RANGE_RETRIES = 3;

/**
 * Ships a running job's output to GitLab as its trace (`PATCH /jobs/:id/trace`), as gitlab-runner's trace watcher
 * does (docs/gitlab-protocol.md §6.3, §7): every interval the unsent bytes go out in patches of at most 1 MiB; `416`
 * restarts from the server's offset; `Job-Status: canceling` asks the job to stop (canceled); `403`, `404` or
 * `Job-Status: canceled/failed` ask it to stop for good (gone); transient failures keep the bytes for the next
 * tick. With nothing to send for 30 s, a `PUT state=running` with the trace checksum keeps the job alive.
 *
 * It is the executor's {@link TraceSink}: `write` only buffers, so output never waits on the network.
 */
export class TraceShipper implements TraceSink {
  readonly #options: TraceShipperOptions;
  readonly #chunks: Buffer[] = [];
  #length = 0;
  #sent = 0;
  #intervalMs: number;
  #lastSentAt: number;
  #dropped = false;
  #stopReason: TraceStopReason | undefined;
  #lane: Promise<unknown> = Promise.resolve();
  readonly #ticker = new AbortController();
  #loop: Promise<void> | undefined;

  constructor(options: TraceShipperOptions) {
    this.#options = options;
    this.#intervalMs = options.intervalMs ?? 3_000;
    this.#lastSentAt = options.clock.now();
  }

  /** Buffers output; bytes beyond the output limit are dropped with one notice. */
  write(chunk: string | Uint8Array): void {
    const bytes = typeof chunk === 'string' ? Buffer.from(chunk, 'utf8') : Buffer.from(chunk);
    const limit = this.#options.outputLimitBytes ?? 4 * 1024 * 1024;
    if (this.#length + bytes.byteLength > limit) {
      if (this.#dropped) return;
      this.#dropped = true;
      const notice = Buffer.from(`\nWARNING: job output exceeded ${limit} bytes; the rest is not shown\n`);
      const room = Math.max(0, limit - this.#length);
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

  /** Bytes GitLab has acknowledged. */
  get sentBytes(): number {
    return this.#sent;
  }

  get bytesize(): number {
    return this.#length;
  }

  /** `crc32:` + 8 hex of the whole trace, as gitlab-runner sends it with updates. */
  get checksum(): string {
    let value = 0;
    for (const chunk of this.#chunks) value = crc32(chunk, value);
    return `crc32:${value.toString(16).padStart(8, '0')}`;
  }

  /** The interval in force (the server may change it); also the wait between final-update retries after 202. */
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

  /** Sends everything unsent. Resolves `true` when GitLab has the whole trace. */
  flushAll(): Promise<boolean> {
    return this.#serially(() => this.#flush());
  }

  /** GitLab could not validate the trace (412): send it again from the start. */
  resendAll(): Promise<boolean> {
    return this.#serially(async () => {
      this.#sent = 0;
      return this.#flush();
    });
  }

  /** Applies the answer hints of any call about this job (interval changes, cancellation). */
  applyHints(hints: JobAnswerHints): void {
    if (hints.updateIntervalMs !== undefined && hints.updateIntervalMs > 0) {
      this.#intervalMs = Math.min(hints.updateIntervalMs, MAX_INTERVAL_MS);
    }
    if (hints.cancelRequested) this.#requestStop('cancel-requested');
  }

  async #tick(): Promise<void> {
    const { clock } = this.#options;
    while (!this.#ticker.signal.aborted && this.#stopReason !== 'gone') {
      await clock.sleep(this.#intervalMs, this.#ticker.signal);
      if (this.#ticker.signal.aborted) return;
      await this.#serially(async () => {
        if (this.#sent < this.#length) await this.#flush();
        else if (clock.now() - this.#lastSentAt >= (this.#options.forceSendIntervalMs ?? 30_000)) await this.#touch();
      });
    }
  }

  async #flush(): Promise<boolean> {
    const { network, job, logger } = this.#options;
    const maxPatch = this.#options.maxPatchBytes ?? 1024 * 1024;
    let mismatches = 0;
    while (this.#sent < this.#length && this.#stopReason !== 'gone') {
      const offset = this.#sent;
      const content = this.#slice(offset, Math.min(this.#length, offset + maxPatch));
      let result: PatchTraceResult;
      try {
        result = await network.patchTrace(job, { content, offset });
      } catch (error) {
        logger.warn('trace patch failed; will retry', { error: faultDetail(error) });
        return false;
      }
      this.applyHints(result);
      switch (result.kind) {
        case 'succeeded':
          this.#sent = Math.min(this.#length, Math.max(offset, result.offset));
          this.#lastSentAt = this.#options.clock.now();
          break;
        case 'range-mismatch':
          // NOTE: 416 carries the server's size in `Range: 0-<size>`: continue from there.
          this.#sent = Math.min(this.#length, Math.max(0, result.offset));
          mismatches += 1;
          if (mismatches > MAX_RANGE_RETRIES) return false;
          break;
        case 'aborted':
        case 'not-found':
          this.#requestStop('gone');
          return false;
        case 'retryable':
        case 'failed':
          logger.warn('trace patch not accepted; will retry', { status: result.status });
          return false;
        default: {
          const unreachable: never = result;
          throw new Error(`unknown trace patch result ${JSON.stringify(unreachable)}`);
        }
      }
    }
    return this.#sent >= this.#length;
  }

  /** `PUT state=running` with the checksum: the job is alive though it printed nothing for a while. */
  async #touch(): Promise<void> {
    const { network, job, info, logger, clock } = this.#options;
    this.#lastSentAt = clock.now();
    let result: UpdateJobResult;
    try {
      result = await network.updateJob(job, {
        info,
        state: 'running',
        output: { checksum: this.checksum, bytesize: this.#length },
      });
    } catch (error) {
      logger.warn('job touch failed', { error: faultDetail(error) });
      return;
    }
    this.applyHints(result);
    if (result.kind === 'aborted') this.#requestStop('gone');
  }

  #requestStop(reason: TraceStopReason): void {
    if (this.#stopReason === 'gone') return;
    if (this.#stopReason === reason) return;
    this.#stopReason = reason;
    this.#options.onStop(reason);
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
