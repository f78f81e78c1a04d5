/** A job's place among the jobs an executor runs at once (`CI_CONCURRENT_ID`, `CI_CONCURRENT_PROJECT_ID`). */
export interface ConcurrencySlot {
  /** The lowest number no other running job holds. */
  readonly id: number;
  /** The same among the running jobs of one project. */
  readonly projectId: number;
  release(): void;
}

/**
 * Numbers the jobs running at once from 0, reusing the numbers of jobs that ended, overall and per project, as
 * gitlab-runner numbers its builds: a job script may use them to pick a free port or folder.
 */
export class ConcurrencySlots {
  readonly #taken = new Set<number>();
  readonly #takenByProject = new Map<string, Set<number>>();

  take(project: string): ConcurrencySlot {
    const id = lowestFree(this.#taken);
    let inProject = this.#takenByProject.get(project);
    if (inProject === undefined) {
      inProject = new Set();
      this.#takenByProject.set(project, inProject);
    }
    const projectId = lowestFree(inProject);
    this.#taken.add(id);
    inProject.add(projectId);
    let released = false;
    return {
      id,
      projectId,
      release: () => {
        if (released) return;
        released = true;
        this.#taken.delete(id);
        inProject.delete(projectId);
        if (inProject.size === 0) this.#takenByProject.delete(project);
      },
    };
  }
}

function lowestFree(taken: ReadonlySet<number>): number {
  let id = 0;
  while (taken.has(id)) id += 1;
  return id;
}
