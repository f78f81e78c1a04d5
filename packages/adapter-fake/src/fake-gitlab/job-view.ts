import type { AckWaitStatus, FakeJobView } from './fake-gitlab.types.js';
import type { JobRecord } from './job-book.js';

/** A token-free snapshot of a job for assertions and the simulator's control endpoints. */
export function jobView(job: JobRecord, waitStatus: AckWaitStatus): FakeJobView {
  const optional = <K extends string, V>(key: K, value: V | undefined): { [P in K]?: V } =>
    (value === undefined ? {} : { [key]: value }) as { [P in K]?: V };
  return {
    id: job.id,
    status: job.status,
    ...optional('failureReason', job.failureReason),
    ...optional('exitCode', job.exitCode),
    assigned: job.runnerToken !== undefined,
    ...optional('runnerManager', job.runnerManager),
    waitStatus,
    waiting: waitStatus === 'waiting',
    ...optional('ackExpiresAt', job.ack?.expiresAt),
    ...optional('ackManager', job.ack?.manager),
    ...optional('expiryCheckAt', job.expiryCheckAt),
    enqueuedAt: job.enqueuedAt,
    ...optional('assignedAt', job.assignedAt),
    ...optional('startedAt', job.startedAt),
    ...optional('finishedAt', job.finishedAt),
    trace: job.trace.toString('utf8'),
    debugTrace: job.debugTrace,
    ...optional('retryOf', job.retryOf),
    ...optional('retriedAs', job.retriedAs),
    history: [...job.history],
  };
}
