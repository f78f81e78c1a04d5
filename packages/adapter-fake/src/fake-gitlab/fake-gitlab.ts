import { type Clock, type JobPayload, type JobStatus, systemClock } from '@runner-core/core';
import {
  type EnqueuedJob,
  type InjectedAnswer,
  type InjectOptions,
  type JobSpec,
  type RecordedRequest,
  type ServerOperation,
  type ServerProfile,
  type SimulatedGitLab,
  serverProfiles,
} from '@runner-core/core/simulation';
import { decodeJobPayload } from '@runner-core/core/wire';
import { ExpiryWorker } from './expiry-worker.js';
import type {
  FakeGitLabOptions,
  FakeHttpRequest,
  FakeJobView,
  FakeReply,
  FakeStatusChange,
} from './fake-gitlab.types.js';
import { randomChars } from './http-answers.js';
import { HttpFront } from './http-front.js';
import { Injections } from './injections.js';
import { JobBook } from './job-book.js';
import { jobView } from './job-view.js';
import { RequestLog } from './request-log.js';
import { RunnerApiModel } from './runner-api-model.js';
import { validateSpec } from './spec-validation.js';

/**
 * One in-memory model of GitLab's runner API (docs/gitlab-protocol.md §4, §5, §7 and the Rails checks of §8.6),
 * answering at the HTTP level (status, headers, body) so the in-memory network and the HTTP server share it. This
 * class is the facade; the parts sit beside it: the {@link JobBook} (records and queue), the {@link RunnerApiModel}
 * (what Rails does), the {@link ExpiryWorker}, the {@link HttpFront} (routing, scripted answers, the request log).
 *
 * - Profiles: `legacy` hands jobs out `running`; `two-phase` and `runner-status` hold them `pending` for the ack
 *   window when the runner advertises `two_phase_job_commit`; `runner-status` also serves
 *   `POST /jobs/:id/runner_status` and announces it with `features.job_status: true`.
 * - Expiry: a job whose window lapsed is dropped as `runner_provisioning_timeout` and retried as a new job.
 * - Fault injection ({@link FakeGitLab.inject}) and inspection ({@link FakeGitLab.job},
 *   {@link FakeGitLab.requests}); nothing it reports holds a token in clear text.
 */
export class FakeGitLab implements SimulatedGitLab {
  readonly #clock: Clock;
  readonly #random: () => number;
  readonly #ackWindowMs: number;
  readonly #autoExpiry: boolean;
  readonly #runnerTokens = new Set<string>();
  readonly #runnerToken: string;
  readonly #book: JobBook;
  readonly #expiry: ExpiryWorker;
  readonly #injections = new Injections();
  readonly #log: RequestLog;
  readonly #front: HttpFront;
  #profile: ServerProfile;

