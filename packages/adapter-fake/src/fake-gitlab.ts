import { type Clock, type JobPayload, type JobStatus, Secret, systemClock } from '@runner-core/core';
import {
  aWireJob,
  type ContractGitLab,
  type EnqueuedJob,
  type InjectedAnswer,
  type InjectOptions,
  type JobSpec,
  type RecordedAnswer,
  type RecordedRequest,
  type ServerOperation,
  type ServerProfile,
  serverProfiles,
} from '@runner-core/core/testing';
import { decodeJobPayload, type WireJobPayload } from '@runner-core/core/wire';
import type {
  AckWaitStatus,
  FakeGitLabOptions,
  FakeHttpRequest,
  FakeJobEvent,
  FakeJobView,
  FakeReply,
  FakeStatusChange,
} from './fake-gitlab.types.js';
import {
  type Answer,
  bodyBytes,
  bodyText,
  headerOf,
  isRecord,
  jsonAnswer,
  loggableHeaders,
  loggableJson,
  messageAnswer,
  noContent,
  paramError,
  parseJsonBody,
  randomChars,
  splitUrl,
  textAnswer,
} from './fake-http.js';

/** The ack key of a waiting job (Redis `runner:build_ack_queue:<job id>` in GitLab). */
interface AckKey {
  readonly manager: string;
  expiresAt: number;
}

interface JobRecord {
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

interface QueuedInjection {
  readonly answer: InjectedAnswer;
  remaining: number;
}

interface Route {
  readonly operation: ServerOperation | 'unknown';
  readonly jobId?: number;
  /** The answer when the route cannot serve the request (404, 405); the model and injections are skipped. */
  readonly refusal?: Answer;
}

/** The manager id GitLab records when a runner sends no `system_id`. */
const legacyManager = '<legacy>';
/** NOTE: the exact message of `job_forbidden!` for a job that is not executing (gitlab-protocol §5.4, S6). */
const notProcessing = 'Job is not processing on runner';
const executing = new Set<JobStatus>(['running', 'canceling']);

/**
 * One in-memory model of GitLab's runner API (gitlab-protocol §4, §5, §7 and the Rails checks of §8.6), answering
 * at the HTTP level (status, headers, body) so the in-memory network and the HTTP server share it.
 *
 * - Profiles: `legacy` hands jobs out `running`; `two-phase` and `runner-status` hold them `pending` for the ack
 *   window when the runner advertises `two_phase_job_commit`; `runner-status` also serves
 *   `POST /jobs/:id/runner_status` and announces it with `features.job_status: true`.
 * - Expiry: a job whose window lapsed is dropped as `runner_provisioning_timeout` and retried as a new job.
 * - Fault injection ({@link FakeGitLab.inject}) and inspection ({@link FakeGitLab.job},
 *   {@link FakeGitLab.requests}); nothing it reports holds a token in clear text.
 */
export class FakeGitLab implements ContractGitLab {
  readonly #clock: Clock;
  readonly #random: () => number;
  readonly #ackWindowMs: number;
  readonly #expiryRecheckMs: number;
  readonly #maxProvisioningRetries: number;
  readonly #autoExpiry: boolean;
  readonly #traceUpdateIntervalSeconds: number;
  readonly #requestLogLimit: number;
  #requestSeq = 0;
  readonly #runnerTokens = new Set<string>();
  readonly #runnerToken: string;
  readonly #jobs = new Map<number, JobRecord>();
  readonly #queue: number[] = [];
  /** The earliest scheduled expiry check of any job (`Infinity` when none): ticks before it do nothing. */
  #earliestCheckAt = Number.POSITIVE_INFINITY;
  readonly #injections = new Map<string, QueuedInjection[]>();
  readonly #requests: RecordedRequest[] = [];
  #profile: ServerProfile;
  #nextJobId: number;
  #queueVersion = 0;
  #queueValue: string;

