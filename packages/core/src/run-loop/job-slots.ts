/** Gives a taken slot back; calling it twice gives back one slot. */
export type ReleaseSlot = () => void;

/**
 * A limit on the jobs several {@link RunLoop}s handle together (gitlab-runner's `concurrent`, over all its
 * `[[runners]]`): a loop takes a slot before it asks GitLab for a job, so no job is ever requested that could not
 * start, and gives it back when the job ends (or no job came). Waiters are served in the order they came.
 */
export class JobSlots {
  readonly #capacity: number;
  #inUse = 0;
  readonly #waiters: Array<() => void> = [];

  constructor(capacity: number) {
    if (!Number.isSafeInteger(capacity) || capacity < 1) {
      throw new RangeError(`JobSlots capacity: expected a positive integer, got ${capacity}`);
    }
    this.#capacity = capacity;
  }

  get capacity(): number {
    return this.#capacity;
  }

  /** Slots taken right now. */
  get inUse(): number {
    return this.#inUse;
  }

  /** Resolves with the slot's release once one is free, or with `undefined` when `signal` aborts first. */
  acquire(signal?: AbortSignal): Promise<ReleaseSlot | undefined> {
    if (signal?.aborted === true) return Promise.resolve(undefined);
    if (this.#inUse < this.#capacity && this.#waiters.length === 0) return Promise.resolve(this.#take());
    return new Promise((resolve) => {
      const onAbort = (): void => {
        const index = this.#waiters.indexOf(grant);
        if (index !== -1) this.#waiters.splice(index, 1);
        resolve(undefined);
      };
      const grant = (): void => {
        signal?.removeEventListener('abort', onAbort);
        resolve(this.#take());
      };
      this.#waiters.push(grant);
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  }

  #take(): ReleaseSlot {
    this.#inUse += 1;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.#inUse -= 1;
      if (this.#inUse < this.#capacity) this.#waiters.shift()?.();
    };
  }
}
