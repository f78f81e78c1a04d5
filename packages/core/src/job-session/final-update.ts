import type { Clock } from '../clock/clock.port.js';
import type { ExecutionResult } from '../execution/executor.port.js';
import type { JobCredentials } from '../job/job.types.js';
import type { Logger } from '../logger/logger.port.js';
import { faultDetail, NetworkError } from '../network/network.errors.js';
import type { Network } from '../network/network.port.js';
import type { UpdateJobResult } from '../network/network.types.js';
import type { RunnerInfo } from '../network/runner-info.js';
import { type RetryPolicy, retryWait } from '../retry/retry-policy.js';
import type { TraceShipper } from '../trace/trace-shipper.js';

/** How reporting a job's final state ended. */
export type FinalUpdateResult =
  /** GitLab took the final state (or already holds the job in a final state: nothing more to send). */
  | { readonly kind: 'reported'; readonly attempts: number }
  /** The job is gone (403, 404, `Job-Status: canceled/failed`): nothing more to report. */
  | { readonly kind: 'gone'; readonly attempts: number }
  /** GitLab refused the update (400, 409, other statuses) or never answered within the attempts. */
  | { readonly kind: 'not-reported'; readonly attempts: number; readonly detail: string };

/** What {@link sendFinalState} needs. */
export interface FinalUpdateDeps {
  readonly network: Network;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly info: RunnerInfo;
  readonly retry: RetryPolicy;
  readonly random: () => number;
}

/** Options of {@link sendFinalState}. */
export interface FinalUpdateOptions {
  /** Transient failures (network errors, 5xx, 429) tolerated before giving up. @default 10 */
  readonly maxFailures?: number;
  /** `202` answers tolerated (GitLab is still persisting the trace) before giving up. @default 120 */
  readonly maxAccepted?: number;
}

/**
 * Reports a job's final state as gitlab-runner's final-update loop does (docs/gitlab-protocol.md §6.3): flush the whole
 * trace, then `PUT state=success` (or `failed` with `failure_reason` and `exit_code`) with the trace checksum and
 * size. `202` → wait the interval (the server's, else the trace interval) and repeat; `412` → resend the trace from
 * the start and repeat; transient failures → back off with the retry policy (honouring `Retry-After`) and repeat.
 */
export async function sendFinalState(
  deps: FinalUpdateDeps,
  job: JobCredentials,
  trace: TraceShipper,
  result: ExecutionResult,
  options: FinalUpdateOptions = {},
): Promise<FinalUpdateResult> {
  const maxFailures = options.maxFailures ?? 10;
  const maxAccepted = options.maxAccepted ?? 120;
  let failures = 0;
  let accepted = 0;
  for (let attempts = 1; ; attempts++) {
    await trace.flushAll();
    if (trace.stopReason === 'gone') return { kind: 'gone', attempts: attempts - 1 };
    let answer: UpdateJobResult | undefined;
    let fault: string | undefined;
    try {
      answer = await deps.network.updateJob(job, {
        info: deps.info,
        ...(result.kind === 'success'
          ? { state: 'success' }
          : {
              state: 'failed',
              failureReason: result.failureReason,
              ...(result.exitCode === undefined || result.exitCode === 0 ? {} : { exitCode: result.exitCode }),
            }),
        output: { checksum: trace.checksum, bytesize: trace.bytesize },
      });
    } catch (error) {
      if (!(error instanceof NetworkError)) throw error;
      fault = faultDetail(error);
    }
    if (answer !== undefined) trace.applyHints(answer);
    switch (answer?.kind) {
      case 'succeeded':
        return { kind: 'reported', attempts };
      case 'aborted':
        // NOTE: GitLab answers a final `failed` with `Job-Status: failed` (or `canceled` for a canceling job), which
        // the shared classification reads as `aborted`: the job is finished, as asked. Only 403/404 mean it is gone.
        return answer.reason === 'job-failed' || answer.reason === 'job-canceled'
          ? { kind: 'reported', attempts }
          : { kind: 'gone', attempts };
      case 'accepted': {
        accepted += 1;
        if (accepted > maxAccepted) {
          return { kind: 'not-reported', attempts, detail: `still 202 after ${maxAccepted} attempts` };
        }
        // NOTE: 202 means GitLab is still persisting the trace; it asks for patience, not for a backoff.
        const waitMs =
          answer.updateIntervalMs !== undefined && answer.updateIntervalMs > 0
            ? answer.updateIntervalMs
            : trace.intervalMs;
        await deps.clock.sleep(waitMs);
        break;
      }
      case 'trace-invalid':
        deps.logger.warn('GitLab could not validate the trace (412); sending it again', { jobId: job.id });
        await trace.resendAll();
        break;
      case 'conflict':
      case 'rejected':
      case 'failed':
        return { kind: 'not-reported', attempts, detail: `final update answered ${answer.kind}` };
      case 'retryable':
      case undefined: {
        failures += 1;
        const detail = answer === undefined ? (fault ?? 'no answer') : `status ${answer.status}`;
        if (failures >= maxFailures) {
          return { kind: 'not-reported', attempts, detail: `${detail} after ${failures} attempts` };
        }
        const wait = retryWait(deps.retry, failures, deps.clock.now(), deps.random, answer?.wait);
        deps.logger.warn('final update failed; retrying', { jobId: job.id, detail, waitMs: wait.ms, rule: wait.rule });
        await deps.clock.sleep(wait.ms);
        break;
      }
      default: {
        const unreachable: never = answer;
        throw new Error(`unknown update result ${JSON.stringify(unreachable)}`);
      }
    }
  }
}