  constructor(options: FakeGitLabOptions) {
    if (!isProfile(options.profile)) {
      throw new TypeError(`FakeGitLab: profile must be one of ${serverProfiles.join(', ')}, got ${options.profile}`);
    }
    this.#profile = options.profile;
    this.#clock = options.clock ?? systemClock;
    this.#random = options.random ?? Math.random;
    this.#ackWindowMs = positive('ackWindowMs', options.ackWindowMs ?? 120_000);
    this.#expiryRecheckMs = positive('expiryRecheckMs', options.expiryRecheckMs ?? 30_000);
    this.#maxProvisioningRetries = atLeastZero('maxProvisioningRetries', options.maxProvisioningRetries ?? 2);
    this.#traceUpdateIntervalSeconds = atLeastZero(
      'traceUpdateIntervalSeconds',
      options.traceUpdateIntervalSeconds ?? 60,
    );
    this.#requestLogLimit = positive('requestLogLimit', options.requestLogLimit ?? 10_000);
    this.#nextJobId = positive('firstJobId', options.firstJobId ?? 1);
    this.#autoExpiry = options.autoExpiry ?? true;
    if (options.runnerToken !== undefined && options.runnerToken.trim() === '') {
      throw new TypeError('FakeGitLab: runnerToken must not be empty');
    }
    this.#runnerToken = options.runnerToken ?? `glrt-${randomChars(this.#random, 20)}`;
    this.#runnerTokens.add(this.#runnerToken);
    this.#queueValue = this.#nextQueueValue();
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
   * waiting keep waiting and are still processed (gitlab-protocol §5.3, S8).
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
    return this.#queueValue;
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
    return this.#enqueue(spec, this.#clock.now());
  }

  /**
   * A user cancels the job: `pending` (queued or waiting) becomes `canceled`, `running` becomes `canceling` (GitLab
   * then waits for the runner's final update). Jobs already finished are left alone.
   * @returns the status afterwards
   * @throws {Error} for an unknown job id
   */
  cancelJob(id: number): JobStatus {
    this.#tick();
    const job = this.#job('cancelJob', id);
    const now = this.#clock.now();
    if (job.status === 'pending') {
      this.#dequeue(id);
      job.ack = undefined;
      this.#change(job, now, 'canceled', 'canceled');
      job.finishedAt = now;
    } else if (job.status === 'running') {
      this.#change(job, now, 'cancel-requested', 'canceling');
    }
    return job.status;
  }

  /**
   * Another runner manager took the waiting job (the race of gitlab-protocol §5.4): the job gets that manager while
   * still `pending`, so keep-alives answer 409 and so does a confirmation (NOTE: derived, see §5.7).
   * @throws {Error} when the job is not waiting for a confirmation
   */
  takeByOtherManager(id: number, systemId = 's_0therrunner0'): void {
    this.#tick();
    const job = this.#job('takeByOtherManager', id);
    if (this.#waitStatus(job, this.#clock.now()) !== 'waiting') {
      throw new Error(`FakeGitLab.takeByOtherManager: job ${id} is not waiting for a confirmation`);
    }
    job.runnerManager = systemId;
    this.#change(job, this.#clock.now(), 'taken-by-other-manager', job.status);
  }

  /**
   * Ends the job's ack window now. The job stays `pending` and forbidden to the runner (403) until the expiry
   * worker drops it: on its schedule, or at once through {@link FakeGitLab.runExpiry}.
   * @throws {Error} when the job is not waiting for a confirmation
   */
  lapseAckWindow(id: number): void {
    this.#tick();
    const job = this.#job('lapseAckWindow', id);
    if (job.ack === undefined || this.#waitStatus(job, this.#clock.now()) !== 'waiting') {
      throw new Error(`FakeGitLab.lapseAckWindow: job ${id} is not waiting for a confirmation`);
    }
    job.ack.expiresAt = this.#clock.now();
  }

