import type { JournalEntry, OutboxEntry, StateStore, StoredState } from './state-store.port.js';

/**
 * A {@link StateStore} that lives as long as the process: the outbox still retries final states in the background
 * while the runner runs, but a crash loses them. The default when no state directory is configured.
 */
export class InMemoryStateStore implements StateStore {
  readonly #journal = new Map<number, JournalEntry>();
  readonly #outbox = new Map<number, OutboxEntry>();

  async recordJob(entry: JournalEntry): Promise<void> {
    this.#journal.set(entry.job.id, entry);
  }

  async forgetJob(jobId: number): Promise<void> {
    this.#journal.delete(jobId);
  }

  async putFinalState(entry: OutboxEntry): Promise<void> {
    this.#outbox.set(entry.job.id, entry);
  }

  async removeFinalState(jobId: number): Promise<void> {
    this.#outbox.delete(jobId);
    this.#journal.delete(jobId);
  }

  async load(): Promise<StoredState> {
    return { journal: [...this.#journal.values()], outbox: [...this.#outbox.values()] };
  }
}
