import type { JobCredentials } from '../job/job.types.js';
import type { ConfirmationMode } from '../job-confirmation/confirmation.types.js';

/**
 * A job in flight, as the journal holds it: enough to hand it back after a crash. `pending` — received, not yet
 * confirmed (in mode `two-phase` GitLab lets it lapse; otherwise it may run server-side); `running` — confirmed (or
 * skipped) and handed to the executor.
 */
export interface JournalEntry {
  readonly job: JobCredentials;
  /**
   * `pending` while held, `confirming` once the confirmation may have gone out (GitLab may run the job), `running`
   * once confirmed.
   */
  readonly phase: 'pending' | 'confirming' | 'running';
  readonly mode: ConfirmationMode;
  /** Epoch ms of the hand-out. */
  readonly receivedAt: number;
}

/**
 * A final state not yet taken by GitLab, with the part of the trace GitLab did not have when it was written: the
 * outbox entry that makes a result survive an outage or a crash.
 */
export interface OutboxEntry {
  readonly job: JobCredentials;
  readonly state: 'success' | 'failed';
  readonly failureReason?: string;
  readonly exitCode?: number;
  readonly trace: {
    /**
     * Where `tail` starts in the job's trace: the bytes GitLab had acknowledged. `undefined` when unknown (a crash
     * report): `tail` is then appended after whatever GitLab holds.
     */
    readonly offset?: number;
    /** The bytes from `offset` on. */
    readonly tail: Uint8Array;
    /** Of the whole trace, as the final update sends them; absent when unknown (a crash report). */
    readonly checksum?: string;
    readonly bytesize?: number;
  };
  /** Epoch ms when the job ended. */
  readonly finishedAt: number;
}

/** What a store holds for this runner at start-up. */
export interface StoredState {
  readonly journal: readonly JournalEntry[];
  readonly outbox: readonly OutboxEntry[];
}

/**
 * Durable state of one runner at one GitLab (docs/design.md §2b, "Durable state"): a journal of jobs in flight and an
 * outbox of final states. A file store writes each entry atomically (fsync + rename, 0600) so a runner killed at any
 * point finds on its next start exactly what it had promised; an in-memory store keeps them for the life of the
 * process. A store belongs to one GitLab URL and one runner: several runners may share a directory without seeing
 * each other's entries.
 */
export interface StateStore {
  /** Records (or updates) a job in flight. */
  recordJob(entry: JournalEntry): Promise<void>;
  /** The job is no longer in flight (done, refused, or its state is in the outbox and delivered). */
  forgetJob(jobId: number): Promise<void>;
  /** Keeps a final state until GitLab takes it; replaces an earlier entry of the same job. */
  putFinalState(entry: OutboxEntry): Promise<void>;
  /** GitLab took the final state (or the job is gone): the entry, and the job's journal entry, are removed. */
  removeFinalState(jobId: number): Promise<void>;
  /** What this runner left behind. */
  load(): Promise<StoredState>;
}

/** The injection token of {@link StateStore}. */
export const STATE_STORE: unique symbol = Symbol('StateStore');
