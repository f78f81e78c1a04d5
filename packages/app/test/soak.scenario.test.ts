import { serverProfiles } from '@runner-core/core/simulation';
import { describe, expect, it } from 'vitest';
import { KNOWN_DEFECTS, knownDefectOf } from '../soak/known-defects.js';
import { CI_JOBS, DEFAULT_CONCURRENCY } from '../soak/soak-options.js';
import { soakProfile } from '../soak/soak-run.js';

/*
 * The soak at CI size (`pnpm soak --ci --seed 20260101`): per server profile, 1,000 jobs through the real run loop
 * against the fake GitLab on one fake clock, with the seeded mix of faults and runner crashes, checked against every
 * invariant once the run drained. Symptoms of the product defects in KNOWN_DEFECTS are skipped, exactly those.
 */

const CI_SEED = 20_260_101;

describe('soak (CI size)', () => {
  for (const profile of serverProfiles) {
    it(`${profile}: ${CI_JOBS} jobs under seeded faults and crashes break no invariant`, async () => {
      const result = await soakProfile({ profile, seed: CI_SEED, jobs: CI_JOBS, concurrency: DEFAULT_CONCURRENCY });
      const replay = `pnpm soak --seed ${CI_SEED} --jobs ${CI_JOBS} --profile ${profile}`;
      // Only the first violations keep their detail: with more, unknown ones could hide behind known ones.
      expect(result.violations.length, replay).toBe(result.violationCount);
      expect(
        result.violations.filter((violation) => knownDefectOf(violation) === undefined),
        replay,
      ).toEqual([]);
      // A soak where little happened proves little: most jobs ran, the runner restarted, faults were met.
      expect(result.counts.jobs.get('executed')).toBeGreaterThan(CI_JOBS * 0.8);
      expect(result.restarts).toBeGreaterThan(0);
      expect(result.counts.faults.entries().length).toBeGreaterThan(10);
      expect(result.summary).toMatchObject({ ended: 'stopped', unreported: 0 });
    }, 60_000);
  }

  it('names every known defect by a symptom no other violation carries', () => {
    const symptoms = KNOWN_DEFECTS.map((defect) => `${defect.invariant}/${defect.code}`);
    expect(new Set(symptoms).size).toBe(symptoms.length);
    expect(
      KNOWN_DEFECTS.every((defect) => !['trace-wrong', 'stranded', 'final-state-wrong'].includes(defect.code)),
    ).toBe(true);
  });
});