  /**
   * Runs GitLab's expiry worker now (gitlab-protocol §5.6): the scheduled checks that are due, then every job whose
   * window already lapsed is dropped as `runner_provisioning_timeout` and, within the retry limit, copied into a new
   * pending job. Jobs still waiting are left alone.
   * @returns the ids of the dropped jobs
   */
  runExpiry(): readonly number[] {
    const now = this.#clock.now();
    const dropped = [...this.#runScheduledExpiry(now)];
    for (const job of this.#jobs.values()) {
      if (this.#waitStatus(job, now) === 'wait-expired') {
        this.#expire(job, now);
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
    const times = options.times ?? 1;
    if (!Number.isInteger(times) || times < 1) {
      throw new RangeError(`FakeGitLab.inject: times must be a positive integer, got ${times}`);
    }
    validateInjection(answer);
    const key = injectionKey(operation, operation === 'request-job' ? undefined : options.jobId);
    const queue = this.#injections.get(key) ?? [];
    queue.push({ answer, remaining: times });
    this.#injections.set(key, queue);
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
    return this.#job('jobStatus', id).status;
  }

  /** @throws {Error} for an unknown job id */
  traceText(id: number): string {
    this.#tick();
    return this.#job('traceText', id).trace.toString('utf8');
  }

  /** A snapshot of the job. @throws {Error} for an unknown job id */
  job(id: number): FakeJobView {
    this.#tick();
    return this.#view(this.#job('job', id), this.#clock.now());
  }

  /** Snapshots of every job, by id. */
  jobs(): readonly FakeJobView[] {
    this.#tick();
    const now = this.#clock.now();
    return [...this.#jobs.values()].sort((a, b) => a.id - b.id).map((job) => this.#view(job, now));
  }

  /** The ids waiting in the queue, first out first. */
  queuedJobIds(): readonly number[] {
    this.#tick();
    return [...this.#queue];
  }

  /** The job's status changes, oldest first. @throws {Error} for an unknown job id */
  history(id: number): readonly FakeStatusChange[] {
    this.#tick();
    return [...this.#job('history', id).history];
  }

  /** The payload the job is handed out with, secrets wrapped. @throws {Error} for an unknown job id */
  payload(id: number): JobPayload {
    return decodeJobPayload(this.#handoutPayload(this.#job('payload', id), this.#clock.now()));
  }

  /** Every request received so far, oldest first; only those of `operation` when given. */
  requests(operation?: ServerOperation): readonly RecordedRequest[] {
    return operation === undefined
      ? [...this.#requests]
      : this.#requests.filter((request) => request.operation === operation);
  }

  /** The requests about one job, oldest first. */
  requestsFor(jobId: number): readonly RecordedRequest[] {
    return this.#requests.filter((request) => request.jobId === jobId);
  }

  // -------------------------------------------------------------------------------------------------------------
  // Serving

  /**
   * Answers one HTTP request to the runner API (`/api/v4/…`): routing (404, 405), scripted answers, then the
   * model. The caller applies `delayMs` and faults; the model's effects happen at arrival.
   */
  handle(request: FakeHttpRequest): FakeReply {
    this.#tick();
    const now = this.#clock.now();
    const { path, query } = splitUrl(request.url);
    const route = this.#route(request.method.toUpperCase(), path);
    const requestId = headerOf(request.headers, 'X-Request-Id') ?? randomChars(this.#random, 26);
    const parsed = route.operation === 'patch-trace' ? undefined : parseJsonBody(request.body);
    const body =
      route.operation === 'patch-trace'
        ? bodyText(request.body) || undefined
        : parsed?.invalid === false
          ? loggableJson(parsed.value)
          : undefined;
    const state = isRecord(body)
      ? stringField(body, route.operation === 'post-runner-status' ? 'status' : 'state')
      : undefined;
    const record = (answer: RecordedAnswer): void => {
      if (this.#requests.length >= this.#requestLogLimit) this.#requests.shift();
      this.#requestSeq += 1;
      this.#requests.push({
        seq: this.#requestSeq,
        at: now,
        operation: route.operation,
        method: request.method.toUpperCase(),
        path,
        query,
        ...(route.jobId === undefined ? {} : { jobId: route.jobId }),
        ...(state === undefined ? {} : { state }),
        headers: loggableHeaders(request.headers),
        body,
        answer,
      });
    };
    const reply = (answer: Answer, delayMs: number, injected: boolean): FakeReply => {
      const headers: Record<string, string> = { ...answer.headers, 'X-Request-Id': requestId };
      const jobStatus = headers['Job-Status'];
      record({ kind: 'status', status: answer.status, injected, ...(jobStatus === undefined ? {} : { jobStatus }) });
      return { kind: 'answer', status: answer.status, headers, body: answer.body, delayMs };
    };

    if (route.refusal !== undefined || route.operation === 'unknown') {
      return reply(route.refusal ?? messageAnswer(404), 0, false);
    }
    const operation = route.operation;
    const model = (): Answer => this.#answer(operation, route.jobId, request, query, now);
    const injected = this.#takeInjection(operation, route.jobId);
    if (injected === undefined) return reply(model(), 0, false);
    const delayMs = injected.delayMs ?? 0;
    if ('fault' in injected) {
      if (injected.afterModel === true) model();
      record({ kind: 'fault', fault: injected.fault, injected: true });
      return { kind: 'fault', fault: injected.fault, delayMs };
    }
    if ('status' in injected) return reply(scriptedAnswer(injected), delayMs, true);
    return reply(model(), delayMs, false);
  }

  // -------------------------------------------------------------------------------------------------------------
  // Routing and the model

  #route(method: string, path: string): Route {
    const allow = (expected: string, operation: ServerOperation, jobId?: number): Route => {
      const base = jobId === undefined ? { operation } : { operation, jobId };
      return method === expected
        ? base
        : { ...base, operation: 'unknown', refusal: messageAnswer(405, undefined, { Allow: expected }) };
    };
    if (path === '/api/v4/jobs/request') return allow('POST', 'request-job');
    const match = /^\/api\/v4\/jobs\/(\d+)(\/runner_status|\/trace)?$/.exec(path);
    if (match === null) return { operation: 'unknown' };
    const jobId = Number(match[1]);
    switch (match[2]) {
      case undefined:
        return allow('PUT', 'update-job', jobId);
      case '/trace':
        return allow('PATCH', 'patch-trace', jobId);
      default:
        // NOTE: only the proposed runner-status server has this route; elsewhere Rails knows no such path.
        if (this.#profile !== 'runner-status')
          return { operation: 'post-runner-status', jobId, refusal: messageAnswer(404) };
        return allow('POST', 'post-runner-status', jobId);
    }
  }

  #answer(
    operation: ServerOperation,
    jobId: number | undefined,
    request: FakeHttpRequest,
    query: Readonly<Record<string, string>>,
    now: number,
  ): Answer {
    switch (operation) {
      case 'request-job':
        return this.#requestJob(request, now);
      case 'update-job':
        return this.#updateJob(jobId ?? 0, request, now, 'state');
      case 'post-runner-status':
        return this.#updateJob(jobId ?? 0, request, now, 'status');
      case 'patch-trace':
        return this.#patchTrace(jobId ?? 0, request, query, now);
      default: {
        const unreachable: never = operation;
        throw new Error(`FakeGitLab: no handler for ${String(unreachable)}`);
      }
    }
  }

  /** `POST /api/v4/jobs/request` (gitlab-protocol §2.4, §5.2). */
  #requestJob(request: FakeHttpRequest, now: number): Answer {
    const parsed = parseJsonBody(request.body);
    if (parsed.invalid || !isRecord(parsed.value)) return paramError('body must be a JSON object');
    const body = parsed.value;
    const token = stringField(body, 'token');
    if (token === undefined) return paramError('token is missing');
    // NOTE: Rails authenticates from the body; like gitlab-runner's own mock handler, the fake also insists that the
    // RUNNER-TOKEN header says the same, so a client that forgets either is caught.
    if (!this.#runnerTokens.has(token) || headerOf(request.headers, 'RUNNER-TOKEN') !== token) {
      return messageAnswer(403);
    }
    const lastUpdate = { 'X-GitLab-Last-Update': this.#queueValue };
    if (stringField(body, 'last_update') === this.#queueValue) return noContent(lastUpdate);
    const id = this.#queue.shift();
    if (id === undefined) return noContent(lastUpdate);
    const job = this.#job('requestJob', id);
    this.#queueChanged();

    const manager = stringField(body, 'system_id') ?? legacyManager;
    job.runnerToken = token;
    job.assignedAt = now;
    if (this.#profile !== 'legacy' && advertisesTwoPhase(body)) {
      job.ack = { manager, expiresAt: now + this.#ackWindowMs };
      job.expiryCheckAt = now + this.#ackWindowMs;
      this.#earliestCheckAt = Math.min(this.#earliestCheckAt, job.expiryCheckAt);
      this.#change(job, now, 'assigned', 'pending');
    } else {
      job.runnerManager = manager;
      job.startedAt = now;
      this.#change(job, now, 'assigned', 'running');
    }
    return jsonAnswer(201, this.#handoutPayload(job, now));
  }

  /**
   * `PUT /api/v4/jobs/:id` (`field` `state`) and `POST /api/v4/jobs/:id/runner_status` (`field` `status`):
   * gitlab-protocol §4.2 (legacy rules), §5.4 (a waiting job).
   */
  #updateJob(id: number, request: FakeHttpRequest, now: number, field: 'state' | 'status'): Answer {
    const parsed = parseJsonBody(request.body);
    if (parsed.invalid || (parsed.value !== undefined && !isRecord(parsed.value))) {
      return paramError('body must be a JSON object');
    }
    const body = isRecord(parsed.value) ? parsed.value : {};
    const job = this.#authenticate(id, stringField(body, 'token') ?? headerOf(request.headers, 'JOB-TOKEN'));
    if (job === undefined) return messageAnswer(403);
    const state = stringField(body, field);
    const answer = (status: number): Answer => textAnswer(status, { 'Job-Status': job.status });

    if (job.status === 'pending') {
      if (this.#waitStatus(job, now) !== 'waiting' || job.ack === undefined) {
        return messageAnswer(403, notProcessing, { 'Job-Status': job.status });
      }
      return answer(this.#acknowledge(job, job.ack, state, now));
    }
    if (!executing.has(job.status)) return messageAnswer(403, notProcessing, { 'Job-Status': job.status });
    if (field === 'status') return answer(state === 'running' ? this.#touch(job, now) : 400);
    return answer(this.#legacyUpdate(job, body, state, now));
  }

  /** The two-phase handshake of a waiting job (`handle_runner_ack_workflow`, gitlab-protocol §5.4). */
  #acknowledge(job: JobRecord, ack: AckKey, state: string | undefined, now: number): number {
    const takenByOther = job.runnerManager !== undefined && job.runnerManager !== ack.manager;
    switch (state) {
      case 'pending':
        if (job.runnerManager !== undefined) return 409;
        ack.expiresAt = now + this.#ackWindowMs;
        job.updatedAt = now;
        return 200;
      case 'running':
        if (takenByOther) return 409;
        job.ack = undefined;
        job.runnerManager = ack.manager;
        job.startedAt = now;
        this.#change(job, now, 'confirmed', 'running');
        return 200;
      default:
        // NOTE: success, failed (GitLab has no decline), an empty or a missing state: 400, TTL unchanged.
        return 400;
    }
  }

  /** `Ci::UpdateBuildStateService` for a running or canceling job (gitlab-protocol §4.2). */
  #legacyUpdate(job: JobRecord, body: Record<string, unknown>, state: string | undefined, now: number): number {
    switch (state) {
      case 'running':
        return this.#touch(job, now);
      case 'success':
        this.#finish(job, now, job.status === 'canceling' ? 'canceled' : 'success');
        return 200;
      case 'failed': {
        const reason = stringField(body, 'failure_reason') ?? 'unknown_failure';
        if (job.status === 'canceling') {
          // NOTE: a canceling job ends `canceled` whatever the runner reports (Rails' `drop`/`success` events).
          this.#finish(job, now, 'canceled', reason);
          return 200;
        }
        if (!this.#acceptedReasons(job).includes(reason)) return 400;
        const exitCode = body.exit_code;
        if (typeof exitCode === 'number' && Number.isInteger(exitCode)) job.exitCode = exitCode;
        job.failureReason = reason;
        this.#finish(job, now, 'failed', reason);
        return 200;
      }
      default:
        return 400;
    }
  }

  #touch(job: JobRecord, now: number): number {
    job.updatedAt = now;
    return 200;
  }

  /** `PATCH /api/v4/jobs/:id/trace` (gitlab-protocol §7). */
  #patchTrace(id: number, request: FakeHttpRequest, query: Readonly<Record<string, string>>, now: number): Answer {
    const job = this.#authenticate(id, headerOf(request.headers, 'JOB-TOKEN') ?? query.token);
    if (job === undefined) return messageAnswer(403);
    const jobStatus = { 'Job-Status': job.status };
    if (!executing.has(job.status)) return messageAnswer(403, notProcessing, jobStatus);
    const contentRange = headerOf(request.headers, 'Content-Range');
    if (contentRange === undefined) return paramError('Content-Range is missing');
    const match = /^(\d+)-(\d+)$/.exec(contentRange.trim());
    if (match === null) return paramError('Content-Range must be <start>-<end>');
    const range = (): Record<string, string> => ({ Range: `0-${job.trace.byteLength}` });
    // NOTE: only the start counts; a patch that does not continue the trace gets 416 and the current size.
    if (Number(match[1]) !== job.trace.byteLength) return textAnswer(416, { ...jobStatus, ...range() });
    job.trace = Buffer.concat([job.trace, bodyBytes(request.body)]);
    job.updatedAt = now;
    if (query.debug_trace === 'true') job.debugTrace = true;
    return textAnswer(202, {
      ...jobStatus,
      ...range(),
      'X-GitLab-Trace-Update-Interval': String(this.#traceUpdateIntervalSeconds),
    });
  }

  #authenticate(id: number, token: string | undefined): JobRecord | undefined {
    const job = this.#jobs.get(id);
    return job !== undefined && token !== undefined && job.token.equals(token) ? job : undefined;
  }

  // -------------------------------------------------------------------------------------------------------------
  // Expiry

  #tick(): void {
    // NOTE: every model call ticks, so skip the scan over all jobs unless a check is due.
    if (!this.#autoExpiry) return;
    const now = this.#clock.now();
    if (now >= this.#earliestCheckAt) this.#runScheduledExpiry(now);
  }

  /**
   * `Ci::RetryStuckWaitingJobWorker` on its schedule, up to `now`: each due check drops an expired job, re-checks a
   * waiting one `expiryRecheckMs` later, and ends for a job no longer waiting (S9, S10).
   */
  #runScheduledExpiry(now: number): number[] {
    const dropped: number[] = [];
    for (;;) {
      const due = this.#nextDueCheck(now);
      if (due === undefined) {
        this.#earliestCheckAt = Number.POSITIVE_INFINITY;
        for (const job of this.#jobs.values()) {
          if (job.expiryCheckAt !== undefined && job.expiryCheckAt < this.#earliestCheckAt) {
            this.#earliestCheckAt = job.expiryCheckAt;
          }
        }
        return dropped;
      }
      const at = due.expiryCheckAt ?? now;
      switch (this.#waitStatus(due, at)) {
        case 'waiting':
          due.expiryCheckAt = at + this.#expiryRecheckMs;
          break;
        case 'wait-expired':
          this.#expire(due, at);
          dropped.push(due.id);
          break;
        case 'not-waiting':
          due.expiryCheckAt = undefined;
          break;
      }
    }
  }

  #nextDueCheck(now: number): JobRecord | undefined {
    let next: JobRecord | undefined;
    for (const job of this.#jobs.values()) {
      const at = job.expiryCheckAt;
      if (at === undefined || at > now) continue;
      if (next === undefined || at < (next.expiryCheckAt ?? at)) next = job;
    }
    return next;
  }

  /** Drops a job whose window lapsed and queues its retry copy (gitlab-protocol §5.6). */
  #expire(job: JobRecord, at: number): void {
    job.ack = undefined;
    job.expiryCheckAt = undefined;
    job.failureReason = 'runner_provisioning_timeout';
    this.#finish(job, at, 'failed', 'runner_provisioning_timeout', 'expired');
    if (job.retryDepth < this.#maxProvisioningRetries) {
      const copy = this.#enqueue(job.spec, at, job);
      job.retriedAs = copy.id;
    }
  }

  #waitStatus(job: JobRecord, at: number): AckWaitStatus {
    if (job.status !== 'pending' || job.runnerToken === undefined) return 'not-waiting';
    return job.ack !== undefined && job.ack.expiresAt > at ? 'waiting' : 'wait-expired';
  }

  // -------------------------------------------------------------------------------------------------------------
  // Bookkeeping

  #enqueue(spec: JobSpec, at: number, retryOf?: JobRecord): EnqueuedJob {
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
    this.#jobs.set(id, record);
    this.#queue.push(id);
    this.#queueChanged();
    return { id, token: record.token };
  }

  #dequeue(id: number): void {
    const index = this.#queue.indexOf(id);
    if (index >= 0) {
      this.#queue.splice(index, 1);
      this.#queueChanged();
    }
  }

  #queueChanged(): void {
    this.#queueValue = this.#nextQueueValue();
  }

  #nextQueueValue(): string {
    this.#queueVersion += 1;
    return `${this.#queueVersion.toString(16).padStart(4, '0')}${randomChars(this.#random, 12)}`;
  }

  #change(job: JobRecord, at: number, event: FakeJobEvent, status: JobStatus, failureReason?: string): void {
    job.status = status;
    job.updatedAt = at;
    job.history.push({ at, event, status, ...(failureReason === undefined ? {} : { failureReason }) });
  }

  #finish(
    job: JobRecord,
    at: number,
    status: JobStatus,
    failureReason?: string,
    event: FakeJobEvent = 'updated',
  ): void {
    job.finishedAt = at;
    this.#change(job, at, event, status, failureReason);
  }

