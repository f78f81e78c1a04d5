import type { JobStatus, OutcomeKind, Secret, StoredState } from '@runner-core/core';

/** What the harness saw of one job, from hand-out to the end of the run. */
export interface JobEntry {
  readonly id: number;
  /** The generation (runner process) whose job request got this job. */
  receivedBy?: number;
  /** The job token the runner got with it, to tell a job GitLab handed out from one it did not. */
  receivedToken?: Secret;
  timesReceived: number;
  /** How the confirmation ended for the runner. */
  outcome?: OutcomeKind;
  /** The answer to a release (`PUT state=failed` after a refusal); `unreachable` when it never landed. */
  release?: string;
  /** The generation whose executor started the job. */
  startedBy?: number;
  startedAt?: number;
  timesStarted: number;
  /** The raw output the executor wrote (before masking), up to where it stopped. */
  written: string;
  /** The executor ran the whole script (not stopped by an abort or a crash). */
  completed: boolean;
  /** What `cancelJob` found: a user canceled the job while it was pending (`canceled`) or running (`canceling`). */
  cancel?: JobStatus;
}

/** One runner process of the soak: a new one starts on the same state store after each crash. */
export interface Generation {
  readonly index: number;
  dead: boolean;
  crashedAt?: number;
  /** What the store held the moment this generation died: what the next start must recover. */
  leftBehind?: StoredState;
  /** When this generation sent its first job request: its recovery was done by then. */
  firstRequestAt?: number;
  /** Jobs whose final state this generation kept in the outbox before it died. */
  readonly keptFinal: Set<number>;
  readonly recovered: { readonly jobId: number; readonly phase: string; readonly action: string }[];
}

/** The harness's book of jobs and runner processes for one profile. */
export class Ledger {
  readonly jobs = new Map<number, JobEntry>();
  readonly generations: Generation[] = [];

  entry(id: number): JobEntry {
    let entry = this.jobs.get(id);
    if (entry === undefined) {
      entry = { id, timesReceived: 0, timesStarted: 0, written: '', completed: false };
      this.jobs.set(id, entry);
    }
    return entry;
  }

  newGeneration(): Generation {
    const generation: Generation = {
      index: this.generations.length,
      dead: false,
      keptFinal: new Set(),
      recovered: [],
    };
    this.generations.push(generation);
    return generation;
  }

  generation(index: number): Generation | undefined {
    return this.generations[index];
  }
}
