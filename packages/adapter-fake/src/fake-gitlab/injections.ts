import type { InjectedAnswer, InjectOptions, ServerOperation } from '@runner-core/core/simulation';
import type { Answer } from './http-answers.js';

interface QueuedInjection {
  readonly answer: InjectedAnswer;
  remaining: number;
}

/**
 * Scripted answers (fault injection), consumed in order before the model answers; job-specific scripts go before the
 * operation's general ones.
 */
export class Injections {
  readonly #queues = new Map<string, QueuedInjection[]>();

  /** @throws {RangeError} / {TypeError} naming the field of a malformed script */
  add(operation: ServerOperation, answer: InjectedAnswer, options: InjectOptions = {}): void {
    const times = options.times ?? 1;
    if (!Number.isInteger(times) || times < 1) {
      throw new RangeError(`FakeGitLab.inject: times must be a positive integer, got ${times}`);
    }
    validateInjection(answer);
    const key = injectionKey(operation, operation === 'request-job' ? undefined : options.jobId);
    const queue = this.#queues.get(key) ?? [];
    queue.push({ answer, remaining: times });
    this.#queues.set(key, queue);
  }

  clear(): void {
    this.#queues.clear();
  }

  /** The next scripted answer of `operation` (for `jobId` first), consumed. */
  take(operation: ServerOperation, jobId: number | undefined): InjectedAnswer | undefined {
    const keys =
      jobId === undefined ? [injectionKey(operation)] : [injectionKey(operation, jobId), injectionKey(operation)];
    for (const key of keys) {
      const queue = this.#queues.get(key);
      const head = queue?.[0];
      if (queue === undefined || head === undefined) continue;
      head.remaining -= 1;
      if (head.remaining <= 0) queue.shift();
      return head.answer;
    }
    return undefined;
  }
}

/** The HTTP answer of a scripted status: a string body as text, anything else as JSON. */
export function scriptedAnswer(injected: {
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
