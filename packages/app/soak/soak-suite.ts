import type { SoakReport } from './report.js';
import type { SoakOptions } from './soak-options.js';
import { soakProfile } from './soak-run.js';

/** Runs every chosen profile under one seed, one after the other, reporting progress on `progress`. */
export async function runSoak(
  options: Pick<SoakOptions, 'seed' | 'jobs' | 'ci' | 'profiles' | 'concurrency'> &
    Partial<Pick<SoakOptions, 'explain'>>,
  progress: (line: string) => void = () => {},
): Promise<SoakReport> {
  const started = performance.now();
  const results = [];
  for (const profile of options.profiles) {
    progress(`soak: ${profile}, ${options.jobs} jobs (seed ${options.seed})…`);
    const result = await soakProfile({
      profile,
      seed: options.seed,
      jobs: options.jobs,
      concurrency: options.concurrency,
      ...(options.explain === undefined ? {} : { explain: options.explain }),
    });
    progress(`soak: ${profile} done in ${(result.realMs / 1_000).toFixed(1)} s, ${result.violationCount} violation(s)`);
    results.push(result);
  }
  return { seed: options.seed, jobs: options.jobs, ci: options.ci, results, realMs: performance.now() - started };
}
