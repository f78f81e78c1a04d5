import type { RecordedRequest, ServerOperation } from '@runner-core/core/simulation';

/** Every request the fake received, oldest first, bounded so a long-running simulator stays small. */
export class RequestLog {
  readonly #limit: number;
  readonly #entries: RecordedRequest[] = [];
  #seq = 0;

  constructor(limit: number) {
    this.#limit = limit;
  }

  /** Records one request under the next sequence number (1, 2, 3…). */
  record(entry: Omit<RecordedRequest, 'seq'>): void {
    if (this.#entries.length >= this.#limit) this.#entries.shift();
    this.#seq += 1;
    this.#entries.push({ seq: this.#seq, ...entry });
  }

  all(operation?: ServerOperation): readonly RecordedRequest[] {
    return operation === undefined
      ? [...this.#entries]
      : this.#entries.filter((request) => request.operation === operation);
  }

  forJob(jobId: number): readonly RecordedRequest[] {
    return this.#entries.filter((request) => request.jobId === jobId);
  }
}