  constructor(options: FakeGitLabOptions) {
    if (!isProfile(options.profile)) {
      throw new TypeError(`FakeGitLab: profile must be one of ${serverProfiles.join(', ')}, got ${options.profile}`);
    }
    this.#profile = options.profile;
    this.#clock = options.clock ?? systemClock;
    this.#random = options.random ?? Math.random;
    this.#ackWindowMs = positive('ackWindowMs', options.ackWindowMs ?? 120_000);
    this.#autoExpiry = options.autoExpiry ?? true;
    if (options.runnerToken !== undefined && options.runnerToken.trim() === '') {
      throw new TypeError('FakeGitLab: runnerToken must not be empty');
    }
    this.#runnerToken = options.runnerToken ?? `glrt-${randomChars(this.#random, 20)}`;
    this.#runnerTokens.add(this.#runnerToken);
    this.#book = new JobBook(this.#random, positive('firstJobId', options.firstJobId ?? 1));
    this.#expiry = new ExpiryWorker(this.#book, {
      ackWindowMs: this.#ackWindowMs,
      expiryRecheckMs: positive('expiryRecheckMs', options.expiryRecheckMs ?? 30_000),
      maxProvisioningRetries: atLeastZero('maxProvisioningRetries', options.maxProvisioningRetries ?? 2),
    });
    this.#log = new RequestLog(positive('requestLogLimit', options.requestLogLimit ?? 10_000));
    const profile = (): ServerProfile => this.#profile;
    const model = new RunnerApiModel(this.#book, this.#expiry, {
      profile,
      runnerTokens: this.#runnerTokens,
      ackWindowMs: this.#ackWindowMs,
      traceUpdateIntervalSeconds: atLeastZero('traceUpdateIntervalSeconds', options.traceUpdateIntervalSeconds ?? 60),
    });
    this.#front = new HttpFront({ model, injections: this.#injections, log: this.#log, profile, random: this.#random });
  }

  /** The runner authentication token this GitLab accepts (a getter, so `JSON.stringify(fake)` does not show it). */
  get runnerToken(): string {
    return this.#runnerToken;
  }

  /** The server's clock. */
  get clock(): Clock {
    return this.#clock;
  }

  /** The GitLab being played. */
  get profile(): ServerProfile {
    return this.#profile;
  }

  /** The ack window in ms. */
  get ackWindowMs(): number {
    return this.#ackWindowMs;
  }

  /**
   * Switches the GitLab being played, as an admin flipping `allow_runner_job_acknowledgement` would: jobs already
   * waiting keep waiting and are still processed (docs/gitlab-protocol.md §5.3, S8).
   */
  setProfile(profile: ServerProfile): void {
    if (!isProfile(profile)) {
      throw new TypeError(`FakeGitLab.setProfile: profile must be one of ${serverProfiles.join(', ')}, got ${profile}`);
    }
    this.#profile = profile;
  }

  /** Registers another runner with this GitLab (for several runners polling one queue). @returns its token */
  addRunner(token: string = `glrt-${randomChars(this.#random, 20)}`): string {
    if (token.trim() === '') throw new TypeError('FakeGitLab.addRunner: token must not be empty');
    this.#runnerTokens.add(token);
    return token;
  }

  /** The current queue value, sent as `X-GitLab-Last-Update`; changes whenever the queue changes. */
  get lastUpdate(): string {
    this.#tick();
    return this.#book.queueValue;
  }

  // -------------------------------------------------------------------------------------------------------------
  // Arranging

  /**
   * Adds a pending job to the queue. The payload follows `aWireJob` (a `script` step `echo hello`, a masked
   * variable, `git_info.repo_url` embedding the job token, `features.failure_reasons`); profile `runner-status` adds
   * `features.job_status: true` when the job is handed out.
   * @throws {TypeError} naming the field when `spec` is malformed (it may come from the sim's HTTP endpoint)
   */
  enqueueJob(spec: JobSpec = {}): EnqueuedJob {
    validateSpec(spec);
    this.#tick();
    return this.#book.enqueue(spec, this.#clock.now());
  }

  /**
   * A user cancels the job: `pending` (queued or waiting) becomes `canceled`, `running` becomes `canceling` (GitLab
   * then waits for the runner's final update). Jobs already finished are left alone.
   * @returns the status afterwards
   * @throws {Error} for an unknown job id
   */
  cancelJob(id: number): JobStatus {
    this.#tick();
    const job = this.#book.get('cancelJob', id);
    const now = this.#clock.now();
    if (job.status === 'pending') {
      this.#book.dequeue(id);
      job.ack = undefined;
      this.#book.change(job, now, 'canceled', 'canceled');
      job.finishedAt = now;
    } else if (job.status === 'running') {
      this.#book.change(job, now, 'cancel-requested', 'canceling');
    }
    return job.status;
  }

  /**
   * Another runner manager took the waiting job (the race of docs/gitlab-protocol.md §5.4): the job gets that manager
   * while still `pending`, so keep-alives answer 409 and so does a confirmation (NOTE: derived, see §5.7).
   * @throws {Error} when the job is not waiting for a confirmation
   */
  takeByOtherManager(id: number, systemId = 's_0therrunner0'): void {
    this.#tick();
    const job = this.#book.get('takeByOtherManager', id);
    if (this.#expiry.waitStatus(job, this.#clock.now()) !== 'waiting') {
      throw new Error(`FakeGitLab.takeByOtherManager: job ${id} is not waiting for a confirmation`);
    }
    job.runnerManager = systemId;
    this.#book.change(job, this.#clock.now(), 'taken-by-other-manager', job.status);
  }

  /**
   * Ends the job's ack window now. The job stays `pending` and forbidden to the runner (403) until the expiry
   * worker drops it: on its schedule, or at once through {@link FakeGitLab.runExpiry}.
   * @throws {Error} when the job is not waiting for a confirmation
   */
  lapseAckWindow(id: number): void {
    this.#tick();
    const job = this.#book.get('lapseAckWindow', id);
    if (job.ack === undefined || this.#expiry.waitStatus(job, this.#clock.now()) !== 'waiting') {
      throw new Error(`FakeGitLab.lapseAckWindow: job ${id} is not waiting for a confirmation`);
    }
    job.ack.expiresAt = this.#clock.now();
  }

  /**
   * Runs GitLab's expiry worker now (docs/gitlab-protocol.md §5.6): the scheduled checks that are due, then every job
   * whose window already lapsed is dropped as `runner_provisioning_timeout` and, within the retry limit, copied into
   * a new pending job. Jobs still waiting are left alone.
   * @returns the ids of the dropped jobs
   */
  runExpiry(): readonly number[] {
    const now = this.#clock.now();
    const dropped = [...this.#expiry.runScheduled(now)];
    for (const job of this.#book.jobs.values()) {
      if (this.#expiry.waitStatus(job, now) === 'wait-expired') {
        this.#expiry.expire(job, now);
        dropped.push(job.id);
      }
    }
    return dropped;
  }

  /**
   * Scripts the next `times` answers of `operation` (optionally only for one job); consumed in order, before the
   * model answers. Job-specific scripts go first. Example: `inject('update-job', { status: 503 }, { times: 3 })`
   * answers three updates 503, then the model answers again.
   */
  inject(operation: ServerOperation, answer: InjectedAnswer, options: InjectOptions = {}): void {
    this.#injections.add(operation, answer, options);
  }

  /** Scripts several answers in a row: `injectSequence('update-job', [{ status: 503 }, { fault: 'reset' }])`. */
  injectSequence(
    operation: ServerOperation,
    answers: readonly InjectedAnswer[],
    options: { readonly jobId?: number } = {},
  ): void {
    for (const answer of answers) this.inject(operation, answer, options);
  }

  /** Drops every scripted answer not yet consumed. */
  clearInjections(): void {
    this.#injections.clear();
  }

  // -------------------------------------------------------------------------------------------------------------
  // Inspecting (token-free)

  /** @throws {Error} for an unknown job id */
  jobStatus(id: number): JobStatus {
    this.#tick();
    return this.#book.get('jobStatus', id).status;
  }

  /** @throws {Error} for an unknown job id */
  traceText(id: number): string {
    this.#tick();
    return this.#book.get('traceText', id).trace.toString('utf8');
  }

  /** A snapshot of the job. @throws {Error} for an unknown job id */
  job(id: number): FakeJobView {
    this.#tick();
    const job = this.#book.get('job', id);
    return jobView(job, this.#expiry.waitStatus(job, this.#clock.now()));
  }

  /** Snapshots of every job, by id. */
  jobs(): readonly FakeJobView[] {
    this.#tick();
    const now = this.#clock.now();
    return [...this.#book.jobs.values()]
      .sort((a, b) => a.id - b.id)
      .map((job) => jobView(job, this.#expiry.waitStatus(job, now)));
  }

  /** The ids waiting in the queue, first out first. */
  queuedJobIds(): readonly number[] {
    this.#tick();
    return [...this.#book.queue];
  }

  /** The job's status changes, oldest first. @throws {Error} for an unknown job id */
  history(id: number): readonly FakeStatusChange[] {
    this.#tick();
    return [...this.#book.get('history', id).history];
  }

  /** The payload the job is handed out with, secrets wrapped. @throws {Error} for an unknown job id */
  payload(id: number): JobPayload {
    return decodeJobPayload(this.#book.handoutPayload(this.#book.get('payload', id), this.#clock.now(), this.#profile));
  }

  /** Every request received so far, oldest first; only those of `operation` when given. */
  requests(operation?: ServerOperation): readonly RecordedRequest[] {
    return this.#log.all(operation);
  }

  /** The requests about one job, oldest first. */
  requestsFor(jobId: number): readonly RecordedRequest[] {
    return this.#log.forJob(jobId);
  }

  // -------------------------------------------------------------------------------------------------------------
  // Serving

  /**
   * Answers one HTTP request to the runner API (`/api/v4/…`): routing (404, 405), scripted answers, then the
   * model. The caller applies `delayMs` and faults; the model's effects happen at arrival.
   */
  handle(request: FakeHttpRequest): FakeReply {
    this.#tick();
    return this.#front.handle(request, this.#clock.now());
  }

  /** Runs the expiry worker's due checks: every model call does, on GitLab's schedule (unless `autoExpiry` is off). */
  #tick(): void {
    if (this.#autoExpiry) this.#expiry.tick(this.#clock.now());
  }
}

function isProfile(value: unknown): value is ServerProfile {
  return typeof value === 'string' && (serverProfiles as readonly string[]).includes(value);
}

function positive(name: string, value: number): number {
  if (!Number.isFinite(value) || value <= 0) throw new RangeError(`FakeGitLab: ${name} must be positive, got ${value}`);
  return value;
}

function atLeastZero(name: string, value: number): number {
  if (!Number.isFinite(value) || value < 0) {
    throw new RangeError(`FakeGitLab: ${name} must be zero or more, got ${value}`);
  }
  return value;
}
