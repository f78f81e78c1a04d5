import { type Alarm, setAlarm } from '../clock/clock.port.js';
import type { JobCredentials, JobPayload } from '../job/job.types.js';
import { jobCredentialsOf } from '../job/job.types.js';
import { type Attempt, type GatedResult, gatedCall } from '../retry/gated-call.js';
import type { GateCaller } from '../retry/server-gate.js';
import {
  type ConfirmationMode,
  type ConfirmationOutcome,
  isRunnable,
  type PendingJob,
  type RefusedOutcomeKind,
  type StrategyName,
} from './confirmation.types.js';
import type { Context, Release } from './confirmation-context.js';
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
const DECLINED = Object.freeze({ reason: 'the job was declined' });

/**
 * Interrupts of operations that ended un-aborted, for the next operation of any job. NOTE: making an AbortSignal
 * costs more than the rest of a confirmation's own work, and a signal nobody aborted is as good as new once its
 * operation ended: the gate and the clock remove their listeners as their waits end. Bounded, so a burst of
 * keep-alives leaves at most this many behind.
 */
const spareInterrupts: AbortController[] = [];
const MAX_SPARE_INTERRUPTS = 256;

type Step = { readonly done: true } | { readonly done: false };
const DONE: Step = { done: true };
const AGAIN: Step = { done: false };

/** A keep-alive's or confirmation's answer, with the strategy that got it. */
interface Answered {
  readonly answer: Exclude<ConfirmationAnswer, { kind: 'transient' }>;
  readonly strategy: ConfirmationStrategy;
}

/**
 * The pending-job handle, one per received job: keep-alives, the confirmation with its retries (through the server's
 * gate), decline and the prepare timeout, applied one network step at a time. Created only by
 * `JobConfirmation#receive`.
 */
export class PendingJobHandle implements PendingJob {
  readonly id: number;
  readonly payload: JobPayload;
  readonly outcome: Promise<ConfirmationOutcome>;

