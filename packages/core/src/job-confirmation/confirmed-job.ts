import type { JobCredentials, JobPayload } from '../job/job.types.js';
import type { ConfirmationMode, ConfirmedJob, StrategyName } from './confirmation.types.js';

/**
 * Seals a job as runnable. Internal to the core (not exported from the package): only `JobConfirmation` calls it,
 * for `confirmed` and `skipped` outcomes. `credentials` are the payload's (`jobCredentialsOf(payload)`), as the
 * pending job already holds them: not made a second time per job.
 */
export function sealConfirmedJob(
  payload: JobPayload,
  credentials: JobCredentials,
  confirmation: 'confirmed' | 'skipped',
  mode: ConfirmationMode,
  strategy: StrategyName | 'none',
  at: number,
  updateIntervalMs?: number,
): ConfirmedJob {
  const job = {
    id: payload.id,
    credentials,
    payload,
    confirmation,
    mode,
    strategy,
    at,
    ...(updateIntervalMs === undefined ? {} : { updateIntervalMs }),
  };
  return Object.freeze(job) as unknown as ConfirmedJob;
}
