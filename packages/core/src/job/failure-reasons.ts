import type { FailureReason } from '../network/network.types.js';
import type { JobPayload } from './job.types.js';

/**
 * The reason GitLab is told: the runner's reason when the job's GitLab lists it in `features.failure_reasons`, else
 * `unknown_failure` (docs/gitlab-protocol.md §11 A6, as gitlab-runner's failure-reason mapper does). A payload
 * without the list (an older GitLab) takes any reason.
 */
export function failureReasonFor(reason: FailureReason, payload: Pick<JobPayload, 'features'>): FailureReason {
  const supported = payload.features?.failure_reasons;
  if (!Array.isArray(supported) || supported.length === 0) return reason;
  return supported.includes(reason) ? reason : 'unknown_failure';
}
