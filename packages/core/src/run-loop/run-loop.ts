import type { JobPayload } from '../job/job.types.js';
import { isRunnable } from '../job-confirmation/confirmation.types.js';
import type { FinalUpdateOptions } from '../job-session/final-update.js';
import { type JobReport, JobSession, type JobSessionDeps, type PrepareJob } from '../job-session/job-session.js';
import type { Logger } from '../logger/logger.port.js';
import {
  ClientConfigError,
  faultDetail,
  MalformedResponseError,
  NetworkError,
  TransportError,
} from '../network/network.errors.js';
import type { RequestJobResult } from '../network/network.types.js';
import type { RunnerCredentials, RunnerInfo } from '../network/runner-info.js';
import { type Attempt, gatedCall } from '../retry/gated-call.js';
import { defaultRetryPolicy, type RetryPolicy } from '../retry/retry-policy.js';
import { InMemoryStateStore } from '../state/in-memory-state-store.js';
import { OutboxCourier } from '../state/outbox-courier.js';
import { recoverState } from '../state/recovery.js';
import type { StateStore } from '../state/state-store.port.js';
import type { JobSlots } from './job-slots.js';

/** Options of {@link RunLoop}; see `runner-core run --help` for the flags behind them. */
export interface RunLoopOptions {
  readonly credentials: RunnerCredentials;
  /** The `info` block of job requests and updates (advertises `two_phase_job_commit`). */
  readonly info: RunnerInfo;
  /** Jobs handled at once. @default 1 */
  readonly concurrency?: number;
  /** Milliseconds between job requests while none is queued. @default 3_000 */
  readonly checkIntervalMs?: number;
  /** Handle one job (or none) and end. @default false */
  readonly once?: boolean;
  /** End after this many jobs were handed out (gitlab-runner's `--max-builds`). @default no limit */
  readonly maxJobs?: number;
  /** End when no job came this long after the start (gitlab-runner's `--wait-timeout`). @default wait for ever */
  readonly waitTimeoutMs?: number;
  /**
   * A limit shared with other loops (gitlab-runner's `concurrent` over several runners): a slot is taken before each
   * job request and given back when the job ends. `concurrency` still limits this loop. @default none
   */
  readonly slots?: JobSlots;
  /** Backoff between job request retries and final update retries. @default defaultRetryPolicy */
  readonly retry?: RetryPolicy;
  /** @default Math.random */
  readonly random?: () => number;
  /** Tries of one job request on 429, 503 or a connection never made. @default 5 */
  readonly maxRequestAttempts?: number;
  /** Longest wait after GitLab refused the runner token (doubling from the check interval). @default 300_000 */
  readonly maxUnhealthyBackoffMs?: number;
  /** Trace patch interval until the server sets one. @default 3_000 */
  readonly traceIntervalMs?: number;
  /** A job log's size limit, in bytes (gitlab-runner's `output_limit`). @default 4 MiB */
  readonly outputLimitBytes?: number;
  /** Runs while a job is held pending, before it is confirmed. @default none */
  readonly prepare?: PrepareJob;
  /** How the final update of each job retries. @default 10 minutes (sendFinalState) */
  readonly finalUpdate?: FinalUpdateOptions;
  /** How long the first try of each outbox entry found at start may take before job requests begin. @default 15_000 */
  readonly recoveryFirstTryMs?: number;
  /**
   * How long the run waits, once its jobs are done, for the outbox's final states to be delivered before it ends
   * (`once`, or after a first signal). What is left stays in the store for the next start. @default 60_000
   */
  readonly outboxWaitMs?: number;
}

/** How a run ended. */
export interface RunSummary {
  readonly reports: readonly JobReport[];
  /**
   * `stopped` (a signal), `once` (`--once` done), `unhealthy` (`--once` and GitLab refused the runner), `max-jobs`
   * (`maxJobs` handed out), `wait-timeout` (no job within `waitTimeoutMs`).
   */
  readonly ended: 'stopped' | 'once' | 'unhealthy' | 'max-jobs' | 'wait-timeout';
  /** Final states GitLab had not taken when the run ended (they stay in the state store for the next start). */
  readonly unreported: number;
  /**
   * 0, or 1 when GitLab refused the runner under `--once`, a job request failed under `--once`, a job's confirmation
   * ended `unreachable`/`invalid` or a release did not land, or a final state is still unreported: the process never
   * exits 0 with a result GitLab does not have.
   */
  readonly exitCode: 0 | 1;
}

