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
export const KNOWN_DEFECTS: readonly KnownDefect[] = [
  {
    id: 'D1',
    summary:
      'a crash report delivered after a restart appends RESTART_NOTICE twice when the answer to its first trace ' +
      'patch is lost and GitLab held none of the trace before',
    diagnosis:
      'state/recovery.ts crashReport() keeps the notice with no offset ("append after whatever GitLab holds"); ' +
      "trace/trace-shipper.ts #flush() then patches at offset 0, and on the 416 of the retry takes GitLab's size " +
      '(its own notice, landed) as the start of the previous trace (`this.#base = result.offset`) and sends it again',
    reproduce: { seed: 57, jobs: 143, profile: 'legacy', jobId: 142 },
    invariant: 4,
    code: 'restart-notice-twice',
  },
  {
    id: 'D2',
    summary:
      'a runner killed while its confirmation is on the wire (GitLab confirmed it, the answer had not arrived) ' +
      'leaves the job running on GitLab, never run and never reported: the restart lets it "lapse"',
    diagnosis:
      'job-session/job-session.ts JobSession.run() journals the job `running` only after pending.confirm() ' +
      'resolved, so the journal still says pending/two-phase; state/recovery.ts recoverState() then forgets it ' +
      '(`lapses = phase === pending && mode === two-phase`) and sends nothing',
    reproduce: { seed: 116, jobs: 65, profile: 'two-phase', jobId: 53 },
    invariant: 3,
    code: 'stranded-after-crash',
  },
  {
    id: 'D3',
    summary:
      'a confirmation whose answer was lost after GitLab acted, followed by failures until the ack-window ' +
      'deadline, ends `unreachable` with no release: the job stays running on GitLab, never run and never reported',
    diagnosis:
      'job-confirmation/pending-job.ts #unreachable() → #giveUp(): in mode two-phase it sends nothing, assuming ' +
      'GitLab still holds the job pending, which is false once a confirmation may have landed (a TransportError ' +
      'with sent: true)',
    reproduce: { seed: 71, jobs: 145, profile: 'runner-status', jobId: 151 },
    invariant: 3,
    code: 'stranded-after-unreachable',
  },
];

/** The known defect a violation is a symptom of, if any. */
export function knownDefectOf(violation: Violation): KnownDefect | undefined {
  return KNOWN_DEFECTS.find((defect) => defect.invariant === violation.invariant && defect.code === violation.code);
}