  #acceptedReasons(job: JobRecord): readonly unknown[] {
    const features = job.wire.features;
    const reasons = isRecord(features) ? features.failure_reasons : undefined;
    return Array.isArray(reasons) ? reasons : [];
  }

  #handoutPayload(job: JobRecord, now: number): WireJobPayload {
    const features = isRecord(job.wire.features) ? job.wire.features : {};
    const jobInfo = isRecord(job.wire.job_info) ? job.wire.job_info : {};
    return {
      ...job.wire,
      job_info: {
        ...jobInfo,
        time_in_queue_seconds: Math.max(0, (job.assignedAt ?? now) - job.enqueuedAt) / 1000,
        queue_size: this.#queue.length,
        queue_depth: this.#queue.length,
      },
      features: this.#profile === 'runner-status' ? { ...features, job_status: true } : features,
    };
  }

  #job(caller: string, id: number): JobRecord {
    const job = this.#jobs.get(id);
    if (job === undefined) throw new Error(`FakeGitLab.${caller}: no job with id ${id}`);
    return job;
  }

  #takeInjection(operation: ServerOperation, jobId: number | undefined): InjectedAnswer | undefined {
    const keys =
      jobId === undefined ? [injectionKey(operation)] : [injectionKey(operation, jobId), injectionKey(operation)];
    for (const key of keys) {
      const queue = this.#injections.get(key);
      const head = queue?.[0];
      if (queue === undefined || head === undefined) continue;
      head.remaining -= 1;
      if (head.remaining <= 0) queue.shift();
      return head.answer;
    }
    return undefined;
  }

  #view(job: JobRecord, now: number): FakeJobView {
    const waitStatus = this.#waitStatus(job, now);
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

