/** The string codes of executor faults, for callers that switch on `code`. */
export type ExecutorErrorCode =
  /** The job's build folder or files could not be made. */
  | 'executor.prepare'
  /** The job's process could not be started. */
  | 'executor.start';

/**
 * A fault of an executor itself (not of the job's script), reported as `runner_system_failure`. Its message says in
 * words what went wrong and what to do; the job session writes it to the trace (masked) and to the log. It never
 * holds a variable's value, only names.
 */
export class ExecutorError extends Error {
  override readonly name = 'ExecutorError';
  constructor(
    readonly code: ExecutorErrorCode,
    message: string,
    options?: { readonly cause?: unknown },
  ) {
    super(message, options);
  }
}
