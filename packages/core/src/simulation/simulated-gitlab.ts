import type { JobStatus } from '../network/network.types.js';
import type { Secret } from '../secret/secret.js';
import type { RunnerApiOperation } from '../wire/wire-message.js';
import type { JobSpec } from './wire-job.js';

/**
 * The kinds of GitLab a fake can play (docs/design.md §1):
 * - `legacy`: hands jobs out `running` (before 18.5, or the flag off); `PUT state=pending` answers 400;
 * - `two-phase`: 18.5 with `allow_runner_job_acknowledgement` on: a runner advertising `two_phase_job_commit`
 *   gets the job `pending` for the ack window (docs/gitlab-protocol.md §5);
 * - `runner-status`: `two-phase` plus the proposed `POST /jobs/:id/runner_status` endpoint, announced with
 *   `features.job_status: true` in the job payload.
 */
export type ServerProfile = 'legacy' | 'two-phase' | 'runner-status';

/** Every server profile, in the order the contract suite runs them. */
export const serverProfiles: readonly ServerProfile[] = Object.freeze(['legacy', 'two-phase', 'runner-status']);

/**
 * The runner API operations a fake GitLab answers, as named in fault injection and in the request log: the same
 * names as the wire codec's (after the `Network` methods that make the calls).
 */
export type ServerOperation = RunnerApiOperation;

/**
 * A transport fault a fake can produce instead of an answer:
 * - `reset`: the connection drops after the request went out (a client sees `TransportError` with `sent: true`);
 * - `refused`: the request never reaches the server (`sent: false`);
 * - `timeout`: no answer ever comes (`sent: true`).
 */
export type TransportFault = 'reset' | 'refused' | 'timeout';

/**
 * One scripted answer, consumed in order before the fake's model answers:
 * - `{ status, headers?, body? }`: this answer instead of the model's (the model does not see the request);
 *   `body` is sent as given (a string) or as JSON (anything else);
 * - `{ fault }`: a transport fault instead of an answer; with `afterModel: true` the model handles the request
 *   first and only the answer is lost (a job request whose job was assigned but never received);
 * - `{ delayMs }` alone: the model's own answer, late.
 *
 * `delayMs` (milliseconds, by the fake's clock in memory and by real time over HTTP) delays any of them.
 */
export type InjectedAnswer =
  | {
      readonly status: number;
      readonly headers?: Readonly<Record<string, string>>;
      readonly body?: unknown;
      readonly delayMs?: number;
    }
  | { readonly fault: TransportFault; readonly afterModel?: boolean; readonly delayMs?: number }
  | { readonly delayMs: number };

/** Where an {@link InjectedAnswer} applies. */
export interface InjectOptions {
  /** Only requests about this job (for `request-job`: ignored). @default every request of the operation */
  readonly jobId?: number;
  /** How many consecutive requests get this answer. @default 1 */
  readonly times?: number;
}

/** What a fake answered to one request. */
export type RecordedAnswer =
  | {
      readonly kind: 'status';
      readonly status: number;
      /** The `Job-Status` header of the answer, when there was one. */
      readonly jobStatus?: string;
      /** Whether the answer came from fault injection rather than the model. */
      readonly injected: boolean;
    }
  | { readonly kind: 'fault'; readonly fault: TransportFault; readonly injected: true };

/**
 * One request as a fake GitLab received it. Safe to print: token headers and body tokens are {@link Secret}s.
 */
export interface RecordedRequest {
  /** 1, 2, 3… in arrival order. */
  readonly seq: number;
  /** Epoch ms by the fake's clock. */
  readonly at: number;
  /** `unknown` for a path that is no runner API route. */
  readonly operation: ServerOperation | 'unknown';
  readonly method: string;
  /** The path without the query, e.g. `/api/v4/jobs/12`. */
  readonly path: string;
  readonly query: Readonly<Record<string, string>>;
  readonly jobId?: number;
  /** The `state` (PUT) or `status` (runner_status) the runner sent. */
  readonly state?: string;
  /** Header names in lower case; `runner-token`, `job-token` and `authorization` values as {@link Secret}s. */
  readonly headers: Readonly<Record<string, string | Secret>>;
  /**
   * The decoded body: JSON with `token` as a {@link Secret}; a trace patch as text; `undefined` when empty or
   * undecodable.
   */
  readonly body: unknown;
  readonly answer: RecordedAnswer;
}

/** A job placed in a fake's queue: its id and job token. */
export interface EnqueuedJob {
  readonly id: number;
  readonly token: Secret;
}

/**
 * The arranging and inspecting side of a fake GitLab, in runner language: what the {@link networkContract} suite
 * needs to set a scene and check what reached the server. `FakeGitLab` (`@runner-core/adapter-fake`) implements it.
 */
export interface SimulatedGitLab {
  /** The token of the runner this GitLab knows (`glrt-…`). */
  readonly runnerToken: string;
  /** Adds a pending job to the queue. */
  enqueueJob(spec?: JobSpec): EnqueuedJob;
  /**
   * A user cancels the job: a pending (or waiting) job becomes `canceled`, a running one `canceling`.
   * @returns the job's status afterwards
   * @throws {Error} for an unknown job id
   */
  cancelJob(id: number): JobStatus;
  /**
   * Another runner manager takes the waiting job (the race of docs/gitlab-protocol.md §5.4): keep-alives now answer 409.
   * @throws {Error} when the job is not waiting for a confirmation
   */
  takeByOtherManager(id: number, systemId?: string): void;
  /**
   * Ends the job's ack window now, as if the runner had stayed silent for the whole window. The job stays
   * `pending` (and forbidden to the runner) until {@link SimulatedGitLab.runExpiry} drops it.
   * @throws {Error} when the job is not waiting for a confirmation
   */
  lapseAckWindow(id: number): void;
  /**
   * Runs GitLab's expiry worker now: jobs whose window lapsed fail as `runner_provisioning_timeout` and get a
   * pending retry copy. @returns the ids of the jobs it dropped
   */
  runExpiry(): readonly number[];
  /** Scripts the next answers of an operation (see {@link InjectedAnswer}). */
  inject(operation: ServerOperation, answer: InjectedAnswer, options?: InjectOptions): void;
  /** Drops every scripted answer not yet consumed. */
  clearInjections(): void;
  /** Scripts several answers in a row (each once), e.g. 503, then 429, then the model. */
  injectSequence(
    operation: ServerOperation,
    answers: readonly InjectedAnswer[],
    options?: { readonly jobId?: number },
  ): void;
  /** @throws {Error} for an unknown job id */
  jobStatus(id: number): JobStatus;
  /** The job's trace as text. @throws {Error} for an unknown job id */
  traceText(id: number): string;
  /** Every request received so far, oldest first; only those of `operation` when given. */
  requests(operation?: ServerOperation): readonly RecordedRequest[];
  /** The requests about one job, oldest first. */
  requestsFor(jobId: number): readonly RecordedRequest[];
  /** What GitLab holds of the job: its status, and how it ended. @throws {Error} for an unknown job id */
  job(id: number): SimulatedJobView;
}

/** A job as a fake GitLab holds it, as far as the contract suites read it. */
export interface SimulatedJobView {
  readonly status: JobStatus;
  readonly failureReason?: string;
  readonly exitCode?: number;
  /** The runner manager (`system_id`) holding the job. */
  readonly runnerManager?: string;
  /** The trace received so far, as text. */
  readonly trace: string;
  /** The job's status changes, oldest first. */
  readonly history: readonly { readonly event: string; readonly status: JobStatus }[];
}
