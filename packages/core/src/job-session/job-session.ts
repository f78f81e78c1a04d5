import type { Clock } from '../clock/clock.port.js';
import { ExecutorError } from '../execution/executor.errors.js';
import type { ExecutionResult, Executor, JobStopReason } from '../execution/executor.port.js';
import { failureReasonFor } from '../job/failure-reasons.js';
import { type JobPayload, jobCredentialsOf, revealVariable } from '../job/job.types.js';
import {
  type ConfirmationOutcome,
  isRunnable,
  type PendingJob,
  type RunnableOutcome,
} from '../job-confirmation/confirmation.types.js';
import type { JobConfirmation } from '../job-confirmation/job-confirmation.js';
import type { Logger } from '../logger/logger.port.js';
import { maskedValuesOf, maskingSink, maskText, tokenPrefixesOf } from '../masking/trace-masking.js';
import type { Network } from '../network/network.port.js';
import type { RunnerInfo } from '../network/runner-info.js';
import type { Observer } from '../observer/observer.port.js';
import type { RetryPolicy } from '../retry/retry-policy.js';
import type { OutboxEntry, StateStore } from '../state/state-store.port.js';
import { TraceShipper } from '../trace/trace-shipper.js';
import { type FinalUpdateOptions, type FinalUpdateResult, sendFinalState } from './final-update.js';

/**
 * Work done while GitLab holds a job pending, before it is confirmed (provisioning a VM, pulling images):
 * keep-alives go out meanwhile. Should stop when `job.signal` aborts. A rejection declines the job.
 */
export type PrepareJob = (job: PendingJob) => Promise<void>;

/** How one job ended for the runner. */
export interface JobReport {
  readonly jobId: number;
  /** The confirmation's outcome. */
  readonly outcome: ConfirmationOutcome;
  /** What the executor reported and GitLab was told; absent when the job did not run. */
  readonly execution?: {
    readonly result: ExecutionResult;
    /** Why the job was stopped early, if it was. */
    readonly stopped?: 'canceled' | 'gone' | 'shutdown';
    readonly finalUpdate: FinalUpdateResult;
    /** The final state was not taken in time and stays in the outbox (see {@link OutboxCourier}). */
    readonly kept?: OutboxEntry;
  };
}

/** What {@link JobSession} needs: ports and the confirmation use case. */
export interface JobSessionDeps {
  readonly network: Network;
  readonly clock: Clock;
  readonly confirmation: JobConfirmation;
  readonly executor: Executor;
  readonly observer: Observer;
  readonly logger: Logger;
  /**
   * Where jobs in flight (the journal) and final states not yet taken (the outbox) are kept, so a crash or an outage
   * loses no result. @default none: nothing is journaled, and a final state that runs out of time is lost
   */
  readonly store?: StateStore;
}

/** Options of {@link JobSession}. */
export interface JobSessionOptions {
  /** The `info` block of trace touches and final updates. */
  readonly info: RunnerInfo;
  readonly retry: RetryPolicy;
  /** @default Math.random */
  readonly random?: () => number;
  /** Trace patch interval until the server sets one. @default 3_000 */
  readonly traceIntervalMs?: number;
  /** A job log's size limit, in bytes: output beyond it is dropped with one notice. @default 4 MiB */
  readonly outputLimitBytes?: number;
  /** Runs between receiving and confirming a job. @default none: confirm at once */
  readonly prepare?: PrepareJob;
  /** How the final update retries. @default sendFinalState's defaults (10 minutes) */
  readonly finalUpdate?: FinalUpdateOptions;
}

/** The injection token of {@link JobSession}. */
export const JOB_SESSION: unique symbol = Symbol('JobSession');

/**
 * One job from hand-out to final state (docs/design.md §2b): hold it pending (and prepare it), confirm it per policy,
 * run confirmed jobs with the executor while shipping the trace, and report the final state. The session owns the
 * trace masking: the executor writes raw output to a sink that already masks the job's secrets (masked variables,
 * the job token, GitLab's token prefixes, across write boundaries). GitLab's stop signals are obeyed:
 * `Job-Status: canceling` aborts the executor and reports `failed`/`job_canceled`; a job gone (403, 404,
 * canceled) aborts it and reports nothing.
 *
 * `shutdown` (the second signal): pending jobs are declined, running ones aborted and reported as
 * `failed`/`runner_system_failure`.
 */
export class JobSession {
  readonly #deps: JobSessionDeps;
  readonly #options: JobSessionOptions;

  constructor(deps: JobSessionDeps, options: JobSessionOptions) {
    this.#deps = deps;
    this.#options = options;
  }

