import type { JobCredentials } from '../job/job.types.js';
import type { Network } from '../network/network.port.js';
import type {
  JobAnswerHints,
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
} from '../network/network.types.js';

/** One call a {@link ScriptedNetwork} received. Tokens stay wrapped in `Secret`s. */
export type ScriptedCall =
  | { readonly method: 'verifyRunner'; readonly input: VerifyRunnerInput; readonly at: number }
  | { readonly method: 'requestJob'; readonly input: RequestJobInput; readonly at: number }
  | { readonly method: 'updateJob'; readonly job: JobCredentials; readonly input: UpdateJobInput; readonly at: number }
  | {
      readonly method: 'postRunnerStatus';
      readonly job: JobCredentials;
      readonly input: RunnerStatusInput;
      readonly at: number;
    }
  | {
      readonly method: 'patchTrace';
      readonly job: JobCredentials;
      readonly input: PatchTraceInput;
      readonly at: number;
    };

/** A scripted answer: a result, an error to throw, or a function of the call deciding either. */
export type Scripted<T> = T | Error | ((call: ScriptedCall) => T | Error | Promise<T | Error>);

/** What a job call (keep-alive, confirmation or final update) sends: `state` of a PUT, `status` of a POST. */
export function sentState(call: ScriptedCall): string | undefined {
  if (call.method === 'updateJob') return call.input.state;
  if (call.method === 'postRunnerStatus') return call.input.status;
  return undefined;
}

/**
 * A `Network` stub that answers from per-method queues, then from defaults, and records every call: for unit tests
 * of code above the port, without a fake server. Answers are results as the port defines them (build them with
 * {@link jobAnswer}).
 */
export class ScriptedNetwork implements Network {
  readonly calls: ScriptedCall[] = [];
  readonly #queues: {
    verifyRunner: Scripted<VerifyRunnerResult>[];
    requestJob: Scripted<RequestJobResult>[];
    updateJob: Scripted<UpdateJobResult>[];
    postRunnerStatus: Scripted<RunnerStatusResult>[];
    patchTrace: Scripted<PatchTraceResult>[];
  } = { verifyRunner: [], requestJob: [], updateJob: [], postRunnerStatus: [], patchTrace: [] };
  readonly #now: () => number;

  /** @param now the time recorded with each call (pass the test clock's `now`). */
  constructor(now: () => number = Date.now) {
    this.#now = now;
  }

  /** Queues answers for `updateJob`, consumed in order; afterwards it answers `succeeded`. */
  onUpdateJob(...answers: Scripted<UpdateJobResult>[]): this {
    this.#queues.updateJob.push(...answers);
    return this;
  }

  /** Queues answers for `postRunnerStatus`; afterwards it answers `succeeded`. */
  onRunnerStatus(...answers: Scripted<RunnerStatusResult>[]): this {
    this.#queues.postRunnerStatus.push(...answers);
    return this;
  }

  /** Queues answers for `verifyRunner`; afterwards it answers `verified`. */
  onVerifyRunner(...answers: Scripted<VerifyRunnerResult>[]): this {
    this.#queues.verifyRunner.push(...answers);
    return this;
  }

  /** Queues answers for `requestJob`; afterwards it answers `no-job`. */
  onRequestJob(...answers: Scripted<RequestJobResult>[]): this {
    this.#queues.requestJob.push(...answers);
    return this;
  }

  /** Queues answers for `patchTrace`; afterwards it answers `succeeded` at the patch's end. */
  onPatchTrace(...answers: Scripted<PatchTraceResult>[]): this {
    this.#queues.patchTrace.push(...answers);
    return this;
  }

  /** The calls about job `id` that carried a state (keep-alives, confirmations, final updates), as `method:state`. */
  jobCalls(id?: number): string[] {
    return this.calls
      .filter((call) => call.method === 'updateJob' || call.method === 'postRunnerStatus')
      .filter((call) => id === undefined || ('job' in call && call.job.id === id))
      .map((call) => `${call.method === 'updateJob' ? 'PUT' : 'POST'} ${sentState(call)}`);
  }

  verifyRunner(input: VerifyRunnerInput): Promise<VerifyRunnerResult> {
    return this.#answer(this.#queues.verifyRunner, { method: 'verifyRunner', input, at: this.#now() }, () => ({
      kind: 'verified',
    }));
  }

  requestJob(input: RequestJobInput): Promise<RequestJobResult> {
    return this.#answer(this.#queues.requestJob, { method: 'requestJob', input, at: this.#now() }, () => ({
      kind: 'no-job',
    }));
  }

  updateJob(job: JobCredentials, input: UpdateJobInput): Promise<UpdateJobResult> {
    return this.#answer(this.#queues.updateJob, { method: 'updateJob', job, input, at: this.#now() }, () =>
      jobAnswer('succeeded'),
    );
  }

  postRunnerStatus(job: JobCredentials, input: RunnerStatusInput): Promise<RunnerStatusResult> {
    return this.#answer(
      this.#queues.postRunnerStatus,
      { method: 'postRunnerStatus', job, input, at: this.#now() },
      () => jobAnswer('succeeded'),
    );
  }

  patchTrace(job: JobCredentials, input: PatchTraceInput): Promise<PatchTraceResult> {
    return this.#answer(this.#queues.patchTrace, { method: 'patchTrace', job, input, at: this.#now() }, () => ({
      kind: 'succeeded',
      offset: input.offset + input.content.byteLength,
      cancelRequested: false,
    }));
  }

  /** Counts closes; a scripted network holds nothing. */
  closed = 0;

  async close(): Promise<void> {
    this.closed += 1;
  }

  async #answer<T>(queue: Scripted<T>[], call: ScriptedCall, fallback: () => T): Promise<T> {
    this.calls.push(call);
    const next = queue.shift();
    const answer =
      typeof next === 'function' ? await (next as (call: ScriptedCall) => T | Error | Promise<T | Error>)(call) : next;
    if (answer instanceof Error) throw answer;
    return answer === undefined ? fallback() : answer;
  }
}

type JobAnswerKind = UpdateJobResult['kind'] | 'unsupported';
type ExtraFields<K extends JobAnswerKind> = Omit<
  Extract<RunnerStatusResult, { kind: K }>,
  keyof JobAnswerHints | 'kind'
>;

/**
 * Builds a job answer: `jobAnswer('succeeded')`, `jobAnswer('retryable', { status: 503 }, { wait })`,
 * `jobAnswer('aborted', { reason: 'forbidden' })`, `jobAnswer('succeeded', {}, { jobStatus: 'canceling' })`.
 * `cancelRequested` follows `jobStatus` unless given.
 */
export function jobAnswer<K extends JobAnswerKind>(
  kind: K,
  ...[fields, hints]: keyof ExtraFields<K> extends never
    ? [fields?: Record<string, never>, hints?: Partial<JobAnswerHints>]
    : [fields: ExtraFields<K>, hints?: Partial<JobAnswerHints>]
): Extract<RunnerStatusResult, { kind: K }> {
  const cancelRequested = hints?.cancelRequested ?? hints?.jobStatus === 'canceling';
  return { ...fields, ...hints, cancelRequested, kind } as unknown as Extract<RunnerStatusResult, { kind: K }>;
}
