import type { Clock } from '../clock/clock.port.js';
import type { JobCredentials } from '../job/job.types.js';
import { NetworkError, TransportError } from '../network/network.errors.js';
import type { Network } from '../network/network.port.js';
import type { FailureReason, ServerWait } from '../network/network.types.js';
import type { RunnerInfo } from '../network/runner-info.js';
import { nullObserver, type Observer } from '../observer/observer.port.js';
import { type Attempt, type GatedCallDeps, gatedCall } from '../retry/gated-call.js';
import type { RetryPolicy } from '../retry/retry-policy.js';
import type { ServerGate } from '../retry/server-gate.js';
import type { ConfirmationOutcome, ConfirmPolicy, StrategyChoice, StrategyName } from './confirmation.types.js';
import type { ConfirmationAnswer, ConfirmationStrategy } from './strategies/confirmation-strategy.port.js';
import { RunnerStatusPostStrategy } from './strategies/runner-status-post.strategy.js';
import { StatePutStrategy } from './strategies/state-put.strategy.js';

/** The validated options of a `JobConfirmation`, every default applied. */
export interface Settings {
  readonly info: RunnerInfo;
  readonly confirm: ConfirmPolicy;
  readonly strategy: StrategyChoice;
  readonly keepAliveIntervalMs: number;
  readonly ackWindowMs: number;
  readonly deadlineMarginMs: number;
  readonly prepareTimeoutMs: number;
  readonly probe: boolean;
  readonly retry: RetryPolicy;
  readonly random: () => number;
  readonly releaseTimeoutMs: number;
}

/** A release that was attempted: its failure reason, and whether GitLab answered it before the budget ran out. */
export interface Release {
  readonly failureReason: FailureReason;
  readonly delivered: boolean;
}

/** What a pending job needs from its `JobConfirmation`; module-private, so the class's public surface stays small. */
export interface Context {
  readonly settings: Settings;
  readonly clock: Clock;
  readonly observer: Observer;
  /**
   * Whether anyone listens: `false` for the null observer, whose events are then not built at all. NOTE: a
   * confirmation reports four events or more; building them for nobody was a fair share of its own work.
   */
  readonly observed: boolean;
  readonly gate: ServerGate;
  /** What every retried call of this confirmation runs with (one object for all of them, not one per call). */
  readonly gatedDeps: GatedCallDeps;
  /** The strategy to use for `name` on this server (runner-status known missing → state-put). */
  strategy(name: StrategyName): ConfirmationStrategy;
  rememberRunnerStatusMissing(): void;
  /** Sends one keep-alive or confirmation; transport faults and other errors become answers. */
  send(
    operation: 'keepAlive' | 'confirm',
    strategy: ConfirmationStrategy,
    job: JobCredentials,
  ): Promise<ConfirmationAnswer>;
  /**
   * `PUT state=failed` for a job given up, retried through the gate for up to `releaseTimeoutMs` (not aborted by a
   * decline: handing the job back is what a decline asks for). Resolves whether GitLab answered it.
   */
  release(job: JobCredentials, failureReason: FailureReason): Promise<Release>;
  report(outcome: ConfirmationOutcome): void;
}

export function createContext(
  network: Network,
  clock: Clock,
  observer: Observer,
  gate: ServerGate,
  settings: Settings,
): Context {
  const strategies: Readonly<Record<StrategyName, ConfirmationStrategy>> = {
    'state-put': new StatePutStrategy(),
    'runner-status': new RunnerStatusPostStrategy(),
  };
  // Remembered per server: the runner-status endpoint answered 404/405.
  let runnerStatusMissing = false;
  const observed = observer !== nullObserver;
  const gatedDeps: GatedCallDeps = { clock, gate, retry: settings.retry, random: settings.random, observer };
  return {
    settings,
    clock,
    observer,
    observed,
    gate,
    gatedDeps,
    strategy: (name) => strategies[name === 'runner-status' && runnerStatusMissing ? 'state-put' : name],
    rememberRunnerStatusMissing: () => {
      runnerStatusMissing = true;
    },
    async send(operation, strategy, job) {
      try {
        return await strategy[operation](network, job, settings.info);
      } catch (error) {
        if (error instanceof TransportError) {
          return {
            kind: 'transient',
            detail: `transport error: ${error.message}`,
            ...(error.sent ? {} : { unsent: true }),
          };
        }
        if (error instanceof NetworkError) return { kind: 'unexpected', detail: `${error.code}: ${error.message}` };
        // A bug elsewhere must not leak a message that might quote a request: name the error only.
        return { kind: 'unexpected', detail: error instanceof Error ? error.name : 'unknown error' };
      }
    },
    async release(job, failureReason) {
      const result = await gatedCall(gatedDeps, {
        caller: Symbol(`release of job ${job.id}`),
        operation: 'release',
        jobId: job.id,
        deadline: clock.now() + settings.releaseTimeoutMs,
        firstTryPastDeadline: true,
        tryOnce: async (): Promise<Attempt<string>> => {
          try {
            const answer = await network.updateJob(job, { info: settings.info, state: 'failed', failureReason });
            if (answer.kind === 'retryable') {
              return { kind: 'transient', detail: `${answer.status} from PUT /jobs/:id`, ...waitOf(answer) };
            }
            return { kind: 'answered', value: answer.kind };
          } catch (error) {
            if (error instanceof TransportError)
              return { kind: 'transient', detail: `transport error: ${error.message}` };
            return { kind: 'answered', value: error instanceof NetworkError ? error.code : 'error' };
          }
        },
      });
      const answer = result.kind === 'answered' ? result.value : 'unreachable';
      observer.notify({ event: 'job.released', jobId: job.id, state: 'failed', failureReason, answer });
      return { failureReason, delivered: result.kind === 'answered' };
    },
    report(outcome) {
      if (!observed) return;
      observer.notify({
        event: 'job.outcome',
        jobId: outcome.jobId,
        outcome: outcome.kind,
        mode: outcome.mode,
        strategy: outcome.strategy,
        attempts: outcome.attempts,
        elapsedMs: outcome.elapsedMs,
      });
    },
  };
}

const waitOf = (answer: { readonly wait?: ServerWait }): { wait?: ServerWait } =>
  answer.wait === undefined ? {} : { wait: answer.wait };