  readonly #owner: Context;
  #modeKnown: Promise<Exclude<ConfirmationMode, 'unknown'>> | undefined;
  #tellMode: ((mode: Exclude<ConfirmationMode, 'unknown'>) => void) | undefined;
  readonly #credentials: JobCredentials;
  readonly #receivedAt: number;
  /** The job's identity at the gate; made by the first keep-alive or confirmation. */
  #caller: GateCaller | undefined;
  /** The public `signal`: aborted when the job can no longer be confirmed. */
  #aborter: AbortController | undefined;
  /** Whether the job is held: the hold's one alarm (next keep-alive or prepare timeout) is armed or about to be. */
  #holding = false;
  #prepareDeadline = 0;
  #alarm: Alarm | undefined;
  /**
   * Ends the retry waits of the keep-alive or confirmation under way at once, on decline. Made per operation and
   * dropped after it, so a held job between keep-alives carries no AbortController.
   */
  #interrupt: AbortController | undefined;
  /**
   * Whether anyone can decline the job: only a received job's handle reaches the embedder. A job confirmed at once
   * (`JobConfirmation#confirm`) is never declined, so its confirmation needs no interrupt (an AbortSignal costs
   * microseconds to make).
   */
  readonly #declinable: boolean;
  #strategyName: StrategyName | undefined;
  #mode: ConfirmationMode = 'unknown';
  #windowStart: number;
  #operationStart: number;
  #attempts = 0;
  #keepAlivesSent = 0;
  #keepAlivesActive: boolean;
  #lane: Promise<unknown> | undefined;
  #confirming: Promise<ConfirmationOutcome> | undefined;
  #declining: Promise<ConfirmationOutcome> | undefined;
  /** Why the job was declined, once it was (a decline may arrive while the confirmation is under way). */
  #declineReason: string | undefined;
  /**
   * A confirmation went out and no answer said whether it landed: GitLab may run the job, so giving it back must
   * release it even in mode two-phase (soak D3). A decisive answer after it settles the question.
   */
  #confirmationMayHaveLanded = false;
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
    this.#strategyName = strategy;
    this.#keepAlivesActive = hold && strategy !== undefined;
    this.#declinable = hold;
    this.outcome = new Promise((resolve) => {
      this.#resolve = resolve;
    });
    if (hold) {
      const now = owner.clock.now();
      this.#holding = true;
      this.#prepareDeadline = now + owner.settings.prepareTimeoutMs;
      this.#armHold(now);
    }
  }

  get mode(): ConfirmationMode {
    return this.#mode;
  }

  get modeKnown(): Promise<Exclude<ConfirmationMode, 'unknown'>> {
    // Created on demand: embedders that do not journal never pay for it.
    this.#modeKnown ??= new Promise((resolve) => {
      if (this.#mode !== 'unknown') resolve(this.#mode);
      else this.#tellMode = resolve;
    });
    return this.#modeKnown;
  }

  get signal(): AbortSignal {
    // Created on demand: most embedders that confirm at once never read it.
    this.#aborter ??= new AbortController();
    if (this.#settled !== undefined && !isRunnable(this.#settled)) this.#aborter.abort(NOT_CONFIRMED);
    return this.#aborter.signal;
  }

  confirm(): Promise<ConfirmationOutcome> {
    if (this.#declining !== undefined) return this.#declining;
    this.#confirming ??= this.#serially(async () => {
      if (this.#settled !== undefined) return this.#settled;
      if (this.#strategyName === undefined) return this.#settle({ kind: 'skipped' });
      this.#stopHolding();
      if (this.#owner.settings.probe && this.#keepAlivesSent === 0) await this.#keepAlive();
      if (this.#settled !== undefined) return this.#settled;
      return this.#confirm();
    });
    return this.#confirming;
  }

  decline(reason = 'declined by the runner'): Promise<ConfirmationOutcome> {
    if (this.#settled !== undefined) return Promise.resolve(this.#settled);
    this.#declineReason ??= reason;
    this.#stopHolding();
    // NOTE: a confirmation under way is interrupted at once (its waits end); it then hands the job back itself.
    this.#interrupt?.abort(DECLINED);
    if (this.#confirming !== undefined) return this.#confirming;
    this.#declining ??= this.#serially(async () => {
      if (this.#settled !== undefined) return this.#settled;
      return this.#declined(await this.#giveUp());
    });
    return this.#declining;
  }

  // -- keep-alives --------------------------------------------------------------------------------------------------

  /**
   * While the job is held (received for preparation, not yet confirmed or declined): keep-alives every interval
   * (jittered, at most a third of the window) and the prepare timeout, on one alarm at a time. NOTE: an alarm, not a
   * loop around `sleep`: a held job then costs one timer, with no promise, async frame or AbortSignal kept alive
   * between keep-alives (a runner may hold thousands).
   */
  #armHold(now = this.#owner.clock.now()): void {
    const { clock, settings } = this.#owner;
    const ceiling = settings.ackWindowMs / 3;
    const base = Math.min(settings.keepAliveIntervalMs, ceiling);
    const keepAliveAt = this.#keepAlivesActive
      ? now + Math.round(Math.min(ceiling, base * (0.9 + 0.2 * settings.random())))
      : Number.POSITIVE_INFINITY;
    this.#alarm = setAlarm(clock, Math.min(keepAliveAt, this.#prepareDeadline) - now, () => void this.#onAlarm());
  }

  /** The hold's alarm rang: the prepare timeout, or the next keep-alive; then the next alarm while still held. */
  async #onAlarm(): Promise<void> {
    this.#alarm = undefined;
    if (!this.#holding) return;
    const { clock, settings } = this.#owner;
    if (clock.now() >= this.#prepareDeadline) {
      await this.decline(`not confirmed within the prepare timeout (${settings.prepareTimeoutMs} ms)`);
      return;
    }
    if (this.#keepAlivesActive) await this.#serially(() => this.#keepAlive());
    if (this.#holding) this.#armHold();
  }

  /** One keep-alive, retried until answered or the deadline. Settles the job on a terminal answer. */
  async #keepAlive(): Promise<void> {
    this.#operationStart = this.#owner.clock.now();
    while (this.#settled === undefined && this.#declineReason === undefined) {
      const result = await this.#gated('keep-alive', async (strategy, attempt) => {
        this.#keepAlivesSent += 1;
        const { observed, observer } = this.#owner;
        if (observed) observer.notify({ event: 'keep-alive.sent', jobId: this.id, strategy: strategy.name, attempt });
        const answer = await this.#owner.send('keepAlive', strategy, this.#credentials);
        if (answer.kind === 'ok') this.#mode = 'two-phase';
        // NOTE: a 400 to `pending` (with or without `Job-Status: canceling`) means the server is not holding the job.
        if (answer.kind === 'rejected' || (answer.kind === 'canceling' && answer.rejected)) this.#mode = 'legacy';
        if (this.#mode !== 'unknown') this.#tellMode?.(this.#mode);
        if (observed) {
          observer.notify({
            event: 'keep-alive.answered',
            jobId: this.id,
            strategy: strategy.name,
            answer: answer.kind,
            mode: this.#mode,
          });
        }
        return answer;
      });
      this.#endInterrupt();
      switch (result.kind) {
        case 'answered':
          if ((await this.#onKeepAliveAnswer(result.value)).done) return;
          break;
        case 'exhausted':
          await this.#unreachable('keep-alive');
          return;
        case 'aborted':
          // A decline interrupted the keep-alive; the decline settles the job.
          return;
        default:
          assertNever(result);
      }
    }
  }

  /** Acts on a keep-alive's answer (the mode is already updated). */
  async #onKeepAliveAnswer({ answer, strategy }: Answered): Promise<Step> {
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
    for (;;) {
      if (this.#settled !== undefined) return this.#settled;
      if (this.#declineReason !== undefined) return this.#declined(await this.#giveUp());
      const result = await this.#gated('confirm', async (strategy) => {
        this.#attempts += 1;
        const { observed, observer } = this.#owner;
        // NOTE: events are built only for an observer that reads them (see Context.observed).
        if (observed) {
          observer.notify({
            event: 'confirm.attempt',
            jobId: this.id,
            strategy: strategy.name,
            attempt: this.#attempts,
          });
        }
        const answer = await this.#owner.send('confirm', strategy, this.#credentials);
        if (answer.kind !== 'transient') this.#confirmationMayHaveLanded = false;
        else if (answer.unsent !== true) this.#confirmationMayHaveLanded = true;
        if (observed) {
          observer.notify({ event: 'confirm.answered', jobId: this.id, strategy: strategy.name, answer: answer.kind });
        }
        return answer;
      });
      this.#endInterrupt();
      switch (result.kind) {
        case 'aborted':
          return this.#declined(await this.#giveUp());
        case 'exhausted':
          return this.#unreachable('confirm');
        case 'answered': {
          const { answer, strategy } = result.value;
          if (this.#declineReason !== undefined) {
            // NOTE: the decline came while the confirmation was on the wire: a job it confirmed is handed back; an
            // answer that ends the job (gone, canceling, conflict) still has its own row of the table (§2).
            switch (answer.kind) {
              case 'ok':
                return this.#declined(await this.#owner.release(this.#credentials, 'runner_system_failure'));
              case 'gone':
              case 'canceling':
              case 'conflict':
                return this.#settleTerminal(answer);
              default:
                return this.#declined(await this.#giveUp());
            }
          }
          switch (answer.kind) {
            case 'ok':
              return this.#settle({
                kind: 'confirmed',
                ...(answer.updateIntervalMs === undefined ? {} : { updateIntervalMs: answer.updateIntervalMs }),
              });
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
            case 'gone':
            case 'canceling':
            case 'conflict':
              return this.#settleTerminal(answer);
            default:
              return assertNever(answer);
          }
          break;
        }
        default:
          return assertNever(result);
      }
    }
  }

  // -- shared steps ---------------------------------------------------------------------------------------------------

  /** One keep-alive or confirmation, retried through the server's gate until an answer, the deadline or a decline. */
  #gated(
    operation: 'keep-alive' | 'confirm',
    send: (strategy: ConfirmationStrategy, attempt: number) => Promise<ConfirmationAnswer>,
  ): Promise<GatedResult<Answered>> {
    const interrupt = this.#declinable ? (spareInterrupts.pop() ?? new AbortController()) : undefined;
    this.#interrupt = interrupt;
    this.#caller ??= Symbol(`job ${this.id}`);
    return gatedCall(this.#owner.gatedDeps, {
      caller: this.#caller,
      operation,
      jobId: this.id,
      deadline: this.#deadline(),
      signal: interrupt?.signal,
      // NOTE: the first try of an operation goes out even past the deadline: the server's answer (403 once the
      // window lapsed) says more than a guess.
      firstTryPastDeadline: true,
      tryOnce: async (attempt): Promise<Attempt<Answered>> => {
        const strategy = this.#strategy();
        const answer = await send(strategy, attempt);
        if (answer.kind === 'transient') {
          return {
            kind: 'transient',
            detail: answer.detail,
            ...(answer.wait === undefined ? {} : { wait: answer.wait }),
          };
        }
        return { kind: 'answered', value: { answer, strategy } };
      },
    });
  }

  /**
   * The operation of the last {@link PendingJobHandle.#gated} ended: its controller goes (an aborted one stays, for
   * whatever still checks it). NOTE: operations run one at a time (see #serially), so no other uses it.
   */
  #endInterrupt(): void {
    const interrupt = this.#interrupt;
    if (interrupt === undefined || interrupt.signal.aborted) return;
    this.#interrupt = undefined;
    if (spareInterrupts.length < MAX_SPARE_INTERRUPTS) spareInterrupts.push(interrupt);
  }

  #strategy(): ConfirmationStrategy {
    // Only called for jobs the policy confirms, which always have a strategy.
    return this.#owner.strategy(this.#strategyName!);
  }

  #fallBack(from: ConfirmationStrategy): void {
    this.#owner.rememberRunnerStatusMissing();
    this.#strategyName = 'state-put';
    const { observed, observer } = this.#owner;
    if (observed) observer.notify({ event: 'strategy.fallback', jobId: this.id, from: from.name, to: 'state-put' });
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

  /** `gone`, `canceled` or `conflict`: never run; after `canceling`, one final `PUT failed/job_canceled`. */
  async #settleTerminal(
    answer: Extract<ConfirmationAnswer, { kind: 'gone' | 'canceling' | 'conflict' }>,
  ): Promise<ConfirmationOutcome> {
    switch (answer.kind) {
      case 'gone':
        return this.#settle({ kind: 'gone', detail: answer.detail });
      case 'canceling': {
        this.#stopKeepAliveLoop();
        const release = await this.#owner.release(this.#credentials, 'job_canceled');
        return this.#settle({ kind: 'canceled', detail: 'Job-Status: canceling', release });
      }
      case 'conflict':
        return this.#settle({ kind: 'conflict', detail: '409: another runner manager holds the job' });
      default:
        return assertNever(answer);
    }
  }

  async #unreachable(operation: 'keep-alive' | 'confirm'): Promise<ConfirmationOutcome> {
    this.#stopKeepAliveLoop();
    const release = await this.#giveUp();
    return this.#settle({
      kind: 'unreachable',
      detail: `no answer to ${operation} before the ack window closed`,
      ...(release === undefined ? {} : { release }),
    });
  }

  #declined(release: Release | undefined): ConfirmationOutcome {
    return this.#settle({
      kind: 'declined',
      detail: this.#declineReason ?? 'declined by the runner',
      ...(release === undefined ? {} : { release }),
    });
  }

  /**
   * Gives the job back. In mode `two-phase` GitLab holds it pending: sending nothing lets the window lapse and GitLab
   * retries the job elsewhere (it answers `failed` with 400 while waiting anyway) — unless a confirmation may have
   * landed. Otherwise it may be running server-side: release it with `runner_system_failure`.
   */
  async #giveUp(): Promise<Release | undefined> {
    if (this.#mode === 'two-phase' && !this.#confirmationMayHaveLanded) return undefined;
    return this.#owner.release(this.#credentials, 'runner_system_failure');
  }

  /** No more keep-alives; the hold loop keeps only the prepare timer (a legacy job may still be declined). */
  #stopKeepAliveLoop(): void {
    this.#keepAlivesActive = false;
  }

  /** Ends holding the job: no keep-alive and no prepare timeout any more (it is being confirmed, declined or settled). */
  #stopHolding(): void {
    this.#keepAlivesActive = false;
    this.#holding = false;
    this.#alarm?.cancel();
    this.#alarm = undefined;
  }

  /** Runs network steps one at a time per job: a confirmation waits for an in-flight keep-alive's answer. */
  #serially<T>(step: () => Promise<T>): Promise<T> {
    const run = (this.#lane ?? Promise.resolve()).then(step);
    this.#lane = run.catch(() => undefined);
    return run;
  }

  #settle(
    result:
      | { readonly kind: 'confirmed' | 'skipped'; readonly updateIntervalMs?: number }
      | { readonly kind: RefusedOutcomeKind; readonly detail: string; readonly release?: Release },
  ): ConfirmationOutcome {
    if (this.#settled !== undefined) return this.#settled;
    const { clock } = this.#owner;
    const now = clock.now();
    const strategy: StrategyName | 'none' = this.#strategyName ?? 'none';
    const mode = this.#mode;
    const elapsedMs = now - this.#receivedAt;
    // NOTE: literals rather than a spread of shared facts: this runs once per job, on the confirmation's hot path.
    const outcome: ConfirmationOutcome =
      'detail' in result
        ? { jobId: this.id, mode, strategy, attempts: this.#attempts, elapsedMs, ...result }
        : {
            jobId: this.id,
            mode,
            strategy,
            attempts: this.#attempts,
            elapsedMs,
            kind: result.kind,
            job: sealConfirmedJob(
              this.payload,
              this.#credentials,
              result.kind,
              mode,
              strategy,
              now,
              result.updateIntervalMs,
            ),
          };
    this.#settled = outcome;
    this.#stopHolding();
    this.#interrupt?.abort(SETTLED);
    if (this.#caller !== undefined) this.#owner.gate.leave(this.#caller);
    if (!isRunnable(outcome)) this.#aborter?.abort(NOT_CONFIRMED);
    this.#owner.report(outcome);
    this.#resolve(outcome);
    return outcome;
  }
}