/** How long one job request may wait for the gate and a server's waits before it ends as failed. */
const REQUEST_BUDGET_MS = 10 * 60_000;

/** The injection token of {@link RunLoop}. */
export const RUN_LOOP: unique symbol = Symbol('RunLoop');

/** What one job request came to, after its retries. */
type RequestAnswer =
  | { readonly kind: 'job'; readonly job: JobPayload }
  | { readonly kind: 'none' }
  | { readonly kind: 'invalid'; readonly error: MalformedResponseError }
  | { readonly kind: 'unhealthy'; readonly reason: string }
  | { readonly kind: 'failed'; readonly detail: string }
  | { readonly kind: 'stopped' };

/**
 * The runner: requests jobs every check interval (at once again after a job), at most `concurrency` at a time, and
 * hands each to a {@link JobSession} (hold, confirm, execute, report).
 *
 * Job requests are not idempotent (GitLab may assign a job whose answer is lost), so they are retried only when
 * the request certainly never left (`TransportError.sent === false`) and on 429/503 with the server's wait. A 403
 * marks the runner unhealthy: it backs off, doubling from the check interval up to 5 minutes.
 *
 * {@link RunLoop.stop} (first signal) stops requesting and lets jobs in flight finish; {@link RunLoop.abort}
 * (second signal) declines pending jobs and fails running ones as `runner_system_failure`.
 */
export class RunLoop {
  readonly #deps: JobSessionDeps;
  readonly #options: RunLoopOptions;
  readonly #session: JobSession;
  readonly #stopping = new AbortController();
  readonly #shutdown = new AbortController();
  readonly #active = new Set<Promise<void>>();
  readonly #wakers = new Set<() => void>();
  readonly #requestCaller: symbol = Symbol('job requests');
  readonly #store: StateStore;
  readonly #courier: OutboxCourier;

