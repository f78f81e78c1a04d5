import type { JobCredentials, JobPayload } from '../job/job.types.js';
import type { RunnerInfo } from '../network/runner-info.js';
import type { RetryPolicy } from '../retry/retry-policy.js';

/**
 * When to confirm a job (docs/design.md §2):
 * - `auto` (default): every job; with strategy `auto`, `runner-status` when the payload carries
 *   `features.job_status: true`, else `state-put`.
 * - `always`: every job with the configured strategy; the payload is not consulted (strategy `auto` means
 *   `state-put` here).
 * - `when-requested`: only jobs whose payload carries `features.job_status: true`; others are `skipped`.
 * - `off`: never; every job is `skipped` (legacy behaviour).
 */
export type ConfirmPolicy = 'auto' | 'always' | 'when-requested' | 'off';

/** The wire form of confirmation: `PUT /jobs/:id state=…` or `POST /jobs/:id/runner_status status=…`. */
export type StrategyName = 'state-put' | 'runner-status';

/** The configured strategy: a fixed one, or `auto` (chosen per job from the payload). */
export type StrategyChoice = 'auto' | StrategyName;

/**
 * What the server did with the job while we prepared:
 * `two-phase` (a keep-alive was answered 200: GitLab holds the job pending), `legacy` (answered 400: the job was
 * already running), `unknown` (no keep-alive was sent).
 */
export type ConfirmationMode = 'two-phase' | 'legacy' | 'unknown';

declare const confirmedJobBrand: unique symbol;

/**
 * A job that may run: produced only by a `confirmed` or `skipped` outcome. Execution accepts nothing else,
 * so running an unconfirmed job does not type-check.
 */
export interface ConfirmedJob {
  readonly [confirmedJobBrand]: true;
  readonly id: number;
  readonly credentials: JobCredentials;
  readonly payload: JobPayload;
  /** How the job came to be runnable. */
  readonly confirmation: 'confirmed' | 'skipped';
  readonly mode: ConfirmationMode;
  readonly strategy: StrategyName | 'none';
  /** Epoch ms of the confirmation (or of the decision to skip it). */
  readonly at: number;
  /**
   * The trace update interval GitLab asked for in the confirmation's answer (it asks for a short one while someone
   * watches the job): the job's trace and touches start at it, so a cancel reaches even a silent job that soon.
   */
  readonly updateIntervalMs?: number;
}

/** Every outcome of a job's confirmation. */
export type OutcomeKind =
  | 'confirmed'
  | 'skipped'
  | 'gone'
  | 'canceled'
  | 'conflict'
  | 'rejected'
  | 'unexpected'
  | 'unreachable'
  | 'declined'
  | 'invalid';

/** The outcomes after which the job must not run. */
export type RefusedOutcomeKind = Exclude<OutcomeKind, 'confirmed' | 'skipped'>;

/** The outcomes that carry a {@link ConfirmedJob}: the job may run. */
export type RunnableOutcomeKind = Extract<OutcomeKind, 'confirmed' | 'skipped'>;

interface OutcomeFacts {
  readonly jobId: number;
  readonly mode: ConfirmationMode;
  /** The strategy used last (after a fallback, `state-put`); `none` when nothing was sent. */
  readonly strategy: StrategyName | 'none';
  /** Confirmation requests sent (retries included; keep-alives not). */
  readonly attempts: number;
  /** From hand-out (or `receive`) to the outcome, by the injected clock. */
  readonly elapsedMs: number;
}

/**
 * How a job's confirmation ended (docs/design.md §2, "Answers and outcomes"). Only `confirmed` and `skipped` carry a
 * {@link ConfirmedJob}.
 */
export type ConfirmationOutcome = RunnableOutcome | RefusedOutcome;

/** A `confirmed` or `skipped` outcome: it carries the job an executor accepts. */
export type RunnableOutcome = OutcomeFacts & { readonly kind: RunnableOutcomeKind; readonly job: ConfirmedJob };