function stringField(body: Record<string, unknown>, key: string): string | undefined {
  const value = body[key];
  if (value instanceof Secret) return value.reveal();
  return typeof value === 'string' && value !== '' ? value : undefined;
}

function advertisesTwoPhase(body: Record<string, unknown>): boolean {
  const info = body.info;
  return isRecord(info) && isRecord(info.features) && info.features.two_phase_job_commit === true;
}

function injectionKey(operation: ServerOperation, jobId?: number): string {
  return jobId === undefined ? operation : `${operation}#${jobId}`;
}

function validateInjection(answer: InjectedAnswer): void {
  if (answer.delayMs !== undefined && (!Number.isFinite(answer.delayMs) || answer.delayMs < 0)) {
    throw new RangeError(`FakeGitLab.inject: delayMs must be zero or more, got ${answer.delayMs}`);
  }
  if ('status' in answer && (!Number.isInteger(answer.status) || answer.status < 100 || answer.status > 599)) {
    throw new RangeError(`FakeGitLab.inject: status must be an HTTP status (100-599), got ${answer.status}`);
  }
  if ('fault' in answer && !['reset', 'refused', 'timeout'].includes(answer.fault)) {
    throw new TypeError(`FakeGitLab.inject: fault must be reset, refused or timeout, got ${String(answer.fault)}`);
  }
}