  constructor(deps: JobSessionDeps, options: RunLoopOptions) {
    const concurrency = options.concurrency ?? 1;
    if (!Number.isSafeInteger(concurrency) || concurrency < 1) {
      throw new RangeError(`RunLoop option concurrency: expected a positive integer, got ${concurrency}`);
    }
    const checkIntervalMs = options.checkIntervalMs ?? 3_000;
    if (!Number.isFinite(checkIntervalMs) || checkIntervalMs <= 0) {
      throw new RangeError(`RunLoop option checkIntervalMs: expected a positive number, got ${checkIntervalMs}`);
    }
    if (options.maxJobs !== undefined && (!Number.isSafeInteger(options.maxJobs) || options.maxJobs < 1)) {
      throw new RangeError(`RunLoop option maxJobs: expected a positive integer, got ${options.maxJobs}`);
    }
    if (options.waitTimeoutMs !== undefined && !(options.waitTimeoutMs > 0)) {
      throw new RangeError(`RunLoop option waitTimeoutMs: expected a positive number, got ${options.waitTimeoutMs}`);
    }
    this.#store = deps.store ?? new InMemoryStateStore();
    this.#deps = { ...deps, store: this.#store };
    this.#options = options;
    this.#courier = new OutboxCourier({
      network: deps.network,
      clock: deps.clock,
      logger: deps.logger,
      observer: deps.observer,
      gate: deps.confirmation.gate,
      retry: options.retry ?? defaultRetryPolicy,
      random: options.random ?? Math.random,
      info: options.info,
      store: this.#store,
    });
    this.#shutdown.signal.addEventListener('abort', () => this.#courier.stop(), { once: true });
    this.#session = new JobSession(this.#deps, {
      info: options.info,
      retry: options.retry ?? defaultRetryPolicy,
      ...(options.random === undefined ? {} : { random: options.random }),
      ...(options.traceIntervalMs === undefined ? {} : { traceIntervalMs: options.traceIntervalMs }),
      ...(options.outputLimitBytes === undefined ? {} : { outputLimitBytes: options.outputLimitBytes }),
      ...(options.prepare === undefined ? {} : { prepare: options.prepare }),
      ...(options.finalUpdate === undefined ? {} : { finalUpdate: options.finalUpdate }),
    });
    this.#stopping.signal.addEventListener('abort', () => this.#wakeAll(), { once: true });
  }

  /** Stop requesting jobs; jobs in flight finish. `run()` resolves once they have. */
  stop(): void {
    this.#stopping.abort();
  }

  /** Stop everything: pending jobs are declined, running jobs aborted and failed as `runner_system_failure`. */
  abort(): void {
    this.#stopping.abort();
    this.#shutdown.abort();
  }

  /** Whether {@link RunLoop.stop} or {@link RunLoop.abort} was called. */
  get stopping(): boolean {
    return this.#stopping.signal.aborted;
  }

  /** Jobs being handled right now. */
  get activeJobs(): number {
    return this.#active.size;
  }

  /** Final states kept in the outbox that GitLab has not taken yet (they are sent again in the background). */
  get unreportedFinalStates(): number {
    return this.#courier.pending;
  }

  /** Runs until stopped (or, with `once`, until one job or none was handled). Never rejects for GitLab's answers. */
  async run(): Promise<RunSummary> {
    const { clock, logger, observer, confirmation } = this.#deps;
    const once = this.#options.once ?? false;
    const concurrency = this.#options.concurrency ?? 1;
    const checkIntervalMs = this.#options.checkIntervalMs ?? 3_000;
    const maxBackoffMs = this.#options.maxUnhealthyBackoffMs ?? 300_000;
    const { maxJobs, waitTimeoutMs, slots } = this.#options;
    const startedAt = clock.now();
    let handedOut = 0;
    const reports: JobReport[] = [];
    let ended: RunSummary['ended'] = 'stopped';
    let failed = false;
    let backoffMs = 0;

    const healthy = (): void => {
      if (backoffMs === 0) return;
      backoffMs = 0;
      observer.notify({ event: 'runner.healthy' });
    };

    logger.info('runner started', {
      runner: this.#options.credentials.token.short(),
      systemId: this.#options.credentials.systemId,
      concurrency,
      checkIntervalMs,
    });
    // NOTE: what the previous run left (final states, jobs in flight) goes first; what cannot be delivered yet goes on
    // in the background and never holds back job requests.
    await recoverState(
      { store: this.#store, courier: this.#courier, clock, observer, logger, executor: this.#deps.executor },
      this.#options.recoveryFirstTryMs ?? 15_000,
    ).catch((error: unknown) => {
      failed = true;
      logger.error('could not read the state store; starting without it', { error: faultDetail(error) });
    });
    loop: while (!this.stopping) {
      while (this.#active.size >= concurrency && !this.stopping) await this.#nextWake();
      if (this.stopping) break;
      if (waitTimeoutMs !== undefined && handedOut === 0 && clock.now() - startedAt >= waitTimeoutMs) {
        logger.info('no job came within the wait timeout', { waitTimeoutMs });
        ended = 'wait-timeout';
        break;
      }
      // NOTE: the shared slot comes before the request: a job GitLab hands out must be able to start.
      const release = slots === undefined ? () => {} : await slots.acquire(this.#stopping.signal);
      if (release === undefined) break;
      const receivedAt = clock.now();
      const answer = await this.#requestJob();
      if (answer.kind !== 'job') release();
      switch (answer.kind) {
        case 'job': {
          healthy();
          handedOut += 1;
          const task = this.#session.run(answer.job, receivedAt, this.#shutdown.signal).then(
            (report) => {
              reports.push(report);
              // A final state that ran out of time goes on in the background; the run's end counts what is left.
              const kept = report.execution?.kept;
              if (kept !== undefined) void this.#courier.send(kept);
              if (!isClean(report)) failed = true;
            },
            (error: unknown) => {
              failed = true;
              logger.error('job handling failed', { jobId: answer.job.id, error: faultDetail(error) });
            },
          );
          this.#track(task.finally(release));
          if (once) {
            await task;
            ended = 'once';
            break loop;
          }
          if (maxJobs !== undefined && handedOut >= maxJobs) {
            ended = 'max-jobs';
            break loop;
          }
          continue;
        }
        case 'invalid': {
          healthy();
          const outcome = await confirmation.releaseInvalid(answer.error);
          reports.push({ jobId: outcome.jobId, outcome });
          failed = true;
          if (once) {
            ended = 'once';
            break loop;
          }
          continue;
        }
        case 'none':
          healthy();
          if (once) {
            ended = 'once';
            break loop;
          }
          await clock.sleep(checkIntervalMs, this.#stopping.signal);
          continue;
        case 'failed':
          if (once) {
            failed = true;
            ended = 'once';
            break loop;
          }
          await clock.sleep(checkIntervalMs, this.#stopping.signal);
          continue;
        case 'unhealthy': {
          backoffMs = Math.min(maxBackoffMs, backoffMs === 0 ? checkIntervalMs : backoffMs * 2);
          observer.notify({ event: 'runner.unhealthy', reason: answer.reason, backoffMs });
          if (once) {
            failed = true;
            ended = 'unhealthy';
            break loop;
          }
          logger.error(`${answer.reason}; next job request in ${Math.round(backoffMs / 1000)} s`);
          await clock.sleep(backoffMs, this.#stopping.signal);
          continue;
        }
        case 'stopped':
          break loop;
        default: {
          const unreachable: never = answer;
          throw new Error(`unknown request answer ${JSON.stringify(unreachable)}`);
        }
      }
    }
    if (this.#active.size > 0) logger.info('waiting for jobs in flight', { jobs: this.#active.size });
    while (this.#active.size > 0) await Promise.all([...this.#active]);
    if (this.#courier.pending > 0) {
      logger.info('waiting for the outbox to be delivered', { entries: this.#courier.pending });
    }
    const unreported = await this.#courier.drain(
      this.#shutdown.signal.aborted ? 0 : (this.#options.outboxWaitMs ?? 60_000),
    );
    this.#courier.stop();
    if (unreported > 0) {
      logger.error('final states not yet taken by GitLab stay in the state store for the next start', {
        entries: unreported,
      });
    }
    logger.info('runner stopped', { jobs: reports.length });
    return { reports, ended, unreported, exitCode: failed || unreported > 0 ? 1 : 0 };
  }

  /**
   * One job request, retried only where that is safe (see the class comment), through the server's gate: while
   * GitLab fails or asked for a wait, job requests wait with every other call. The first signal aborts it, a long
   * poll included.
   */
  async #requestJob(): Promise<RequestAnswer> {
    const { clock, logger, confirmation, observer } = this.#deps;
    const { credentials } = this.#options;
    const maxAttempts = this.#options.maxRequestAttempts ?? 5;
    const log = logger.child({ runner: credentials.token.short() });
    const signal = this.#stopping.signal;
    const outcome = await gatedCall<RequestAnswer>(
      {
        clock,
        gate: confirmation.gate,
        retry: this.#options.retry ?? defaultRetryPolicy,
        random: this.#options.random ?? Math.random,
        observer,
      },
      {
        caller: this.#requestCaller,
        operation: 'request-job',
        jobId: 0,
        // NOTE: a server's wait longer than this ends the request; the next one waits for the gate again.
        deadline: clock.now() + REQUEST_BUDGET_MS,
        signal,
        firstTryPastDeadline: true,
        lastTry: false,
        tryOnce: (attempt) => this.#tryRequest(attempt, maxAttempts, log),
      },
    );
    switch (outcome.kind) {
      case 'answered':
        return outcome.value;
      case 'aborted':
        return { kind: 'stopped' };
      case 'exhausted':
        return { kind: 'failed', detail: outcome.detail };
      default: {
        const unreachable: never = outcome;
        throw new Error(`unknown request outcome ${JSON.stringify(unreachable)}`);
      }
    }
  }

  /** One try of a job request: `transient` only when repeating it is safe and tries are left. */
  async #tryRequest(attempt: number, maxAttempts: number, log: Logger): Promise<Attempt<RequestAnswer>> {
    const { credentials, info } = this.#options;
    const canRetry = attempt < maxAttempts;
    let result: RequestJobResult;
    try {
      result = await this.#deps.network.requestJob({ credentials, info, signal: this.#stopping.signal });
    } catch (error) {
      if (error instanceof MalformedResponseError) {
        log.error('job request answered with an unusable payload', { error: faultDetail(error) });
        return { kind: 'answered', value: { kind: 'invalid', error } };
      }
      if (this.#stopping.signal.aborted) return { kind: 'answered', value: { kind: 'stopped' } };
      if (error instanceof ClientConfigError) {
        return {
          kind: 'answered',
          value: { kind: 'unhealthy', reason: `the GitLab client cannot be used as configured: ${error.message}` },
        };
      }
      if (error instanceof TransportError && !error.sent && canRetry) {
        return { kind: 'transient', detail: `${faultDetail(error)} (not sent)` };
      }
      if (!(error instanceof NetworkError)) throw error;
      // NOTE: a request that may have reached GitLab is never repeated: GitLab may have assigned a job to it.
      log.warn('job request failed', { error: faultDetail(error) });
      return { kind: 'answered', value: { kind: 'failed', detail: faultDetail(error) } };
    }
    switch (result.kind) {
      case 'job':
        log.debug('job request answered with a job', { jobId: result.job.id, requestId: result.requestId });
        return { kind: 'answered', value: { kind: 'job', job: result.job } };
      case 'no-job':
        log.debug('job request answered: no job', { requestId: result.requestId });
        return { kind: 'answered', value: { kind: 'none' } };
      case 'forbidden':
        // NOTE: no line here: the run loop logs the refusal once, with the back-off (see `unhealthy`).
        return {
          kind: 'answered',
          value: {
            kind: 'unhealthy',
            reason: 'GitLab refused the runner token (403 Forbidden): check --token, or whether the runner was deleted',
          },
        };
      case 'unavailable':
      case 'rate-limited': {
        const status = result.kind === 'unavailable' ? 503 : 429;
        if (!canRetry) {
          log.warn(`Checking for jobs... ${status} after ${attempt} tries`, { requestId: result.requestId });
          return { kind: 'answered', value: { kind: 'failed', detail: `${status} after ${attempt} tries` } };
        }
        return {
          kind: 'transient',
          detail: `${status} from POST /jobs/request`,
          ...(result.wait === undefined ? {} : { wait: result.wait }),
        };
      }
      case 'failed':
        log.warn('Checking for jobs... failed', {
          status: result.status,
          message: result.message,
          requestId: result.requestId,
        });
        return { kind: 'answered', value: { kind: 'failed', detail: `status ${result.status}` } };
      default: {
        const unreachable: never = result;
        throw new Error(`unknown job request result ${JSON.stringify(unreachable)}`);
      }
    }
  }

  #track(task: Promise<void>): void {
    const tracked = task.finally(() => {
      this.#active.delete(tracked);
      this.#wakeAll();
    });
    this.#active.add(tracked);
  }

  #nextWake(): Promise<void> {
    return new Promise((resolve) => this.#wakers.add(resolve));
  }

  #wakeAll(): void {
    for (const wake of [...this.#wakers]) wake();
    this.#wakers.clear();
  }
}

/** Whether a job ended without a fault of the runner's (refusals by GitLab are not faults). */
function isClean(report: JobReport): boolean {
  if (report.outcome.kind === 'unreachable' || report.outcome.kind === 'invalid') return false;
  if (!isRunnable(report.outcome) && report.outcome.release?.delivered === false) return false;
  const finalUpdate = report.execution?.finalUpdate;
  return finalUpdate === undefined || finalUpdate.kind !== 'not-reported' || finalUpdate.reason === 'timeout';
}
