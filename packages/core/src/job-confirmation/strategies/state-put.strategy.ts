import type { JobCredentials } from '../../job/job.types.js';
import type { Network } from '../../network/network.port.js';
import type { RunnerInfo } from '../../network/runner-info.js';
import { answerFromUpdate, type ConfirmationAnswer, type ConfirmationStrategy } from './confirmation-strategy.port.js';

const ENDPOINT = 'PUT /jobs/:id';

/**
 * `PUT /api/v4/jobs/:id` with `state=pending` (keep-alive) and `state=running` (confirmation): GitLab 18.5+ with
 * `allow_runner_job_acknowledgement`; on older servers the confirmation is a harmless touch (200).
 */
export class StatePutStrategy implements ConfirmationStrategy {
  readonly name = 'state-put';

  async keepAlive(network: Network, job: JobCredentials, info: RunnerInfo): Promise<ConfirmationAnswer> {
    return answerFromUpdate(await network.updateJob(job, { info, state: 'pending' }), ENDPOINT);
  }

  async confirm(network: Network, job: JobCredentials, info: RunnerInfo): Promise<ConfirmationAnswer> {
    // NOTE: no output on a confirmation, so the wire carries `output: {}` as gitlab-runner's does.
    return answerFromUpdate(await network.updateJob(job, { info, state: 'running' }), ENDPOINT);
  }
}
