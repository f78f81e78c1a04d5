/** How big each part of the benchmark runs: the full run for figures, `--quick` as a CI smoke run. */
export interface BenchOptions {
  readonly quick: boolean;
  readonly json: boolean;
  /** Which sections run (all by default; `--only=http,core` for a focused run). */
  readonly sections: ReadonlySet<SectionName>;
  readonly http: {
    readonly rounds: number;
    readonly concurrencies: readonly number[];
    /** Ops per client per round, by concurrency. */
    readonly opsAt: (concurrency: number) => number;
    readonly warmupOps: number;
  };
  readonly core: { readonly ops: number; readonly warmupOps: number; readonly inMemoryOps: number };
  readonly held: { readonly jobs: number };
  readonly outage: { readonly jobs: number };
  readonly scale: { readonly jobs: number; readonly cadences: readonly ScaleCadence[] };
}

/** One scale run: how often each held job keeps alive, the runner's view of the window, and how long it holds. */
export interface ScaleCadence {
  readonly keepAliveIntervalMs: number;
  readonly ackWindowMs: number;
  readonly deadlineMarginMs: number;
  readonly holdMs: number;
}

/**
 * A stress cadence, far above what a runner asks for: every job keeps alive every 2 s, so 10,000 held jobs ask for
 * 5,000 keep-alives a second. The window is short so the 2 s interval stays within a third of it (as the options
 * demand), and the margin is the default's share of it. NOTE: with the default 5 s margin every keep-alive 2 s in
 * would start past its deadline (window start + 1 s), which would measure an edge case instead of holding jobs.
 */
const STRESS: Omit<ScaleCadence, 'holdMs'> = { keepAliveIntervalMs: 2_000, ackWindowMs: 6_000, deadlineMarginMs: 250 };
/** `JobConfirmation`'s defaults: a keep-alive every 30 s in GitLab's 120 s window, 5 s margin; held one round. */
const DEFAULTS: ScaleCadence = {
  keepAliveIntervalMs: 30_000,
  ackWindowMs: 120_000,
  deadlineMarginMs: 5_000,
  holdMs: 30_000,
};

export const sectionNames = ['http', 'core', 'held', 'outage', 'scale'] as const;
export type SectionName = (typeof sectionNames)[number];

function isSectionName(value: string): value is SectionName {
  return (sectionNames as readonly string[]).includes(value);
}

/** Reads `--quick`, `--json`, `--rounds=N` and `--only=a,b`; anything else is an error, not silently ignored. */
export function readBenchOptions(argv: readonly string[]): BenchOptions {
  let quick = false;
  let json = false;
  let rounds: number | undefined;
  let sections: Set<SectionName> = new Set(sectionNames);
  for (const arg of argv) {
    if (arg === '--quick') quick = true;
    else if (arg === '--json') json = true;
    else if (arg.startsWith('--rounds=')) rounds = positiveInteger(arg, arg.slice('--rounds='.length));
    else if (arg.startsWith('--only=')) sections = onlySections(arg.slice('--only='.length));
    // pnpm forwards a lone `--` when arguments are written `pnpm bench -- --json`.
    else if (arg !== '--')
      throw new Error(`bench: unknown argument ${arg} (expected --quick, --json, --rounds=N, --only=…)`);
  }
  return {
    quick,
    json,
    sections,
    http: {
      rounds: rounds ?? (quick ? 2 : 5),
      concurrencies: [1, 16],
      opsAt: (concurrency) => (concurrency === 1 ? (quick ? 150 : 600) : quick ? 400 : 2_000),
      warmupOps: quick ? 300 : 1_000,
    },
    core: { ops: quick ? 5_000 : 30_000, warmupOps: quick ? 1_000 : 3_000, inMemoryOps: quick ? 500 : 3_000 },
    held: { jobs: 10_000 },
    outage: { jobs: 1_000 },
    // NOTE: the default cadence takes a minute (jobs are received over one interval, then held one), so --quick
    // runs the stress cadence only.
    scale: {
      jobs: quick ? 2_000 : 10_000,
      cadences: quick ? [{ ...STRESS, holdMs: 4_500 }] : [{ ...STRESS, holdMs: 10_000 }, DEFAULTS],
    },
  };
}

function positiveInteger(arg: string, text: string): number {
  const value = Number(text);
  if (!Number.isSafeInteger(value) || value <= 0) throw new Error(`bench: ${arg}: expected a positive integer`);
  return value;
}

function onlySections(list: string): Set<SectionName> {
  const chosen = new Set<SectionName>();
  for (const name of list.split(',')) {
    if (!isSectionName(name)) throw new Error(`bench: --only: unknown section ${name} (${sectionNames.join(', ')})`);
    chosen.add(name);
  }
  return chosen;
}
