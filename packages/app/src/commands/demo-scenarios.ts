import type { FakeGitLab } from '@runner-core/adapter-fake';
import {
  type ConfirmationMode,
  type JobReport,
  type OutcomeKind,
  type PendingJob,
  type StrategyChoice,
  type StrategyName,
  systemClock,
} from '@runner-core/core';
import type { SimProfile } from '../config/app-config.js';

/** How long the demo's fake GitLab holds an unconfirmed job. Short, so the demo finishes quickly. */
export const DEMO_ACK_WINDOW_MS = 3_000;
/** The demo runner's keep-alive interval (a third of the window). */
export const DEMO_KEEP_ALIVE_MS = 1_000;

/** One scene of the demo: a server, what happens while the job is prepared, and what must come of it. */
export interface DemoScenario {
  readonly name: string;
  readonly profile: SimProfile;
  /** What the scene shows, for the progress line. */
  readonly story: string;
  readonly expected: {
    readonly outcome: OutcomeKind;
    readonly mode?: ConfirmationMode;
    readonly strategy?: StrategyName | 'none';
  };
  readonly strategy?: StrategyChoice;
  /** Send one keep-alive before confirming, so the mode is known. @default false */
  readonly probe?: boolean;
  /** The ack window the runner believes in. @default DEMO_ACK_WINDOW_MS */
  readonly runnerAckWindowMs?: number;
  /** Arranges the fake before the runner asks for the job. */
  readonly arrange?: (gitlab: FakeGitLab, jobId: number) => void;
  /** What happens while the job is held pending (GitLab's side of the scene). */
  readonly prepare?: (gitlab: FakeGitLab, pending: PendingJob) => Promise<void>;
  /** Checks of GitLab's side afterwards; returns what is wrong, if anything. */
  readonly verify: (gitlab: FakeGitLab, jobId: number, report: JobReport) => string | undefined;
}

/** The final updates (`PUT state=failed`) GitLab received for a job, as `failed/<reason>`. */
function failedPuts(gitlab: FakeGitLab, jobId: number): string[] {
  return gitlab
    .requestsFor(jobId)
    .filter((request) => request.operation === 'update-job' && request.state === 'failed')
    .map((request) => {
      const body = request.body as { readonly failure_reason?: unknown } | undefined;
      return `failed/${String(body?.failure_reason ?? '')}`;
    });
}

function expectStatus(gitlab: FakeGitLab, jobId: number, status: string, reason?: string): string | undefined {
  const job = gitlab.job(jobId);
  if (job.status !== status) return `GitLab has the job ${job.status}, expected ${status}`;
  if (reason !== undefined && job.failureReason !== reason) {
    return `GitLab has failure reason ${job.failureReason ?? 'none'}, expected ${reason}`;
  }
  return undefined;
}

/** Waits (real time) until the job can no longer be confirmed, at most `ms`. */
async function untilSettled(pending: PendingJob, ms: number): Promise<void> {
  await systemClock.sleep(ms, pending.signal);
}

const ranAndSucceeded = (gitlab: FakeGitLab, jobId: number): string | undefined => {
  const problem = expectStatus(gitlab, jobId, 'success');
  if (problem !== undefined) return problem;
  const trace = gitlab.traceText(jobId);
  if (!trace.includes('[MASKED]')) return 'the trace shows no [MASKED] value';
  return undefined;
};

/** The demo's scenes, in order. */
export const DEMO_SCENARIOS: readonly DemoScenario[] = [
  {
    name: 'confirmed',
    profile: 'two-phase',
    story: 'a two-phase GitLab holds the job pending; a keep-alive, then the confirmation',
    probe: true,
    expected: { outcome: 'confirmed', mode: 'two-phase', strategy: 'state-put' },
    verify: ranAndSucceeded,
  },
  {
    name: 'canceled',
    profile: 'legacy',
    story: 'a user cancels the job while the runner prepares it',
    expected: { outcome: 'canceled' },
    prepare: async (gitlab, pending) => {
      gitlab.cancelJob(pending.id);
      await untilSettled(pending, 5 * DEMO_KEEP_ALIVE_MS);
    },
    verify: (gitlab, jobId) => {
      const puts = failedPuts(gitlab, jobId);
      if (puts.length !== 1 || puts[0] !== 'failed/job_canceled') {
        return `expected exactly one PUT failed/job_canceled, saw [${puts.join(', ')}]`;
      }
      return expectStatus(gitlab, jobId, 'canceled');
    },
  },
  {
    name: 'conflict',
    profile: 'two-phase',
    story: 'another runner manager takes the waiting job (409)',
    expected: { outcome: 'conflict', mode: 'unknown' },
    prepare: async (gitlab, pending) => {
      gitlab.takeByOtherManager(pending.id);
      await untilSettled(pending, 5 * DEMO_KEEP_ALIVE_MS);
    },
    verify: (gitlab, jobId) => {
      const puts = failedPuts(gitlab, jobId);
      if (puts.length > 0) return `expected no final update, saw [${puts.join(', ')}]`;
      return gitlab.traceText(jobId) === '' ? undefined : 'the job ran';
    },
  },
  {
    name: 'flapping',
    profile: 'two-phase',
    story: 'GitLab answers 503 twice to the job request and three times to the confirmation, then 200',
    expected: { outcome: 'confirmed', strategy: 'state-put' },
    arrange: (gitlab, jobId) => {
      gitlab.inject('request-job', { status: 503 }, { times: 2 });
      gitlab.inject('update-job', { status: 503 }, { jobId, times: 3 });
    },
    verify: (gitlab, jobId, report) => {
      if (report.outcome.attempts !== 4) return `expected 4 confirmation attempts, saw ${report.outcome.attempts}`;
      return ranAndSucceeded(gitlab, jobId);
    },
  },
  {
    name: 'legacy',
    profile: 'legacy',
    story: 'a GitLab without two-phase commit: the keep-alive is refused (400), the confirmation is a touch',
    probe: true,
    expected: { outcome: 'confirmed', mode: 'legacy', strategy: 'state-put' },
    verify: ranAndSucceeded,
  },
  {
    name: 'runner-status',
    profile: 'runner-status',
    story: 'the job asks for POST /jobs/:id/runner_status (features.job_status)',
    probe: true,
    expected: { outcome: 'confirmed', mode: 'two-phase', strategy: 'runner-status' },
    verify: (gitlab, jobId) => {
      const posts = gitlab.requestsFor(jobId).filter((request) => request.operation === 'post-runner-status');
      if (posts.length === 0) return 'no POST /runner_status reached GitLab';
      return ranAndSucceeded(gitlab, jobId);
    },
  },
  {
    name: 'expired',
    profile: 'two-phase',
    story: 'the job outlives the ack window without keep-alives: GitLab drops it',
    // NOTE: the runner believes in GitLab's default 2-minute window (its first keep-alive would come after ~30 s),
    // while this GitLab holds the job for 3 s only.
    runnerAckWindowMs: 120_000,
    expected: { outcome: 'gone', mode: 'unknown' },
    prepare: async (_gitlab, pending) => {
      await systemClock.sleep(DEMO_ACK_WINDOW_MS + 500, pending.signal);
    },
    verify: (gitlab, jobId) => {
      const problem = expectStatus(gitlab, jobId, 'failed', 'runner_provisioning_timeout');
      if (problem !== undefined) return problem;
      return gitlab.job(jobId).retriedAs === undefined ? 'GitLab did not retry the job' : undefined;
    },
  },
];
