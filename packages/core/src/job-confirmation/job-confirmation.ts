import type { Clock } from '../clock/clock.port.js';
import type { JobPayload } from '../job/job.types.js';
import type { MalformedResponseError } from '../network/network.errors.js';
import type { Network } from '../network/network.port.js';
import { runnerInfo } from '../network/runner-info.js';
import { nullObserver, type Observer } from '../observer/observer.port.js';
import { defaultRetryPolicy } from '../retry/retry-policy.js';
import { ServerGate } from '../retry/server-gate.js';
import type {
  ConfirmationOutcome,
  ConfirmPolicy,
  JobConfirmationOptions,
  PendingJob,
  StrategyChoice,
  StrategyName,
} from './confirmation.types.js';
import { type Context, createContext, type Settings } from './confirmation-context.js';
import { PendingJobHandle } from './pending-job.js';
import { assertNever } from './strategies/confirmation-strategy.port.js';

/** What `JobConfirmation` needs from the outside world. */
export interface JobConfirmationDeps {
  readonly network: Network;
  readonly clock: Clock;
  /** @default nullObserver */
  readonly observer?: Observer;
  /**
   * The gate shared by every call to this server. Pass one gate to several `JobConfirmation`s that talk to the same
   * GitLab. @default a gate of its own
   */
  readonly gate?: ServerGate;
}

/** The injection token of {@link JobConfirmation}. */
export const JOB_CONFIRMATION: unique symbol = Symbol('JobConfirmation');

const POLICIES: readonly ConfirmPolicy[] = ['auto', 'always', 'when-requested', 'off'];
const STRATEGY_CHOICES: readonly StrategyChoice[] = ['auto', 'state-put', 'runner-status'];

/**
 * GitLab's two-phase job commit, done right (docs/design.md §2): hold a handed-out job pending with keep-alives while the
 * embedder prepares, then confirm it; or decline it. Every outcome but `confirmed` and `skipped` means the job must not
 * run, and only those two produce the `ConfirmedJob` an executor accepts.
 *
 * ```ts
 * const confirmation = new JobConfirmation({ network, clock: systemClock }, { info: runnerInfo() });
 * const pending = confirmation.receive(job);
 * await prepare(pending.signal);
 * const outcome = await pending.confirm();
 * if (isRunnable(outcome)) await executor.execute(outcome.job, context);
 * ```
 */
export class JobConfirmation {
  readonly #network: Network;
  readonly #clock: Clock;
  readonly #observer: Observer;
  readonly #gate: ServerGate;
  readonly #settings: Settings;
  readonly #context: Context;