/** Checks a spec's shape (it may arrive as JSON over the sim's control endpoint). */
function validateSpec(spec: unknown): asserts spec is JobSpec {
  const fail = (field: string, expected: string): never => {
    throw new TypeError(`FakeGitLab.enqueueJob: ${field} must be ${expected}`);
  };
  if (!isRecord(spec)) return fail('the job spec', 'an object');
  for (const field of ['name', 'stage'] as const) {
    if (spec[field] !== undefined && typeof spec[field] !== 'string') fail(field, 'a string');
  }
  const { script, variables, features, timeoutSeconds, payload } = spec;
  if (script !== undefined && !(Array.isArray(script) && script.every((line) => typeof line === 'string'))) {
    fail('script', 'a list of strings');
  }
  if (variables !== undefined) {
    if (!Array.isArray(variables)) fail('variables', 'a list');
    (variables as unknown[]).forEach((variable, index) => {
      if (!isRecord(variable) || typeof variable.key !== 'string' || typeof variable.value !== 'string') {
        fail(`variables[${index}]`, 'an object with string key and value');
      }
    });
  }
  if (features !== undefined && !isRecord(features)) fail('features', 'an object');
  if (payload !== undefined && !isRecord(payload)) fail('payload', 'an object');
  if (timeoutSeconds !== undefined && !(Number.isInteger(timeoutSeconds) && (timeoutSeconds as number) > 0)) {
    fail('timeoutSeconds', 'a positive integer');
  }
}

function scriptedAnswer(injected: {
  readonly status: number;
  readonly headers?: Readonly<Record<string, string>>;
  readonly body?: unknown;
}): Answer {
  const { status, headers = {}, body } = injected;
  const hasContentType = Object.keys(headers).some((name) => name.toLowerCase() === 'content-type');
  if (body === undefined) return { status, headers, body: '' };
  if (typeof body === 'string') {
    return { status, headers: hasContentType ? headers : { 'Content-Type': 'text/plain', ...headers }, body };
  }
  return {
    status,
    headers: hasContentType ? headers : { 'Content-Type': 'application/json', ...headers },
    body: JSON.stringify(body),
  };
}
