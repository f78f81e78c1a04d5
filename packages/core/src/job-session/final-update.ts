import type { Clock } from '../clock/clock.port.js';
import type { ExecutionResult } from '../execution/executor.port.js';
import type { JobCredentials } from '../job/job.types.js';
import type { Logger } from '../logger/logger.port.js';
import { faultDetail } from '../network/network.errors.js';
import type { Network } from '../network/network.port.js';
import type { UpdateJobInput, UpdateJobResult } from '../network/network.types.js';
import type { RunnerInfo } from '../network/runner-info.js';
import type { Observer } from '../observer/observer.port.js';
import { type Attempt, gatedCall } from '../retry/gated-call.js';
import type { RetryPolicy } from '../retry/retry-policy.js';
import type { ServerGate } from '../retry/server-gate.js';
import { MAX_UPDATE_INTERVAL_MS, type TraceShipper } from '../trace/trace-shipper.js';

/** How reporting a job's final state ended. */
export type FinalUpdateResult =
  /** GitLab took the final state (or already holds the job in a final state: nothing more to send). */
  | { readonly kind: 'reported'; readonly attempts: number }
  /** The job is gone (403, 404): nothing more to report. */
  | { readonly kind: 'gone'; readonly attempts: number }
  /**
   * Not taken: GitLab refused it (`refused`: 400, 409, other statuses — sending it again will not help) or gave no
   * answer before the deadline (`timeout`: the outbox keeps it and sends it again later).
   */
  | {
      readonly kind: 'not-reported';
      readonly reason: 'refused' | 'timeout';
      readonly attempts: number;
      readonly detail: string;
    };

/** What {@link sendFinalState} needs. */
export interface FinalUpdateDeps {
  readonly network: Network;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly info: RunnerInfo;
  readonly retry: RetryPolicy;
  readonly random: () => number;
  /** The gate of every call to this GitLab. */
  readonly gate: ServerGate;
  readonly observer?: Observer;
}

/** Options of {@link sendFinalState}. */
export interface FinalUpdateOptions {
  /**
   * How long the final update keeps trying (flushing the trace, then the `PUT`) through outages before it is
   * reported `not-reported`. At least as long as gitlab-runner's (10 × 5 tries, back-off up to 60 s: ≈ 9 min).
   * @default 600_000 (10 min)
   */
  readonly timeoutMs?: number;
  /** `202` answers tolerated (GitLab still persisting the trace) before giving up. @default 60 */
  readonly maxAccepted?: number;
}

/** The interval gitlab-runner goes back to when the final update starts (docs/gitlab-protocol.md §6.3). */
const FINAL_UPDATE_INTERVAL_MS = 3_000;

/**
 * Reports a job's final state as gitlab-runner's final-update loop does (docs/gitlab-protocol.md §6.3, §11), every
 * call through the server's gate: flush the whole trace — if bytes are left unsent, no final state goes out and
 * the attempt is tried again — then `PUT state=success` (or `failed` with `failure_reason` and `exit_code`) with
 * the trace checksum and size. `202` → wait the interval (at most 15 minutes) and repeat; `412` → wait the interval,
 * send the trace again from the start, repeat; transient failures → retry until `timeoutMs`.
 */
