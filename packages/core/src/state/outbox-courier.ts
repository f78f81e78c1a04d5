import type { Clock } from '../clock/clock.port.js';
import type { ExecutionResult } from '../execution/executor.port.js';
import { type FinalUpdateResult, sendFinalState } from '../job-session/final-update.js';
import type { Logger } from '../logger/logger.port.js';
import type { Network } from '../network/network.port.js';
import type { RunnerInfo } from '../network/runner-info.js';
import type { Observer } from '../observer/observer.port.js';
import type { RetryPolicy } from '../retry/retry-policy.js';
import type { ServerGate } from '../retry/server-gate.js';
import { TraceShipper } from '../trace/trace-shipper.js';
import type { OutboxEntry, StateStore } from './state-store.port.js';

/** What the {@link OutboxCourier} needs. */
export interface OutboxCourierDeps {
  readonly network: Network;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly observer: Observer;
  readonly gate: ServerGate;
  readonly retry: RetryPolicy;
  readonly random: () => number;
  readonly info: RunnerInfo;
  readonly store: StateStore;
}

/** Options of {@link OutboxCourier}. */
export interface OutboxCourierOptions {
  /** How long one round of delivery keeps trying before it pauses. @default 600_000 */
  readonly roundMs?: number;
  /** The pause between rounds while GitLab does not take the state. @default 30_000 */
  readonly pauseMs?: number;
}

/**
 * Delivers the outbox in the background (docs/design.md §2b, "Durable state"): every final state GitLab has not taken
 * yet — left by a job whose final update ran out of time, or found in the store at start-up — is sent again, trace
 * tail first, in rounds through the server's gate, until GitLab takes it (or says the job is gone, or refuses it for
 * good). It never holds back job requests. An entry leaves the store only when one of those answers came.
 */
export class OutboxCourier {
  readonly #deps: OutboxCourierDeps;
  readonly #roundMs: number;
  readonly #pauseMs: number;
  readonly #stopping = new AbortController();
  readonly #deliveries = new Map<number, Promise<void>>();

  constructor(deps: OutboxCourierDeps, options: OutboxCourierOptions = {}) {
    this.#deps = deps;
    this.#roundMs = options.roundMs ?? 600_000;
    this.#pauseMs = options.pauseMs ?? 30_000;
  }

  /** Final states not yet taken by GitLab. */
  get pending(): number {
    return this.#deliveries.size;
  }

  /**
   * Starts delivering `entry` (a job already being delivered is left alone). @returns a promise that settles after
   * the first round, for callers that want to try once before going on.
   */
  send(entry: OutboxEntry, firstRoundMs = this.#roundMs): Promise<void> {
    const jobId = entry.job.id;
    if (this.#deliveries.has(jobId)) return Promise.resolve();
    let firstRound!: () => void;
    const first = new Promise<void>((resolve) => {
      firstRound = resolve;
    });
    const delivery = this.#deliver(entry, firstRoundMs, firstRound).finally(() => {
      this.#deliveries.delete(jobId);
      firstRound();
    });
    this.#deliveries.set(jobId, delivery);
    return first;
  }

  /**
   * Waits until every final state is delivered, or `ms` passed (by the clock). @returns how many are still not
   * delivered (they stay in the store for the next start).
   */
  async drain(ms: number): Promise<number> {
    const { clock } = this.#deps;
    const until = clock.now() + ms;
    while (this.#deliveries.size > 0 && clock.now() < until) {
      const timeout = new AbortController();
      await Promise.race([
        Promise.all([...this.#deliveries.values()]),
        clock.sleep(until - clock.now(), timeout.signal),
      ]);
      timeout.abort();
    }
    return this.#deliveries.size;
  }

  /** Stops delivering (what is left stays in the store). */
  stop(): void {
    this.#stopping.abort();
  }

  async #deliver(entry: OutboxEntry, firstRoundMs: number, firstRound: () => void): Promise<void> {
    const { clock, store, observer, logger } = this.#deps;
    const log = logger.child({ jobId: entry.job.id });
    let current = entry;
    for (let round = 1; !this.#stopping.signal.aborted; round++) {
      const trace = new TraceShipper({
        network: this.#deps.network,
        clock,
        logger: log,
        job: current.job,
        info: this.#deps.info,
        gate: this.#deps.gate,
        retry: this.#deps.retry,
        random: this.#deps.random,
        observer,
        resume: {
          ...(current.trace.offset === undefined ? {} : { offset: current.trace.offset }),
          ...(current.trace.checksum === undefined ? {} : { checksum: current.trace.checksum }),
          ...(current.trace.bytesize === undefined ? {} : { bytesize: current.trace.bytesize }),
        },
        onStop: () => {},
      });
      trace.write(current.trace.tail);
      const result = await sendFinalState(
        {
          network: this.#deps.network,
          clock,
          logger: log,
          info: this.#deps.info,
          retry: this.#deps.retry,
          random: this.#deps.random,
          gate: this.#deps.gate,
          observer,
        },
        current.job,
        trace,
        executionResultOf(current),
        { timeoutMs: round === 1 ? firstRoundMs : this.#roundMs },
      );
      if (round === 1) firstRound();
      if (result.kind !== 'not-reported' || result.reason === 'refused') {
        await store.removeFinalState(current.job.id).catch((error: unknown) => {
          log.error('could not remove a delivered final state from the state store', { error: describeError(error) });
        });
        observer.notify({ event: 'outbox.delivered', jobId: current.job.id, result: deliveredAs(result) });
        if (result.kind === 'not-reported') log.error('GitLab refused the final state', { detail: result.detail });
        return;
      }
      // Keep what GitLab now has: the next round sends only the rest.
      current = {
        ...current,
        trace: {
          ...current.trace,
          ...(trace.acknowledgedOffset === undefined ? {} : { offset: trace.acknowledgedOffset }),
          tail: trace.unsentTail,
        },
      };
      await store.putFinalState(current).catch((error: unknown) => {
        log.error('could not update the final state in the state store', { error: describeError(error) });
      });
      await clock.sleep(this.#pauseMs, this.#stopping.signal);
    }
  }
}

/** The result an outbox entry reports. */
export function executionResultOf(entry: OutboxEntry): ExecutionResult {
  if (entry.state === 'success') return { kind: 'success' };
  return {
    kind: 'failed',
    failureReason: entry.failureReason ?? 'unknown_failure',
    ...(entry.exitCode === undefined ? {} : { exitCode: entry.exitCode }),
  };
}

function deliveredAs(result: FinalUpdateResult): 'reported' | 'gone' | 'refused' {
  return result.kind === 'not-reported' ? 'refused' : result.kind;
}

function describeError(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : 'unknown error';
}
