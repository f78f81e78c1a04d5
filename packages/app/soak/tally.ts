/** Counts by name, printed sorted: the soak's outcome, fault and event figures. */
export class Tally {
  readonly #counts = new Map<string, number>();

  add(name: string, by = 1): void {
    this.#counts.set(name, (this.#counts.get(name) ?? 0) + by);
  }

  get(name: string): number {
    return this.#counts.get(name) ?? 0;
  }

  /** Every count, by name. */
  entries(): [string, number][] {
    return [...this.#counts.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  }

  toJSON(): Record<string, number> {
    return Object.fromEntries(this.entries());
  }
}