  /**
   * Runs one job's session. Never rejects for anything GitLab or the executor does; `shutdown` aborts it.
   *
   * @param receivedAt when the job request went out (the ack window started no earlier).
   */
  async run(payload: JobPayload, receivedAt: number, shutdown: AbortSignal): Promise<JobReport> {
    const { confirmation, logger } = this.#deps;
    const log = logger.child({ jobId: payload.id });
    const job = jobCredentialsOf(payload);
    // NOTE: one job's journal writes go one after the other, so a late one never overwrites a newer phase.
    let journal = Promise.resolve();
    /** The journal has gone past `pending` (a late mode write must not take it back). */
    let running = false;
    const record = (what: string, write: (store: StateStore) => Promise<void>): Promise<void> => {
      journal = journal.then(() => this.#persist(log, what, write));
      return journal;
    };
    await record('record the job in the journal', (store) =>
      store.recordJob({ job, phase: 'pending', mode: 'unknown', receivedAt }),
    );
    const pending = confirmation.receive(payload, receivedAt);
    if (this.#deps.store !== undefined) {
      void pending.modeKnown.then((mode) =>
        record('record the job mode', async (store) => {
          if (!running) await store.recordJob({ job, phase: 'pending', mode, receivedAt });
        }),
      );
    }
    const decline = (): void => {
      void pending.decline('the runner is shutting down');
    };
    shutdown.addEventListener('abort', decline, { once: true });
    if (shutdown.aborted) decline();
    let outcome: ConfirmationOutcome;
    try {
      if (this.#options.prepare !== undefined && !shutdown.aborted) {
        try {
          await this.#options.prepare(pending);
        } catch (error) {
          log.warn('preparation failed; declining the job', { error: error instanceof Error ? error.name : 'error' });
          await pending.decline('preparation failed');
        }
      }
      // NOTE: journaled before the confirmation can go out: a crash while it is on the wire leaves a job GitLab may
      // run, which a restart must report rather than let lapse (soak D2).
      if (!pending.signal.aborted) {
        running = true;
        await record('record the confirming job', (store) =>
          store.recordJob({ job, phase: 'confirming', mode: pending.mode, receivedAt }),
        );
      }
      outcome = await pending.confirm();
      running = true;
    } finally {
      shutdown.removeEventListener('abort', decline);
    }
    if (!isRunnable(outcome)) {
      await record('forget the job', (store) => store.forgetJob(payload.id));
      return { jobId: payload.id, outcome };
    }
    await record('record the running job', (store) =>
      store.recordJob({ job, phase: 'running', mode: outcome.mode, receivedAt }),
    );
    const execution = await this.#execute(outcome, shutdown, log);
    return { jobId: payload.id, outcome, execution };
  }

  /** A state-store write that fails is logged, never the job's end: the store adds durability, it is not the job. */
  async #persist(log: Logger, what: string, write: (store: StateStore) => Promise<void>): Promise<void> {
    const { store } = this.#deps;
    if (store === undefined) return;
    try {
      await write(store);
    } catch (error) {
      log.error(`could not ${what} in the state store`, { error: error instanceof Error ? error.message : 'error' });
    }
  }

