import { PerformanceObserver } from 'node:perf_hooks';

interface GcEntry {
  readonly start: number;
  readonly duration: number;
}

/**
 * Garbage-collection pauses of this process. Entries arrive asynchronously and may land after the segment that
 * caused them ended, so they are kept with their start time and attributed to segments afterwards
 * ({@link GcMeter.msBetween}), not summed while a segment runs.
 */
export class GcMeter {
  readonly #entries: GcEntry[] = [];
  readonly #observer: PerformanceObserver;

  constructor() {
    this.#observer = new PerformanceObserver((list) => {
      for (const entry of list.getEntries()) this.#entries.push({ start: entry.startTime, duration: entry.duration });
    });
    this.#observer.observe({ entryTypes: ['gc'] });
  }

  /** Milliseconds of GC pauses that started in `[start, end)` (`performance.now()` times). */
  msBetween(start: number, end: number): number {
    for (const entry of this.#observer.takeRecords()) {
      this.#entries.push({ start: entry.startTime, duration: entry.duration });
    }
    let total = 0;
    for (const entry of this.#entries) if (entry.start >= start && entry.start < end) total += entry.duration;
    return total;
  }

  close(): void {
    this.#observer.disconnect();
  }
}

/** `global.gc` when node runs with `--expose-gc`: figures about heap are only steady after a full collection. */
export function forcedGc(): (() => void) | undefined {
  const gc: unknown = (globalThis as { gc?: unknown }).gc;
  if (typeof gc !== 'function') return undefined;
  const collect = gc as () => void;
  return () => collect();
}

/** Heap in use after full collections (two: the first may only queue finalizers), or `NaN` without `--expose-gc`. */
export function settledHeapBytes(): number {
  const gc = forcedGc();
  if (gc === undefined) return Number.NaN;
  gc();
  gc();
  return process.memoryUsage().heapUsed;
}
