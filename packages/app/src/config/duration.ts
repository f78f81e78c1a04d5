const UNIT_MS = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000 } as const;
/** Milliseconds per unit of a Go duration (`time.ParseDuration`), which gitlab-runner's flags and variables use. */
const GO_UNIT_MS: Readonly<Record<string, number>> = { ns: 1e-6, us: 1e-3, µs: 1e-3, μs: 1e-3, ...UNIT_MS };
const PART = /(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|μs|ms|s|m|h)/y;

/**
 * Parses a duration as gitlab-runner writes them (Go's `time.ParseDuration`): numbers with units, `500ms`, `30s`,
 * `2m`, `1h30m`, fractions allowed (`1.5s`), and `0`. A bare number is refused, because nobody can tell whether `30`
 * meant seconds or milliseconds; so is a sign (no negative waits).
 *
 * @returns milliseconds (rounded to a whole number), or `undefined` when `text` is not a duration.
 */
export function parseDuration(text: string): number | undefined {
  const trimmed = text.trim();
  if (trimmed === '0') return 0;
  let total = 0;
  let end = 0;
  PART.lastIndex = 0;
  for (let match = PART.exec(trimmed); match !== null; match = PART.exec(trimmed)) {
    total += Number(match[1]) * (GO_UNIT_MS[match[2] ?? ''] ?? Number.NaN);
    end = PART.lastIndex;
  }
  return end > 0 && end === trimmed.length && Number.isFinite(total) ? Math.round(total) : undefined;
}

/** The shortest exact form of `ms` for help texts and logs: `3s`, `500ms`, `2m`. */
export function formatDuration(ms: number): string {
  if (ms % UNIT_MS.h === 0 && ms >= UNIT_MS.h) return `${ms / UNIT_MS.h}h`;
  if (ms % UNIT_MS.m === 0 && ms >= UNIT_MS.m) return `${ms / UNIT_MS.m}m`;
  if (ms % UNIT_MS.s === 0 && ms >= UNIT_MS.s) return `${ms / UNIT_MS.s}s`;
  return `${ms}ms`;
}
