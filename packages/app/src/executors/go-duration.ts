/** Milliseconds per unit of a Go duration string (`time.ParseDuration`). */
const UNITS: Readonly<Record<string, number>> = {
  ns: 1e-6,
  us: 1e-3,
  µs: 1e-3,
  μs: 1e-3,
  ms: 1,
  s: 1_000,
  m: 60_000,
  h: 3_600_000,
};
const PART = /(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|μs|ms|s|m|h)/gy;

/**
 * A Go duration (`5m`, `1h30m`, `90s`, `1.5h`) in milliseconds, as gitlab-runner reads its timeout variables
 * (`RUNNER_AFTER_SCRIPT_TIMEOUT`); `0` is zero. @returns `undefined` when the text is not one
 */
export function parseGoDuration(text: string): number | undefined {
  const trimmed = text.trim();
  if (trimmed === '0') return 0;
  if (trimmed === '') return undefined;
  let total = 0;
  PART.lastIndex = 0;
  let end = 0;
  for (let match = PART.exec(trimmed); match !== null; match = PART.exec(trimmed)) {
    total += Number(match[1]) * (UNITS[match[2] ?? ''] ?? Number.NaN);
    end = PART.lastIndex;
  }
  return end === trimmed.length && Number.isFinite(total) ? total : undefined;
}
