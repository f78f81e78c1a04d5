import { offset } from './explain.js';
import { knownDefectOf } from './known-defects.js';
import type { ProfileResult } from './soak-run.js';
import type { Tally } from './tally.js';

/** The whole soak: every profile's result under one seed. */
export interface SoakReport {
  readonly seed: number;
  readonly jobs: number;
  readonly ci: boolean;
  readonly results: readonly ProfileResult[];
  readonly realMs: number;
}

/** How many violations are printed in full per profile. */
const PRINTED_VIOLATIONS = 10;

const sections: readonly { readonly title: string; readonly of: (result: ProfileResult) => Tally }[] = [
  { title: 'jobs', of: (result) => result.counts.jobs },
  { title: 'confirmation outcomes', of: (result) => result.counts.outcomes },
  { title: 'final states of executed jobs (expected as: GitLab shows)', of: (result) => result.counts.states },
  { title: 'runner events', of: (result) => result.counts.runner },
  { title: 'faults injected', of: (result) => result.counts.faults },
  { title: 'answers the runner saw', of: (result) => result.counts.seen },
];

/** One table, a column per profile, then the first violations of each profile (or that there were none). */
export function formatReport(report: SoakReport): string {
  const { results } = report;
  const lines: string[] = [];
  const nameWidth = Math.max(
    40,
    ...sections.flatMap((section) =>
      results.flatMap((result) =>
        section
          .of(result)
          .entries()
          .map(([name]) => name.length),
      ),
    ),
  );
  const columnWidth = Math.max(12, ...results.map((result) => result.profile.length));
  const row = (name: string, cells: readonly string[]): string =>
    `${name.padEnd(nameWidth)}  ${cells.map((cell) => cell.padStart(columnWidth)).join('  ')}`;
  lines.push(`soak: seed ${report.seed}, ${report.jobs} jobs per profile${report.ci ? ' (CI size)' : ''}`);
  lines.push('');
  lines.push(
    row(
      '',
      results.map((result) => result.profile),
    ),
  );
  for (const section of sections) {
    lines.push(`-- ${section.title}`);
    const names = new Set(
      results.flatMap((result) =>
        section
          .of(result)
          .entries()
          .map(([name]) => name),
      ),
    );
    for (const name of [...names].sort()) {
      lines.push(
        row(
          `  ${name}`,
          results.map((result) => String(section.of(result).get(name))),
        ),
      );
    }
  }
  lines.push('-- run');
  lines.push(
    row(
      '  runner restarts',
      results.map((result) => String(result.restarts)),
    ),
  );
  lines.push(
    row(
      '  last loop exit code',
      results.map((result) => String(result.summary?.exitCode ?? '-')),
    ),
  );
  lines.push(
    row(
      '  fake time (h)',
      results.map((result) => (result.fakeMs / 3_600_000).toFixed(1)),
    ),
  );
  lines.push(
    row(
      '  real time (s)',
      results.map((result) => (result.realMs / 1_000).toFixed(1)),
    ),
  );
  lines.push(
    row(
      '  VIOLATIONS',
      results.map((result) => String(result.violationCount)),
    ),
  );
  for (const result of results) {
    if (result.violationCount === 0) continue;
    lines.push('');
    lines.push(`${result.profile}: ${result.violationCount} violation(s), the first ones:`);
    for (const violation of result.violations.slice(0, PRINTED_VIOLATIONS)) {
      const job = violation.jobId === undefined ? '' : ` job ${violation.jobId}`;
      const known = knownDefectOf(violation);
      const tag = known === undefined ? '' : ` (known defect ${known.id})`;
      lines.push(
        `  [${violation.invariant}] ${violation.code}${tag}${job}, noticed at ${offset(violation.at)}: ${violation.detail}`,
      );
    }
  }
  for (const result of results) {
    for (const text of result.explained) lines.push('', `${result.profile}: ${text}`);
  }
  const total = results.reduce((sum, result) => sum + result.violationCount, 0);
  const failed = results.filter((result) => result.violationCount > 0).map((result) => result.profile);
  const known = new Set(
    results.flatMap((result) => result.violations.map((violation) => knownDefectOf(violation)?.id ?? 'new')),
  );
  lines.push('');
  lines.push(
    total === 0
      ? `soak: OK, no violation (seed ${report.seed}, ${(report.realMs / 1_000).toFixed(1)} s)`
      : `soak: FAILED, ${total} violation(s) (${[...known].sort().join(', ')}); replay with: ` +
          `pnpm soak --seed ${report.seed} --jobs ${report.jobs} --profile ${failed.join(',')} [--explain JOB]`,
  );
  return lines.join('\n');
}

/** The report as one JSON object. */
export function jsonReport(report: SoakReport): Record<string, unknown> {
  return {
    seed: report.seed,
    jobs: report.jobs,
    ci: report.ci,
    ok: report.results.every((result) => result.violationCount === 0),
    realMs: Math.round(report.realMs),
    profiles: Object.fromEntries(
      report.results.map((result) => [
        result.profile,
        {
          violationCount: result.violationCount,
          violations: result.violations.map((violation) => ({
            ...violation,
            knownDefect: knownDefectOf(violation)?.id ?? null,
          })),
          restarts: result.restarts,
          fakeMs: result.fakeMs,
          realMs: Math.round(result.realMs),
          exitCode: result.summary?.exitCode ?? null,
          jobs: result.counts.jobs.toJSON(),
          outcomes: result.counts.outcomes.toJSON(),
          states: result.counts.states.toJSON(),
          runner: result.counts.runner.toJSON(),
          faults: result.counts.faults.toJSON(),
          seen: result.counts.seen.toJSON(),
        },
      ]),
    ),
  };
}
