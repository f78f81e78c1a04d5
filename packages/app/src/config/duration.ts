const UNIT_MS = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000 } as const;

const DURATION = /^(?<amount>\d+(?:\.\d+)?)(?<unit>ms|s|m|h)$/;
const isUnit = (unit: string | undefined): unit is keyof typeof UNIT_MS => unit !== undefined && unit in UNIT_MS;

/**
 * Parses a duration as the command line writes it: a number and a unit, `500ms`, `30s`, `2m`, `1h` (fractions
 * allowed: `1.5s`). A bare number is refused, because nobody can tell whether `30` meant seconds or milliseconds.
 *
 * @returns milliseconds (rounded to a whole number), or `undefined` when `text` is not a duration.
 */
export function parseDuration(text: string): number | undefined {
  const groups = DURATION.exec(text.trim())?.groups;
  if (groups === undefined || !isUnit(groups.unit)) return undefined;
  return Math.round(Number(groups.amount) * UNIT_MS[groups.unit]);
}

/** The shortest exact form of `ms` for help texts and logs: `3s`, `500ms`, `2m`. */
export function formatDuration(ms: number): string {
  if (ms % UNIT_MS.h === 0 && ms >= UNIT_MS.h) return `${ms / UNIT_MS.h}h`;
  if (ms % UNIT_MS.m === 0 && ms >= UNIT_MS.m) return `${ms / UNIT_MS.m}m`;
  if (ms % UNIT_MS.s === 0 && ms >= UNIT_MS.s) return `${ms / UNIT_MS.s}s`;
  return `${ms}ms`;
}
