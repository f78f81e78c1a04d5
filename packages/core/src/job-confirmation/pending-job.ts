import type { JobCredentials, JobPayload } from '../job/job.types.js';
import { jobCredentialsOf } from '../job/job.types.js';
import { retryWait } from '../retry/retry-policy.js';
import type { GateCaller } from '../retry/server-gate.js';
import {
  type ConfirmationMode,
  type ConfirmationOutcome,
  isRunnable,
  type PendingJob,
  type RefusedOutcomeKind,
  type StrategyName,
} from './confirmation.types.js';
import type { Context } from './confirmation-context.js';
import { sealConfirmedJob } from './confirmed-job.js';
import {
  assertNever,
  type ConfirmationAnswer,
  type ConfirmationStrategy,
} from './strategies/confirmation-strategy.port.js';

// NOTE: `abort()` without a reason builds a DOMException with a stack trace (tens of µs); these shared reasons keep
// settling a job cheap.
const SETTLED = Object.freeze({ reason: 'the job settled' });
const NOT_CONFIRMED = Object.freeze({ reason: 'the job can no longer be confirmed' });

type Step = { readonly done: true } | { readonly done: false };
const DONE: Step = { done: true };
const AGAIN: Step = { done: false };

/**
 * The pending-job handle, one per received job: keep-alives, the confirmation with its retries, decline and the
 * prepare timeout, applied one network step at a time. Created only by `JobConfirmation#receive`.
 */
export class PendingJobHandle implements PendingJob {
  readonly id: number;
  readonly payload: JobPayload;
  readonly outcome: Promise<ConfirmationOutcome>;

  readonly #owner: Context;
  readonly #credentials: JobCredentials;
  readonly #receivedAt: number;
  readonly #caller: GateCaller;
  /** The public `signal`: aborted when the job can no longer be confirmed. */
  #aborter: AbortController | undefined;
  /** Ends the prepare timer when the job settles; only a held job has one. */
  readonly #holding: AbortController | undefined;
  /** Ends the keep-alive loop's sleep (on confirm, decline, legacy mode or settling); only a held job has one. */
  readonly #keepAliveStop: AbortController | undefined;
  #strategyName: StrategyName | undefined;
  #mode: ConfirmationMode = 'unknown';
  #windowStart: number;
  #operationStart: number;
  #attempts = 0;
  #keepAlivesSent = 0;
  #keepAlivesActive: boolean;
  #lane: Promise<unknown> = Promise.resolve();
  #finishing: Promise<ConfirmationOutcome> | undefined;
  #settled: ConfirmationOutcome | undefined;
  #resolve!: (outcome: ConfirmationOutcome) => void;

