import type { JobCredentials } from '../../job/job.types.js';
import type { Network } from '../../network/network.port.js';
import type { RunnerStatusResult, ServerWait, UpdateJobResult } from '../../network/network.types.js';
import type { RunnerInfo } from '../../network/runner-info.js';
import type { StrategyName } from '../confirmation.types.js';

/**
 * A keep-alive's or confirmation's answer, reduced to what decides the next step (docs/design.md §2 outcome table).
 * `canceling` outranks every kind but `gone`, so strategies report it first.
 */
export type ConfirmationAnswer =
  /** 200. `updateIntervalMs`: the trace update interval the answer asked for, when it did. */
  | { readonly kind: 'ok'; readonly updateIntervalMs?: number }
  | { readonly kind: 'gone'; readonly detail: string }
  /** `Job-Status: canceling`; `rejected` when it came with a 400 (the server was not holding the job). */
  | { readonly kind: 'canceling'; readonly rejected: boolean }
  | { readonly kind: 'conflict' }
  /** 400: for a keep-alive, the server is not holding the job (mode legacy); for a confirmation, a rejection. */
  | { readonly kind: 'rejected'; readonly jobStatus?: string }
  /**
   * No usable answer yet; retry. `unsent`: the request did not reach GitLab's job logic (never sent, refused by the
   * rate limit, or GitLab unavailable), so a confirmation cannot have landed.
   */
  | { readonly kind: 'transient'; readonly detail: string; readonly wait?: ServerWait; readonly unsent?: boolean }
  /** The runner-status endpoint does not exist on this server. */
  | { readonly kind: 'unsupported' }
  /** An answer with no meaning for a keep-alive or a confirmation (202, 412, 422, 501, a refused redirect…). */
  | { readonly kind: 'unexpected'; readonly detail: string };

/** One wire form of job confirmation: how to send a keep-alive and a confirmation. */
export interface ConfirmationStrategy {
  readonly name: StrategyName;
  /** Sends `pending`. @throws {TransportError} when there is no answer */
  keepAlive(network: Network, job: JobCredentials, info: RunnerInfo): Promise<ConfirmationAnswer>;
  /** Sends `running`. @throws {TransportError} when there is no answer */
  confirm(network: Network, job: JobCredentials, info: RunnerInfo): Promise<ConfirmationAnswer>;
}

/** Maps a job-update answer onto a confirmation step; shared by both strategies. */
/** The answer of every 200 that asks for no update interval: one object, read-only, for all of them. */
const OK: ConfirmationAnswer = Object.freeze({ kind: 'ok' });

export function answerFromUpdate(result: UpdateJobResult, endpoint: string): ConfirmationAnswer {
  if (result.kind === 'aborted') return { kind: 'gone', detail: `${result.reason} from ${endpoint}` };
  if (result.cancelRequested) return { kind: 'canceling', rejected: result.kind === 'rejected' };
  switch (result.kind) {
    case 'succeeded':
      return result.updateIntervalMs !== undefined && result.updateIntervalMs > 0
        ? { kind: 'ok', updateIntervalMs: result.updateIntervalMs }
        : OK;
    case 'conflict':
      return { kind: 'conflict' };
    case 'rejected':
      return result.jobStatus === undefined ? { kind: 'rejected' } : { kind: 'rejected', jobStatus: result.jobStatus };
    case 'retryable':
      return {
        kind: 'transient',
        detail: `${result.status} from ${endpoint}`,
        ...(result.wait === undefined ? {} : { wait: result.wait }),
        // NOTE: 429 (the rate limit) and 503 (GitLab or its proxy unavailable) come before the job is touched.
        ...(result.status === 429 || result.status === 503 ? { unsent: true } : {}),
      };
    case 'accepted':
      return { kind: 'unexpected', detail: `202 from ${endpoint}` };
    case 'trace-invalid':
      return { kind: 'unexpected', detail: `412 from ${endpoint}` };
    case 'failed':
      return { kind: 'unexpected', detail: `${result.status} from ${endpoint}` };
    default:
      return assertNever(result);
  }
}

/** Maps a runner-status answer: `unsupported` first, then as a job update. */
export function answerFromRunnerStatus(result: RunnerStatusResult, endpoint: string): ConfirmationAnswer {
  switch (result.kind) {
    case 'unsupported':
      return { kind: 'unsupported' };
    case 'succeeded':
    case 'accepted':
    case 'trace-invalid':
    case 'aborted':
    case 'conflict':
    case 'rejected':
    case 'retryable':
    case 'failed':
      return answerFromUpdate(result, endpoint);
    default:
      return assertNever(result);
  }
}

/** Compile-time exhaustiveness guard. */
export function assertNever(value: never): never {
  throw new Error(`unhandled variant: ${JSON.stringify(value)}`);
}
