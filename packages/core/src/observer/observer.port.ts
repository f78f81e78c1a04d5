import type { ConfirmationMode, OutcomeKind, StrategyName } from '../job-confirmation/confirmation.types.js';
import type { WaitRule } from '../retry/retry-policy.js';

/** The operations the core performs on a job, as named in events. */
export type JobOperation =
  | 'request-job'
  | 'keep-alive'
  | 'confirm'
  | 'release'
  | 'trace-patch'
  | 'touch'
  | 'final-update'
  | 'recovery';

/**
 * Every step the core reports. Events carry ids, kinds and numbers only: never a token, a variable or a payload.
 */
export type RunnerEvent =
  | { readonly event: 'job.received'; readonly jobId: number; readonly at: number }
  | {
      readonly event: 'keep-alive.sent';
      readonly jobId: number;
      readonly strategy: StrategyName;
      readonly attempt: number;
    }
  | {
      readonly event: 'keep-alive.answered';
      readonly jobId: number;
      readonly strategy: StrategyName;
      /** The answer's kind (`succeeded`, `rejected`, …) or `transport-error`. */
      readonly answer: string;
      readonly mode: ConfirmationMode;
    }
  | {
      readonly event: 'confirm.attempt';
      readonly jobId: number;
      readonly strategy: StrategyName;
      readonly attempt: number;
    }
  | {
      readonly event: 'confirm.answered';
      readonly jobId: number;
      readonly strategy: StrategyName;
      readonly answer: string;
    }
  | {
      readonly event: 'retry.scheduled';
      readonly jobId: number;
      readonly operation: JobOperation;
      readonly waitMs: number;
      /** Why: the answer's kind or `transport-error`, and which wait rule applied. */
      readonly reason: string;
      /** The wait rule that applied: the server's `Retry-After` or `RateLimit-Reset`, or the back-off. */
      readonly rule: WaitRule;
    }
  | {
      readonly event: 'strategy.fallback';
      readonly jobId: number;
      readonly from: StrategyName;
      readonly to: StrategyName;
    }
  | {
      readonly event: 'job.released';
      readonly jobId: number;
      readonly state: 'failed';
      readonly failureReason: string;
      /** The answer's kind, or `transport-error` (a release is best effort). */
      readonly answer: string;
    }
  | {
      readonly event: 'job.outcome';
      readonly jobId: number;
      readonly outcome: OutcomeKind;
      readonly mode: ConfirmationMode;
      readonly strategy: StrategyName | 'none';
      readonly attempts: number;
      readonly elapsedMs: number;
    }
  | {
      readonly event: 'job.finished';
      readonly jobId: number;
      /** The final state the runner reported (or tried to). */
      readonly state: 'success' | 'failed';
      readonly failureReason?: string;
      readonly exitCode?: number;
      /**
       * What became of the final update: `reported` (GitLab took it), `gone` (GitLab dropped the job: nothing to
       * report), `not-reported` (no answer before it gave up; with a state store, the outbox keeps it).
       */
      readonly report: 'reported' | 'gone' | 'not-reported';
      readonly elapsedMs: number;
    }
  | {
      /** A final state GitLab did not take in time is kept in the outbox and sent again in the background. */
      readonly event: 'outbox.kept';
      readonly jobId: number;
    }
  | {
      /** An outbox entry left the outbox: GitLab took it (`reported`), the job is gone, or GitLab refused it. */
      readonly event: 'outbox.delivered';
      readonly jobId: number;
      readonly result: 'reported' | 'gone' | 'refused';
    }
  | {
      /**
       * A job the runner left in flight when it stopped (a crash): `reported` failed as `runner_system_failure` (it
       * was running, its confirmation may have landed, or it was pending on a server that may run it), `lapsed`
       * (pending in two-phase mode, no confirmation sent: GitLab hands it to another runner).
       */
      readonly event: 'job.recovered';
      readonly jobId: number;
      readonly phase: 'pending' | 'confirming' | 'running';
      readonly action: 'reported' | 'lapsed';
    }
  | { readonly event: 'runner.unhealthy'; readonly reason: string; readonly backoffMs: number }
  | { readonly event: 'runner.healthy' };

/** Receives the core's events (the app logs them, prints NDJSON and counts them). Must not throw. */
export interface Observer {
  notify(event: RunnerEvent): void;
}

/** The injection token of {@link Observer}. */
export const OBSERVER: unique symbol = Symbol('Observer');

/** An observer that ignores everything. */
export const nullObserver: Observer = { notify: () => {} };

/** An observer that fans events out to several observers. */
export function fanOut(...observers: readonly Observer[]): Observer {
  return {
    notify: (event) => {
      for (const observer of observers) observer.notify(event);
    },
  };
}
