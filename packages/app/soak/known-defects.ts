import type { ServerProfile } from '@runner-core/core/simulation';
import type { Violation } from './invariants.js';

/** A product defect the soak found and that is not fixed yet: its symptom, where it seems to come from, and a replay. */
export interface KnownDefect {
  readonly id: string;
  readonly summary: string;
  /** The best diagnosis so far (file and function). */
  readonly diagnosis: string;
  /** The smallest run found that shows it: `pnpm soak --seed S --jobs N --profile P --explain J`. */
  readonly reproduce: {
    readonly seed: number;
    readonly jobs: number;
    readonly profile: ServerProfile;
    readonly jobId: number;
  };
  /** Exactly the symptom: a violation of this invariant with this code, nothing broader. */
  readonly invariant: Violation['invariant'];
  readonly code: string;
}

/**
 * The product defects the soak knows of. The CI soak skips exactly these symptoms (invariant and code) so it stays
 * useful for everything else; `pnpm soak` still fails on them. Remove an entry once its defect is fixed.
 */
export const KNOWN_DEFECTS: readonly KnownDefect[] = [];

/** The known defect a violation is a symptom of, if any. */
export function knownDefectOf(violation: Violation): KnownDefect | undefined {
  return KNOWN_DEFECTS.find((defect) => defect.invariant === violation.invariant && defect.code === violation.code);
}
