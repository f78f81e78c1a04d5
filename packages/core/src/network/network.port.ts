import type {
  JobCredentials,
  PatchTraceInput,
  PatchTraceResult,
  RequestJobInput,
  RequestJobResult,
  RunnerStatusInput,
  RunnerStatusResult,
  UpdateJobInput,
  UpdateJobResult,
  VerifyRunnerInput,
  VerifyRunnerResult,
} from './network.types.js';

/**
 * GitLab's runner API, in runner language. One adapter instance talks to one GitLab.
 *
 * Contract shared by every method:
 * - One call is one request: adapters do not retry. Retries, waits and deadlines belong to the caller
 *   (`JobConfirmation`, the run loop), which knows what each call may cost.
 * - Every answer GitLab can legitimately give is a result value. Thrown errors are {@link NetworkError}s:
 *   `TransportError` (no answer), `MalformedResponseError`, `UnexpectedStatusError`, `ClientConfigError`.
 * - Every call carries `info.features.two_phase_job_commit: true` where GitLab reads `info`.
 * - No token appears in a thrown error or a log line.
 * - Every answer body is bounded: a larger one throws a `ResponseTooLargeError` naming the bound.
 *
 * Adapters are thin transports over the shared codec of `@runner-core/core/wire` (`RunnerApiClient`), so they send
 * the same bytes and read answers the same way; the contract suite of `@runner-core/core/testing` pins it.
 */
export interface Network {
  /**
   * `POST /api/v4/runners/verify`: whether GitLab knows the runner token (gitlab-runner's `verify`). Idempotent.
   *
   * @returns `verified` | `forbidden` | `unavailable` | `rate-limited` | `failed`
   * @throws {TransportError} no answer
   */
  verifyRunner(input: VerifyRunnerInput): Promise<VerifyRunnerResult>;

  /**
   * `POST /api/v4/jobs/request`. Sends the last `X-GitLab-Last-Update` this adapter saw for the runner token
   * as `last_update`, and records the new one from any answer that carries it.
   *
   * NOT idempotent: the server may assign a job whose answer is lost. Retry only after a `TransportError` with
   * `sent: false`, or after `unavailable` / `rate-limited` with their waits.
   *
   * @returns `job` | `no-job` | `forbidden` | `unavailable` | `rate-limited` | `failed`
   * @throws {TransportError} no answer (aborted through `input.signal` included)
   * @throws {MalformedResponseError} a 201 that is not JSON or fails the payload schema (`job` set when the id and
   *   token could be read)
   */
  requestJob(input: RequestJobInput): Promise<RequestJobResult>;

  /**
   * `PUT /api/v4/jobs/:id`: keep-alive (`pending`), confirmation or touch (`running`), final state (`success`,
   * `failed`). Idempotent for `pending` and `running` (a repeated `running` answers 200).
   *
   * @returns every kind of {@link UpdateJobResult}
   * @throws {TransportError} no answer
   */
  updateJob(job: JobCredentials, input: UpdateJobInput): Promise<UpdateJobResult>;

  /**
   * `POST /api/v4/jobs/:id/runner_status` (the proposed confirmation endpoint): keep-alive (`pending`) or
   * confirmation (`running`). Idempotent. Answers `unsupported` when the server lacks the endpoint.
   *
   * @returns every kind of {@link RunnerStatusResult}
   * @throws {TransportError} no answer
   */
  postRunnerStatus(job: JobCredentials, input: RunnerStatusInput): Promise<RunnerStatusResult>;

  /**
   * `PATCH /api/v4/jobs/:id/trace`: appends `content` at `offset`. An empty patch sends nothing and answers
   * `succeeded` at the same offset. Safe to repeat at the same offset (a mismatch answers `range-mismatch`).
   *
   * @returns every kind of {@link PatchTraceResult}
   * @throws {TransportError} no answer
   */
  patchTrace(job: JobCredentials, input: PatchTraceInput): Promise<PatchTraceResult>;

  /**
   * Frees what the adapter holds (kept-alive connections), so the process can exit. Calls made afterwards may open
   * new ones. Whoever built the adapter closes it.
   */
  close(): Promise<void>;
}

/** The injection token of {@link Network}. */
export const NETWORK: unique symbol = Symbol('Network');