  /** @throws {RangeError} naming the option when an option is out of range */
  constructor(deps: JobConfirmationDeps, options: JobConfirmationOptions = {}) {
    this.#network = deps.network;
    this.#clock = deps.clock;
    this.#observer = deps.observer ?? nullObserver;
    this.#gate = deps.gate ?? new ServerGate(deps.clock);
    this.#settings = validate({
      info: options.info ?? runnerInfo(),
      confirm: options.confirm ?? 'auto',
      strategy: options.strategy ?? 'auto',
      keepAliveIntervalMs: options.keepAliveIntervalMs ?? 30_000,
      ackWindowMs: options.ackWindowMs ?? 120_000,
      deadlineMarginMs: options.deadlineMarginMs ?? 5_000,
      prepareTimeoutMs: options.prepareTimeoutMs ?? 15 * 60_000,
      probe: options.probe ?? false,
      retry: options.retry ?? defaultRetryPolicy,
      random: options.random ?? Math.random,
      releaseTimeoutMs: options.releaseTimeoutMs ?? 60_000,
    });
    this.#context = createContext(this.#network, this.#clock, this.#observer, this.#gate, this.#settings);
  }

  /** The gate every call of this confirmation goes through; share it with the other calls to the same GitLab. */
  get gate(): ServerGate {
    return this.#gate;
  }

  /**
   * Starts holding a job GitLab handed out. When the policy confirms it, keep-alives go out every
   * `keepAliveIntervalMs` (jittered) until `confirm()` or `decline()`, or until `prepareTimeoutMs` declines it.
   *
   * @param receivedAt when GitLab handed the job out (epoch ms; the ack window starts then). @default clock.now()
   */
  receive(job: JobPayload, receivedAt: number = this.#clock.now()): PendingJob {
    return this.#handle(job, receivedAt, true);
  }

  /** `receive(job).confirm()`: confirm at once, with no preparation phase (so no keep-alive or timer is set up). */
  confirm(job: JobPayload, receivedAt: number = this.#clock.now()): Promise<ConfirmationOutcome> {
    return this.#handle(job, receivedAt, false).confirm();
  }

  /**
   * A job request answered with a payload that cannot be used: the outcome is `invalid`. When the job's id and token
   * could be read, GitLab may already run it (legacy server), so one `PUT state=failed
   * failure_reason=runner_system_failure` releases it, best effort.
   */
  async releaseInvalid(error: MalformedResponseError): Promise<ConfirmationOutcome> {
    const started = this.#clock.now();
    const release =
      error.job === undefined ? undefined : await this.#context.release(error.job, 'runner_system_failure');
    const outcome: ConfirmationOutcome = {
      kind: 'invalid',
      detail: error.message,
      ...(release === undefined ? {} : { release }),
      jobId: error.job?.id ?? 0,
      mode: 'unknown',
      strategy: 'none',
      attempts: 0,
      elapsedMs: this.#clock.now() - started,
    };
    this.#context.report(outcome);
    return outcome;
  }

  #handle(job: JobPayload, receivedAt: number, hold: boolean): PendingJob {
    if (this.#context.observed) this.#observer.notify({ event: 'job.received', jobId: job.id, at: receivedAt });
    const planned = this.#plan(job);
    return new PendingJobHandle(this.#context, job, receivedAt, planned && this.#context.strategy(planned).name, hold);
  }

  #plan(job: JobPayload): StrategyName | undefined {
    const requested = job.features?.job_status === true;
    const { confirm, strategy } = this.#settings;
    const byPayload: StrategyName = requested ? 'runner-status' : 'state-put';
    switch (confirm) {
      case 'off':
        return undefined;
      case 'when-requested':
        return requested ? (strategy === 'auto' ? byPayload : strategy) : undefined;
      case 'auto':
        return strategy === 'auto' ? byPayload : strategy;
      case 'always':
        return strategy === 'auto' ? 'state-put' : strategy;
      default:
        return assertNever(confirm);
    }
  }
}

function validate(settings: Settings): Settings {
  const positive = ['keepAliveIntervalMs', 'ackWindowMs', 'prepareTimeoutMs', 'releaseTimeoutMs'] as const;
  for (const key of positive) {
    const value = settings[key];
    if (!Number.isFinite(value) || value <= 0)
      throw new RangeError(`JobConfirmation option ${key}: expected a positive number of milliseconds, got ${value}`);
  }
  if (
    !Number.isFinite(settings.deadlineMarginMs) ||
    settings.deadlineMarginMs < 0 ||
    settings.deadlineMarginMs >= settings.ackWindowMs
  ) {
    throw new RangeError(
      `JobConfirmation option deadlineMarginMs: expected 0 ≤ value < ackWindowMs, got ${settings.deadlineMarginMs}`,
    );
  }
  // NOTE: a keep-alive goes out at most a third of the window after the last one; past the deadline it could only
  // be a last try, so the margin must leave room for it.
  const keepAliveEvery = Math.min(settings.keepAliveIntervalMs, settings.ackWindowMs / 3) * 1.1;
  if (settings.deadlineMarginMs >= settings.ackWindowMs - keepAliveEvery) {
    throw new RangeError(
      `JobConfirmation options ackWindowMs ${settings.ackWindowMs} and deadlineMarginMs ${settings.deadlineMarginMs}: ` +
        `the deadline would come before the next keep-alive (every ${Math.round(keepAliveEvery)} ms at most); ` +
        'use a longer window or a smaller margin',
    );
  }
  if (!POLICIES.includes(settings.confirm)) {
    throw new RangeError(
      `JobConfirmation option confirm: expected one of ${POLICIES.join(', ')}, got ${String(settings.confirm)}`,
    );
  }
  if (!STRATEGY_CHOICES.includes(settings.strategy)) {
    throw new RangeError(
      `JobConfirmation option strategy: expected one of ${STRATEGY_CHOICES.join(', ')}, got ${String(settings.strategy)}`,
    );
  }
  return Object.freeze({ ...settings });
}