  async #execute(
    outcome: RunnableOutcome,
    shutdown: AbortSignal,
    log: Logger,
  ): Promise<NonNullable<JobReport['execution']>> {
    const { network, clock, executor, observer } = this.#deps;
    const { job } = outcome;
    const started = clock.now();
    const stop = new AbortController();
    let stopped: JobStopReason | undefined;
    const stopWith = (reason: JobStopReason): void => {
      // NOTE: a job gone from GitLab outranks a cancel: nothing may be reported for it.
      if (stopped === undefined || reason === 'gone') stopped = reason;
      stop.abort(reason);
    };
    const gate = this.#deps.confirmation.gate;
    const random = this.#options.random ?? Math.random;
    const trace = new TraceShipper({
      network,
      clock,
      logger: log,
      job: job.credentials,
      info: this.#options.info,
      gate,
      retry: this.#options.retry,
      random,
      observer,
      debugTrace: debugTraceOf(job.payload),
      ...(this.#options.traceIntervalMs === undefined ? {} : { intervalMs: this.#options.traceIntervalMs }),
      ...(this.#options.outputLimitBytes === undefined ? {} : { outputLimitBytes: this.#options.outputLimitBytes }),
      onStop: (reason) => stopWith(reason === 'gone' ? 'gone' : 'canceled'),
    });
    const onShutdown = (): void => stopWith('shutdown');
    shutdown.addEventListener('abort', onShutdown, { once: true });
    if (shutdown.aborted) onShutdown();
    if (job.updateIntervalMs !== undefined)
      trace.applyHints({ updateIntervalMs: job.updateIntervalMs, cancelRequested: false });
    const masked = maskedValuesOf(job.payload);
    const prefixes = tokenPrefixesOf(job.payload);
    const sink = maskingSink(trace, masked, prefixes);
    trace.start();
    log.info('job started', { confirmation: job.confirmation, mode: job.mode, strategy: job.strategy });

    let result: ExecutionResult;
    try {
      result = await executor.execute(job, { signal: stop.signal, trace: sink });
    } catch (error) {
      // NOTE: the cause in words, masked like the trace: an executor's message may quote what the job gave it.
      const cause = maskText(executorFaultText(error), masked, prefixes);
      log.error('executor failed', { error: cause, ...(hasCode(error) ? { code: error.code } : {}) });
      sink.write(`\nERROR: the executor failed: ${cause}\n`);
      result = { kind: 'failed', failureReason: 'runner_system_failure' };
    } finally {
      shutdown.removeEventListener('abort', onShutdown);
      sink.flush();
    }
    await trace.stop();

    // NOTE: GitLab is told only reasons it lists (§11 A6); the session decides that once, for the outbox too.
    const reported = toldAs(reportedResult(result, stopped), job.payload);
    let finalUpdate: FinalUpdateResult;
    let kept: OutboxEntry | undefined;
    const outboxEntry = (): OutboxEntry => ({
      job: job.credentials,
      state: reported.kind,
      ...(reported.kind === 'failed' ? { failureReason: reported.failureReason } : {}),
      ...(reported.kind === 'failed' && reported.exitCode !== undefined ? { exitCode: reported.exitCode } : {}),
      trace: {
        ...(trace.acknowledgedOffset === undefined ? {} : { offset: trace.acknowledgedOffset }),
        tail: trace.unsentTail,
        checksum: trace.checksum,
        bytesize: trace.bytesize,
      },
      finishedAt: clock.now(),
    });
    if (stopped === 'gone') {
      log.warn('GitLab dropped the job while it ran; no final update');
      finalUpdate = { kind: 'gone', attempts: 0 };
      await this.#persist(log, 'forget the job', (store) => store.forgetJob(job.id));
    } else {
      // NOTE: kept before it is first sent, so a crash from here on still reports it on the next start.
      await this.#persist(log, 'keep the final state in the outbox', (store) => store.putFinalState(outboxEntry()));
      finalUpdate = await sendFinalState(
        {
          network,
          clock,
          logger: log,
          info: this.#options.info,
          retry: this.#options.retry,
          random,
          gate,
          observer,
        },
        job.credentials,
        trace,
        reported,
        this.#options.finalUpdate ?? {},
      );
      if (finalUpdate.kind === 'not-reported' && finalUpdate.reason === 'timeout') {
        kept = outboxEntry();
        await this.#persist(log, 'keep the final state in the outbox', (store) => store.putFinalState(kept!));
        observer.notify({ event: 'outbox.kept', jobId: job.id });
      } else {
        if (finalUpdate.kind === 'not-reported')
          log.error('GitLab refused the final state', { detail: finalUpdate.detail });
        await this.#persist(log, 'remove the delivered final state', (store) => store.removeFinalState(job.id));
      }
    }
    observer.notify({
      event: 'job.finished',
      jobId: job.id,
      state: reported.kind,
      ...(reported.kind === 'failed' ? { failureReason: reported.failureReason } : {}),
      ...(reported.kind === 'failed' && reported.exitCode !== undefined ? { exitCode: reported.exitCode } : {}),
      report: finalUpdate.kind,
      elapsedMs: clock.now() - started,
    });
    return {
      result: reported,
      ...(stopped === undefined ? {} : { stopped }),
      finalUpdate,
      ...(kept === undefined ? {} : { kept }),
    };
  }
}

/** The state GitLab is told: the executor's result, unless the job was stopped for a reason of ours or GitLab's. */
function reportedResult(
  result: ExecutionResult,
  stopped: 'canceled' | 'gone' | 'shutdown' | undefined,
): ExecutionResult {
  switch (stopped) {
    case undefined:
    case 'gone':
      return result;
    case 'canceled':
      return { kind: 'failed', failureReason: 'job_canceled' };
    case 'shutdown':
      return { kind: 'failed', failureReason: 'runner_system_failure' };
    default: {
      const unreachable: never = stopped;
      throw new Error(`unknown stop reason ${String(unreachable)}`);
    }
  }
}

/** Whether the job asked for a debug trace (`CI_DEBUG_TRACE`), so patches say `debug_trace=true` (§11 A10). */
function debugTraceOf(payload: JobPayload): boolean {
  const variable = payload.variables?.find((candidate) => candidate.key === 'CI_DEBUG_TRACE');
  return variable !== undefined && revealVariable(variable) === 'true';
}

/** The result as GitLab is told it: a failure reason it does not list becomes `unknown_failure`. */
function toldAs(result: ExecutionResult, payload: JobPayload): ExecutionResult {
  if (result.kind === 'success') return result;
  const failureReason = failureReasonFor(result.failureReason, payload);
  return failureReason === result.failureReason ? result : { ...result, failureReason };
}

/** What an executor's fault says: an {@link ExecutorError}'s words, otherwise the message and the error code. */
function executorFaultText(error: unknown): string {
  if (error instanceof ExecutorError) return error.message;
  if (!(error instanceof Error)) return String(error);
  const text = error.message === '' ? error.name : error.message;
  return hasCode(error) && !text.includes(error.code) ? `${text} (${error.code})` : text;
}

function hasCode(error: unknown): error is { readonly code: string } {
  return typeof error === 'object' && error !== null && typeof (error as { code?: unknown }).code === 'string';
}
