import type { JobCredentials } from '../../job/job.types.js';
import type { Network } from '../../network/network.port.js';
import type { RunnerInfo } from '../../network/runner-info.js';
import {
  answerFromRunnerStatus,
  type ConfirmationAnswer,
  type ConfirmationStrategy,
} from './confirmation-strategy.port.js';

const ENDPOINT = 'POST /jobs/:id/runner_status';

/**
 * `POST /api/v4/jobs/:id/runner_status` with `status=pending` / `status=running`: the proposed endpoint, offered by a
 * server that puts `features.job_status: true` in the job payload. A 404/405 from the route itself answers
 * `unsupported`, on which `JobConfirmation` falls back to {@link StatePutStrategy}.
 */
export class RunnerStatusPostStrategy implements ConfirmationStrategy {
  readonly name = 'runner-status';

  async keepAlive(network: Network, job: JobCredentials, info: RunnerInfo): Promise<ConfirmationAnswer> {
    return answerFromRunnerStatus(await network.postRunnerStatus(job, { info, status: 'pending' }), ENDPOINT);
  }

  async confirm(network: Network, job: JobCredentials, info: RunnerInfo): Promise<ConfirmationAnswer> {
    return answerFromRunnerStatus(await network.postRunnerStatus(job, { info, status: 'running' }), ENDPOINT);
  }
}