export async function sendFinalState(
  deps: FinalUpdateDeps,
  job: JobCredentials,
  trace: TraceShipper,
  result: ExecutionResult,
  options: FinalUpdateOptions = {},
): Promise<FinalUpdateResult> {
  const { clock, network, gate, observer } = deps;
  const timeoutMs = options.timeoutMs ?? 600_000;
  const maxAccepted = options.maxAccepted ?? 60;
  // NOTE: the budget is for reaching GitLab; an answer that asks for patience (202, 412) starts it again.
  let deadline = clock.now() + timeoutMs;
  let accepted = 0;
  const caller = Symbol(`final update of job ${job.id}`);
  const input: UpdateJobInput = {
    info: deps.info,
    ...(result.kind === 'success'
      ? { state: 'success' }
      : {
          state: 'failed',
          failureReason: result.failureReason,
          ...(result.exitCode === undefined || result.exitCode === 0 ? {} : { exitCode: result.exitCode }),
        }),
  };
  trace.resetInterval(FINAL_UPDATE_INTERVAL_MS);
  let attempts = 0;
  const patiently = async (ms: number): Promise<void> => {
    await clock.sleep(ms);
    deadline = clock.now() + timeoutMs;
  };
  for (;;) {
    // NOTE: never a final state over an unsent trace (§11 A2): GitLab would show the job done with its log cut.
    const flushed = await trace.flushAll(deadline);
    if (flushed === 'gone') return { kind: 'gone', attempts };
    if (flushed === 'unsent') {
      return {
        kind: 'not-reported',
        reason: 'timeout',
        attempts,
        detail: 'the trace could not be sent before the final update gave up',
      };
    }
    const put = await gatedCall(
      { clock, gate, retry: deps.retry, random: deps.random, ...(observer === undefined ? {} : { observer }) },
      {
        caller,
        operation: 'final-update',
        jobId: job.id,
        deadline,
        firstTryPastDeadline: attempts === 0,
        tryOnce: async (): Promise<Attempt<UpdateJobResult>> => {
          attempts += 1;
          try {
            // NOTE: a trace no longer whole at hand (a restart) goes without a checksum, so GitLab does not refuse it.
            const answer = await network.updateJob(job, {
              ...input,
              output: trace.verifiable ? { checksum: trace.checksum, bytesize: trace.bytesize } : {},
            });
            if (answer.kind === 'retryable') {
              return {
                kind: 'transient',
                detail: `${answer.status} from PUT /jobs/:id`,
                ...(answer.wait === undefined ? {} : { wait: answer.wait }),
              };
            }
            return { kind: 'answered', value: answer };
          } catch (error) {
            return { kind: 'transient', detail: faultDetail(error) };
          }
        },
      },
    );
    if (put.kind !== 'answered') {
      return {
        kind: 'not-reported',
        reason: 'timeout',
        attempts,
        detail: put.kind === 'exhausted' ? put.detail : 'aborted',
      };
    }
    const answer = put.value;
    trace.applyHints(answer);
    switch (answer.kind) {
      case 'succeeded':
        return { kind: 'reported', attempts };
      case 'aborted':
        // NOTE: GitLab answers a final `failed` with `Job-Status: failed` (or `canceled` for a canceling job), which
        // the shared classification reads as `aborted`: the job is finished, as asked. Only 403/404 mean it is gone.
        return answer.reason === 'job-failed' || answer.reason === 'job-canceled'
          ? { kind: 'reported', attempts }
          : { kind: 'gone', attempts };
      case 'accepted': {
        // NOTE: 202 means GitLab is still persisting the trace; it asks for patience, not for a backoff.
        const asked =
          answer.updateIntervalMs !== undefined && answer.updateIntervalMs > 0 ? answer.updateIntervalMs : 0;
        accepted += 1;
        if (accepted > maxAccepted) {
          return {
            kind: 'not-reported',
            reason: 'timeout',
            attempts,
            detail: `still 202 after ${maxAccepted} answers`,
          };
        }
        await patiently(Math.min(asked > 0 ? asked : trace.intervalMs, MAX_UPDATE_INTERVAL_MS));
        break;
      }
      case 'trace-invalid':
        deps.logger.warn('GitLab could not validate the trace (412); sending it again', { jobId: job.id });
        // NOTE: gitlab-runner sleeps one interval before resending from 0 (§11 A3).
        await patiently(trace.intervalMs);
        trace.rewind();
        break;
      case 'conflict':
      case 'rejected':
      case 'failed':
      // NOTE: `retryable` never gets here (the gated call retries it); listed so the switch stays exhaustive.
      case 'retryable':
        return { kind: 'not-reported', reason: 'refused', attempts, detail: `final update answered ${answer.kind}` };
      default: {
        const unreachable: never = answer;
        throw new Error(`unknown update result ${JSON.stringify(unreachable)}`);
      }
    }
  }
}