  /**
   * @param hold start keep-alives and the prepare timer (a job received for preparation); `false` for a job confirmed
   *   at once, which needs neither.
   */
  constructor(
    owner: Context,
    payload: JobPayload,
    receivedAt: number,
    strategy: StrategyName | undefined,
    hold: boolean,
  ) {
    this.#owner = owner;
    this.id = payload.id;
    this.payload = payload;
    this.#credentials = jobCredentialsOf(payload);
    this.#receivedAt = receivedAt;
    this.#windowStart = receivedAt;
    this.#operationStart = receivedAt;
    this.#caller = Symbol(`job ${payload.id}`);
    this.#strategyName = strategy;
    this.#keepAlivesActive = strategy !== undefined;
    this.outcome = new Promise((resolve) => {
      this.#resolve = resolve;
    });
    this.#holding = hold ? new AbortController() : undefined;
    this.#keepAliveStop = hold && this.#keepAlivesActive ? new AbortController() : undefined;
    if (!hold) {
      this.#keepAlivesActive = false;
      return;
    }
    if (this.#keepAlivesActive) void this.#keepAliveLoop();
    void this.#prepareTimer();
  }

  get mode(): ConfirmationMode {
    return this.#mode;
  }

  get signal(): AbortSignal {
    // Created on demand: most embedders that confirm at once never read it.
    this.#aborter ??= new AbortController();
    if (this.#settled !== undefined && !isRunnable(this.#settled)) this.#aborter.abort(NOT_CONFIRMED);
    return this.#aborter.signal;
  }

  confirm(): Promise<ConfirmationOutcome> {
    this.#finishing ??= this.#serially(async () => {
      if (this.#settled !== undefined) return this.#settled;
      if (this.#strategyName === undefined) return this.#settle({ kind: 'skipped' });
      if (this.#owner.settings.probe && this.#keepAlivesSent === 0) await this.#keepAlive();
      this.#stopKeepAliveLoop();
      if (this.#settled !== undefined) return this.#settled;
      return this.#confirm();
    });
    return this.#finishing;
  }

  decline(reason = 'declined by the runner'): Promise<ConfirmationOutcome> {
    this.#finishing ??= this.#serially(async () => {
      this.#stopKeepAliveLoop();
      if (this.#settled !== undefined) return this.#settled;
      await this.#giveUp();
      return this.#settle({ kind: 'declined', detail: reason });
    });
    return this.#finishing;
  }

  // -- keep-alives --------------------------------------------------------------------------------------------------

  async #keepAliveLoop(): Promise<void> {
    const { keepAliveIntervalMs, ackWindowMs, random } = this.#owner.settings;
    const ceiling = ackWindowMs / 3;
    while (this.#keepAlivesActive) {
      const base = Math.min(keepAliveIntervalMs, ceiling);
      const jittered = Math.round(Math.min(ceiling, base * (0.9 + 0.2 * random())));
      await this.#owner.clock.sleep(jittered, this.#keepAliveStop?.signal);
      if (!this.#keepAlivesActive) return;
      await this.#serially(() => this.#keepAlive());
    }
  }

  /** One keep-alive, retried until answered or the deadline. Settles the job on a terminal answer. */
  async #keepAlive(): Promise<void> {
    this.#operationStart = this.#owner.clock.now();
    for (let retry = 1; this.#settled === undefined; retry++) {
      const strategy = this.#strategy();
      if (!(await this.#enterGate(retry === 1))) {
        await this.#unreachable('keep-alive');
        return;
      }
      this.#keepAlivesSent += 1;
      this.#owner.observer.notify({
        event: 'keep-alive.sent',
        jobId: this.id,
        strategy: strategy.name,
        attempt: retry,
      });
      const answer = await this.#owner.send('keepAlive', strategy, this.#credentials);
      this.#passGate(answer);
      if (answer.kind === 'ok') this.#mode = 'two-phase';
      // NOTE: a 400 to `pending` (with or without `Job-Status: canceling`) means the server is not holding the job.
      if (answer.kind === 'rejected' || (answer.kind === 'canceling' && answer.rejected)) this.#mode = 'legacy';
      this.#owner.observer.notify({
        event: 'keep-alive.answered',
        jobId: this.id,
        strategy: strategy.name,
        answer: answer.kind,
        mode: this.#mode,
      });
      const step = await this.#onKeepAliveAnswer(answer, strategy, retry);
      if (step.done) return;
    }
  }

  /** Acts on a keep-alive's answer (the mode is already updated). */
  async #onKeepAliveAnswer(answer: ConfirmationAnswer, strategy: ConfirmationStrategy, retry: number): Promise<Step> {
    switch (answer.kind) {
      case 'ok':
        this.#windowStart = this.#owner.clock.now();
        return DONE;
      case 'rejected':
        // NOTE: a 400 to `pending` means the job is not waiting: the server handed it out as running (legacy).
        this.#stopKeepAliveLoop();
        return DONE;
      case 'unexpected':
        this.#stopKeepAliveLoop();
        return DONE;
      case 'unsupported':
        this.#fallBack(strategy);
        return AGAIN;
      case 'transient':
        if (await this.#backOff('keep-alive', answer, retry)) return AGAIN;
        await this.#unreachable('keep-alive');
        return DONE;
      case 'gone':
      case 'canceling':
      case 'conflict':
        await this.#settleTerminal(answer);
        return DONE;
      default:
        return assertNever(answer);
    }
  }

  // -- confirmation ---------------------------------------------------------------------------------------------------

  async #confirm(): Promise<ConfirmationOutcome> {
    this.#operationStart = this.#owner.clock.now();
    for (let retry = 1; ; retry++) {
      if (this.#settled !== undefined) return this.#settled;
      const strategy = this.#strategy();
      if (!(await this.#enterGate(retry === 1))) return this.#unreachable('confirm');
      this.#attempts += 1;
      this.#owner.observer.notify({
        event: 'confirm.attempt',
        jobId: this.id,
        strategy: strategy.name,
        attempt: this.#attempts,
      });
      const answer = await this.#owner.send('confirm', strategy, this.#credentials);
      this.#owner.observer.notify({
        event: 'confirm.answered',
        jobId: this.id,
        strategy: strategy.name,
        answer: answer.kind,
      });
      this.#passGate(answer);
      switch (answer.kind) {
        case 'ok':
          return this.#settle({ kind: 'confirmed' });
        case 'rejected':
          return this.#settle({
            kind: 'rejected',
            detail: `400 from ${strategy.name}${answer.jobStatus === undefined ? '' : ` (Job-Status: ${answer.jobStatus})`}`,
          });
        case 'unexpected':
          return this.#settle({ kind: 'unexpected', detail: answer.detail });
        case 'unsupported':
          this.#fallBack(strategy);
          break;
        case 'transient':
          if (!(await this.#backOff('confirm', answer, retry))) return this.#unreachable('confirm');
          break;
        case 'gone':
        case 'canceling':
        case 'conflict':
          return this.#settleTerminal(answer);
        default:
          return assertNever(answer);
      }
    }
  }

  // -- shared steps ---------------------------------------------------------------------------------------------------

  #strategy(): ConfirmationStrategy {
    // Only called for jobs the policy confirms, which always have a strategy.
    return this.#owner.strategy(this.#strategyName!);
  }

  #fallBack(from: ConfirmationStrategy): void {
    this.#owner.rememberRunnerStatusMissing();
    this.#strategyName = 'state-put';
    this.#owner.observer.notify({ event: 'strategy.fallback', jobId: this.id, from: from.name, to: 'state-put' });
  }

  /**
   * No retry or wait goes past this: the end of the ack window less the margin. In mode `legacy` the server holds no
   * window (the job already runs), so the same span counts from the start of the current operation.
   */
  #deadline(): number {
    const { ackWindowMs, deadlineMarginMs } = this.#owner.settings;
    const start = this.#mode === 'legacy' ? this.#operationStart : this.#windowStart;
    return start + ackWindowMs - deadlineMarginMs;
  }

  /**
   * Waits for the server gate. The first try of an operation always gets a moment, even past the deadline: the
   * server's answer (403 once the window lapsed) says more than a guess.
   */
  #enterGate(firstTry: boolean): Promise<boolean> {
    const deadline = firstTry ? Math.max(this.#deadline(), this.#owner.clock.now() + 1) : this.#deadline();
    return this.#owner.gate.enter(this.#caller, deadline);
  }

  #passGate(answer: ConfirmationAnswer): void {
    if (answer.kind !== 'transient') this.#owner.gate.answered();
  }

  /** Waits before the next try (bounded by the deadline); `false` when the deadline leaves no room for one. */
  async #backOff(
    operation: 'keep-alive' | 'confirm',
    answer: Extract<ConfirmationAnswer, { kind: 'transient' }>,
    retry: number,
  ): Promise<boolean> {
    const { clock, settings, gate, observer } = this.#owner;
    const now = clock.now();
    const wait = retryWait(settings.retry, retry, now, settings.random, answer.wait);
    const holdUntil = wait.rule === 'backoff' ? undefined : now + wait.ms;
    gate.failed(this.#caller, holdUntil);
    const room = this.#deadline() - now;
    if (room <= 0) return false;
    const waitMs = Math.min(wait.ms, room);
    observer.notify({
      event: 'retry.scheduled',
      jobId: this.id,
      operation,
      waitMs,
      reason: `${answer.detail}; ${wait.rule}`,
    });
    await clock.sleep(waitMs);
    return true;
  }

  /** `gone`, `canceled` or `conflict`: never run; after `canceling`, one final `PUT failed/job_canceled`. */
  async #settleTerminal(
    answer: Extract<ConfirmationAnswer, { kind: 'gone' | 'canceling' | 'conflict' }>,
  ): Promise<ConfirmationOutcome> {
    switch (answer.kind) {
      case 'gone':
        return this.#settle({ kind: 'gone', detail: answer.detail });
      case 'canceling':
        this.#stopKeepAliveLoop();
        await this.#owner.release(this.#credentials, 'job_canceled');
        return this.#settle({ kind: 'canceled', detail: 'Job-Status: canceling' });
      case 'conflict':
        return this.#settle({ kind: 'conflict', detail: '409: another runner manager holds the job' });
      default:
        return assertNever(answer);
    }
  }

  async #unreachable(operation: 'keep-alive' | 'confirm'): Promise<ConfirmationOutcome> {
    this.#stopKeepAliveLoop();
    await this.#giveUp();
    return this.#settle({ kind: 'unreachable', detail: `no answer to ${operation} before the ack window closed` });
  }

  /**
   * Gives the job back. In mode `two-phase` GitLab holds it pending: sending nothing lets the window lapse and GitLab
   * retries the job elsewhere (it answers `failed` with 400 while waiting anyway). Otherwise it may be running
   * server-side: release it with `runner_system_failure`.
   */
  async #giveUp(): Promise<void> {
    if (this.#mode !== 'two-phase') await this.#owner.release(this.#credentials, 'runner_system_failure');
  }

  async #prepareTimer(): Promise<void> {
    await this.#owner.clock.sleep(this.#owner.settings.prepareTimeoutMs, this.#holding?.signal);
    if (this.#settled === undefined && this.#finishing === undefined) {
      await this.decline(`not confirmed within the prepare timeout (${this.#owner.settings.prepareTimeoutMs} ms)`);
    }
  }

  #stopKeepAliveLoop(): void {
    this.#keepAlivesActive = false;
    this.#keepAliveStop?.abort(SETTLED);
  }

  /** Runs network steps one at a time per job: a confirmation waits for an in-flight keep-alive's answer. */
  #serially<T>(step: () => Promise<T>): Promise<T> {
    const run = this.#lane.then(step);
    this.#lane = run.catch(() => undefined);
    return run;
  }

  #settle(
    result: { readonly kind: 'confirmed' | 'skipped' } | { readonly kind: RefusedOutcomeKind; readonly detail: string },
  ): ConfirmationOutcome {
    if (this.#settled !== undefined) return this.#settled;
    const { clock } = this.#owner;
    const now = clock.now();
    const strategy: StrategyName | 'none' = this.#strategyName ?? 'none';
    const facts = {
      jobId: this.id,
      mode: this.#mode,
      strategy,
      attempts: this.#attempts,
      elapsedMs: now - this.#receivedAt,
    };
    const outcome: ConfirmationOutcome =
      'detail' in result
        ? { ...facts, kind: result.kind, detail: result.detail }
        : { ...facts, kind: result.kind, job: sealConfirmedJob(this.payload, result.kind, this.#mode, strategy, now) };
    this.#settled = outcome;
    this.#stopKeepAliveLoop();
    this.#owner.gate.leave(this.#caller);
    this.#holding?.abort(SETTLED);
    if (!isRunnable(outcome)) this.#aborter?.abort(NOT_CONFIRMED);
    this.#owner.report(outcome);
    this.#resolve(outcome);
    return outcome;
  }
}
