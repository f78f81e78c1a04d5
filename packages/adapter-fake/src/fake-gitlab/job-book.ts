import { type JobStatus, Secret } from '@runner-core/core';
import { aWireJob, type EnqueuedJob, type JobSpec, type ServerProfile } from '@runner-core/core/simulation';
import type { WireJobPayload } from '@runner-core/core/wire';
import type { FakeJobEvent, FakeStatusChange } from './fake-gitlab.types.js';
import { isRecord, randomChars } from './http-answers.js';

/** The ack key of a waiting job (Redis `runner:build_ack_queue:<job id>` in GitLab). */
export interface AckKey {
  readonly manager: string;
  expiresAt: number;
}

/** A job as the fake holds it: its payload, its state, the runner holding it, its trace and its history. */
export interface JobRecord {
  readonly id: number;
  readonly token: Secret;
  readonly spec: JobSpec;
  readonly wire: WireJobPayload;
  readonly enqueuedAt: number;
  readonly retryOf?: number;
  /** How many provisioning retries led to this job. */
  readonly retryDepth: number;
  status: JobStatus;
  runnerToken?: string;
  runnerManager?: string;
  ack?: AckKey;
  expiryCheckAt?: number;
  assignedAt?: number;
  startedAt?: number;
  finishedAt?: number;
  updatedAt: number;
  failureReason?: string;
  exitCode?: number;
  trace: Buffer;
  debugTrace: boolean;
  retriedAs?: number;
  readonly history: FakeStatusChange[];
}

/**
 * The fake's records: every job by id, the queue, and the queue's version (`X-GitLab-Last-Update`), with the
 * bookkeeping every part of the model shares (status changes and their history).
 */
export class JobBook {
  readonly jobs = new Map<number, JobRecord>();
  readonly queue: number[] = [];
  readonly #random: () => number;
  #nextJobId: number;
  #queueVersion = 0;
  #queueValue: string;

  constructor(random: () => number, firstJobId: number) {
    this.#random = random;
    this.#nextJobId = firstJobId;
    this.#queueValue = this.#nextQueueValue();
  }

  /** The current queue value, sent as `X-GitLab-Last-Update`; changes whenever the queue changes. */
  get queueValue(): string {
    return this.#queueValue;
  }

  /** @throws {Error} naming the caller for an unknown job id */
  get(caller: string, id: number): JobRecord {
    const job = this.jobs.get(id);
    if (job === undefined) throw new Error(`FakeGitLab.${caller}: no job with id ${id}`);
    return job;
  }

  /** Adds a pending job (a retry copy of `retryOf` when given) at the end of the queue. */
  enqueue(spec: JobSpec, at: number, retryOf?: JobRecord): EnqueuedJob {
    const id = this.#nextJobId++;
    const token = `glcbt-${randomChars(this.#random, 20)}`;
    const record: JobRecord = {
      id,
      token: new Secret(token),
      spec,
      wire: aWireJob({ ...spec, id, token }),
      enqueuedAt: at,
      retryDepth: retryOf === undefined ? 0 : retryOf.retryDepth + 1,
      ...(retryOf === undefined ? {} : { retryOf: retryOf.id }),
      status: 'pending',
      updatedAt: at,
      trace: Buffer.alloc(0),
      debugTrace: false,
      history: [{ at, event: 'enqueued', status: 'pending' }],
    };
    this.jobs.set(id, record);
    this.queue.push(id);
    this.queueChanged();
    return { id, token: record.token };
  }

  /** The next queued job, taken off the queue. */
  takeNext(): JobRecord | undefined {
    const id = this.queue.shift();
    if (id === undefined) return undefined;
    this.queueChanged();
    return this.get('requestJob', id);
  }

  dequeue(id: number): void {
    const index = this.queue.indexOf(id);
    if (index >= 0) {
      this.queue.splice(index, 1);
      this.queueChanged();
    }
  }

  queueChanged(): void {
    this.#queueValue = this.#nextQueueValue();
  }

  change(job: JobRecord, at: number, event: FakeJobEvent, status: JobStatus, failureReason?: string): void {
    job.status = status;
    job.updatedAt = at;
    job.history.push({ at, event, status, ...(failureReason === undefined ? {} : { failureReason }) });
  }

  finish(job: JobRecord, at: number, status: JobStatus, failureReason?: string, event: FakeJobEvent = 'updated'): void {
    job.finishedAt = at;
    this.change(job, at, event, status, failureReason);
  }

  /** The job token's owner, when `token` is the job's token. */
  authenticate(id: number, token: string | undefined): JobRecord | undefined {
    const job = this.jobs.get(id);
    return job !== undefined && token !== undefined && job.token.equals(token) ? job : undefined;
  }

  /** The failure reasons the job's payload announces (`features.failure_reasons`). */
  acceptedReasons(job: JobRecord): readonly unknown[] {
    const features = job.wire.features;
    const reasons = isRecord(features) ? features.failure_reasons : undefined;
    return Array.isArray(reasons) ? reasons : [];
  }

  /** The payload GitLab hands the job out with: queue figures filled in, `job_status` on a runner-status server. */
  handoutPayload(job: JobRecord, now: number, profile: ServerProfile): WireJobPayload {
    const features = isRecord(job.wire.features) ? job.wire.features : {};
    const jobInfo = isRecord(job.wire.job_info) ? job.wire.job_info : {};
    return {
      ...job.wire,
      job_info: {
        ...jobInfo,
        time_in_queue_seconds: Math.max(0, (job.assignedAt ?? now) - job.enqueuedAt) / 1000,
        queue_size: this.queue.length,
        queue_depth: this.queue.length,
      },
      features: profile === 'runner-status' ? { ...features, job_status: true } : features,
    };
  }

  #nextQueueValue(): string {
    this.#queueVersion += 1;
    return `${this.#queueVersion.toString(16).padStart(4, '0')}${randomChars(this.#random, 12)}`;
  }
}