/** An outcome after which the job must not run, with why. */
export type RefusedOutcome = OutcomeFacts & {
  readonly kind: RefusedOutcomeKind;
  /** A short, token-free explanation (`409 from PUT /jobs/:id`, `prepare timeout`, …). */
  readonly detail: string;
  /**
   * The `PUT state=failed` that handed the job back, when one was sent (a cancel at confirmation; a decline, an
   * unreachable or an invalid job that GitLab may already run): its reason, and whether GitLab answered it.
   */
  readonly release?: { readonly failureReason: string; readonly delivered: boolean };
};

/**
 * Whether the job may run: narrows an outcome to the two that carry a {@link ConfirmedJob}.
 *
 * ```ts
 * if (isRunnable(outcome)) await executor.execute(outcome.job, context);
 * ```
 */
export function isRunnable(outcome: ConfirmationOutcome): outcome is RunnableOutcome {
  return outcome.kind === 'confirmed' || outcome.kind === 'skipped';
}

/** Options of {@link JobConfirmation}; every field has a default. */
export interface JobConfirmationOptions {
  /** The `info` block sent with keep-alives, confirmations and releases. @default runnerInfo() */
  readonly info?: RunnerInfo;
  /** @default 'auto' */
  readonly confirm?: ConfirmPolicy;
  /** @default 'auto' */
  readonly strategy?: StrategyChoice;
  /**
   * Time between keep-alives while the embedder prepares, jittered by ±10 %, and never more than a third of the
   * ack window. @default 30_000
   */
  readonly keepAliveIntervalMs?: number;
  /** How long GitLab holds an unconfirmed job (from hand-out or the last keep-alive answered 200). @default 120_000 */
  readonly ackWindowMs?: number;
  /** Retries stop this long before the ack window ends. @default 5_000 */
  readonly deadlineMarginMs?: number;
  /** A pending job not confirmed or declined within this time is declined. @default 900_000 (15 min) */
  readonly prepareTimeoutMs?: number;
  /** Send one keep-alive before confirming, so every outcome's `mode` is known (one extra request). @default false */
  readonly probe?: boolean;
  /**
   * How long a release (`PUT state=failed` for a job given up, or after a cancel at confirmation) is retried through
   * the gate before it is reported undelivered. @default 60_000
   */
  readonly releaseTimeoutMs?: number;
  /** Backoff between retries. @default defaultRetryPolicy */
  readonly retry?: RetryPolicy;
  /** A number in [0, 1) for jitter; injected so tests are deterministic. @default Math.random */
  readonly random?: () => number;
}

/** A job handed out by GitLab, held pending while the embedder prepares. */
export interface PendingJob {
  readonly id: number;
  readonly payload: JobPayload;
  /** What the server is doing with the job, as far as the keep-alives told. */
  readonly mode: ConfirmationMode;
  /**
   * Settles when the first keep-alive tells the mode (`two-phase` or `legacy`); never when none does. A runner that
   * journals its jobs records it, so after a crash it knows whether GitLab holds the job or runs it.
   */
  readonly modeKnown: Promise<Exclude<ConfirmationMode, 'unknown'>>;
  /**
   * Aborted as soon as the job can no longer be confirmed (gone, canceled, conflict, window lapsed, declined):
   * pass it to the preparation so it stops.
   */
  readonly signal: AbortSignal;
  /** Settles once, with the job's outcome, however it ends. */
  readonly outcome: Promise<ConfirmationOutcome>;
  /**
   * Confirms the job (stops keep-alives first). Resolves to the outcome; never rejects. Calling it again, or
   * after the job settled otherwise, returns the same outcome.
   */
  confirm(): Promise<ConfirmationOutcome>;
  /**
   * Gives the job back: stops keep-alives; in mode `two-phase` sends nothing (the window lapses and GitLab
   * retries the job elsewhere); in `legacy` / `unknown` sends one `PUT state=failed
   * failure_reason=runner_system_failure`. Resolves to the `declined` outcome (or the earlier one).
   */
  decline(reason?: string): Promise<ConfirmationOutcome>;
}
