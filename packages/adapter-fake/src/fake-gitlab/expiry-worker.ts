import type { AckWaitStatus } from './fake-gitlab.types.js';
import type { JobBook, JobRecord } from './job-book.js';

/** When the worker looks again at a job still waiting, and how many provisioning retries a job gets. */
export interface ExpirySettings {
  readonly ackWindowMs: number;
  readonly expiryRecheckMs: number;
  readonly maxProvisioningRetries: number;
}

/**
 * GitLab's `Ci::RetryStuckWaitingJobWorker` (docs/gitlab-protocol.md §5.6, S9, S10): first at hand-out + window, then
 * every `expiryRecheckMs` while the job still waits, it drops a job whose window lapsed as
 * `runner_provisioning_timeout` and queues a retry copy within the retry limit.
 */
export class ExpiryWorker {
  readonly #book: JobBook;
  readonly #settings: ExpirySettings;
  /** The earliest scheduled check of any job (`Infinity` when none): ticks before it do nothing. */
  #earliestCheckAt = Number.POSITIVE_INFINITY;

  constructor(book: JobBook, settings: ExpirySettings) {
    this.#book = book;
    this.#settings = settings;
  }

  /** Whether the job waits for its runner's confirmation at `at` (docs/gitlab-protocol.md §5.3). */
  waitStatus(job: JobRecord, at: number): AckWaitStatus {
    if (job.status !== 'pending' || job.runnerToken === undefined) return 'not-waiting';
    return job.ack !== undefined && job.ack.expiresAt > at ? 'waiting' : 'wait-expired';
  }

  /** Schedules the first check of a job just handed out to a two-phase runner. */
  schedule(job: JobRecord, at: number): void {
    job.expiryCheckAt = at;
    this.#earliestCheckAt = Math.min(this.#earliestCheckAt, at);
  }

  /** Runs the checks that are due by `now`; cheap when none is (every model call ticks). */
  tick(now: number): void {
    if (now >= this.#earliestCheckAt) this.runScheduled(now);
  }

  /**
   * Runs every scheduled check up to `now`: each due check drops an expired job, re-checks a waiting one later, and
   * ends for a job no longer waiting. @returns the ids of the dropped jobs
   */
  runScheduled(now: number): number[] {
    const dropped: number[] = [];
    for (;;) {
      const due = this.#nextDueCheck(now);
      if (due === undefined) {
        this.#earliestCheckAt = Number.POSITIVE_INFINITY;
        for (const job of this.#book.jobs.values()) {
          if (job.expiryCheckAt !== undefined && job.expiryCheckAt < this.#earliestCheckAt) {
            this.#earliestCheckAt = job.expiryCheckAt;
          }
        }
        return dropped;
      }
      const at = due.expiryCheckAt ?? now;
      switch (this.waitStatus(due, at)) {
        case 'waiting':
          due.expiryCheckAt = at + this.#settings.expiryRecheckMs;
          break;
        case 'wait-expired':
          this.expire(due, at);
          dropped.push(due.id);
          break;
        case 'not-waiting':
          due.expiryCheckAt = undefined;
          break;
      }
    }
  }

  /** Drops a job whose window lapsed and queues its retry copy. */
  expire(job: JobRecord, at: number): void {
    job.ack = undefined;
    job.expiryCheckAt = undefined;
    job.failureReason = 'runner_provisioning_timeout';
    this.#book.finish(job, at, 'failed', 'runner_provisioning_timeout', 'expired');
    if (job.retryDepth < this.#settings.maxProvisioningRetries) {
      const copy = this.#book.enqueue(job.spec, at, job);
      job.retriedAs = copy.id;
    }
  }

  #nextDueCheck(now: number): JobRecord | undefined {
    let next: JobRecord | undefined;
    for (const job of this.#book.jobs.values()) {
      const at = job.expiryCheckAt;
      if (at === undefined || at > now) continue;
      if (next === undefined || at < (next.expiryCheckAt ?? at)) next = job;
    }
    return next;
  }
}
