import type { Clock, JobStatus } from '@runner-core/core';
import type { ServerProfile, TransportFault } from '@runner-core/core/simulation';

/** Options of {@link FakeGitLab}. */
export interface FakeGitLabOptions {
  /** Which GitLab to play (see `ServerProfile`). */
  readonly profile: ServerProfile;
  /** The server's time: ack windows, expiry, timestamps. @default systemClock */
  readonly clock?: Clock;
  /** How long a handed-out job waits for its confirmation (the Redis key's TTL), in ms. @default 120_000 */
  readonly ackWindowMs?: number;
  /** How long the expiry worker waits before looking again at a job still waiting, in ms. @default 30_000 */
  readonly expiryRecheckMs?: number;
  /**
   * How many times a job dropped as `runner_provisioning_timeout` is retried (the copies count along the chain).
   * NOTE: GitLab's real limit (`DEFAULT_RETRIES[:runner_provisioning_timeout]`) is not known (docs/gitlab-protocol.md §10).
   * @default 2
   */
  readonly maxProvisioningRetries?: number;
  /**
   * Runs the expiry worker whenever the model is used (a request, a control call, an inspection), on GitLab's
   * schedule: first at hand-out + window, then every `expiryRecheckMs` while the job is still waiting.
   * When `false`, only {@link FakeGitLab.runExpiry} runs it. @default true
   */
  readonly autoExpiry?: boolean;
  /** The runner authentication token this GitLab accepts. @default a generated `glrt-…` token */
  readonly runnerToken?: string;
  /** `X-GitLab-Trace-Update-Interval` on trace answers, in seconds. @default 60 */
  readonly traceUpdateIntervalSeconds?: number;
  /** How many requests the log keeps (the oldest are dropped first), so a long-running sim stays small. @default 10_000 */
  readonly requestLogLimit?: number;
  /** The id of the first job; later jobs count up. @default 1 */
  readonly firstJobId?: number;
  /** A number in [0, 1) for tokens and request ids; inject a seeded one for repeatable runs. @default Math.random */
  readonly random?: () => number;
}

/** One HTTP request to the fake, as a transport hands it over. */
export interface FakeHttpRequest {
  readonly method: string;
  /** The path with its query, e.g. `/api/v4/jobs/12/trace?debug_trace=false`. */
  readonly url: string;
  /** Header names in any case. */
  readonly headers: Readonly<Record<string, string | undefined>>;
  /** The raw body; empty when absent. */
  readonly body?: string | Uint8Array;
}

/**
 * What the fake does with a request: an HTTP answer, or a transport fault. Either may come `delayMs` late; the
 * transport waits (the in-memory network by the fake's clock, the HTTP server by real time).
 */
export type FakeReply =
  | {
      readonly kind: 'answer';
      readonly status: number;
      /** Canonical header names (`Job-Status`, `Content-Type`…). */
      readonly headers: Readonly<Record<string, string>>;
      readonly body: string;
      readonly delayMs: number;
    }
  | { readonly kind: 'fault'; readonly fault: TransportFault; readonly delayMs: number };

/**
 * Whether a job waits for its runner's confirmation (docs/gitlab-protocol.md §5.3): `waiting` while the ack key lives,
 * `wait-expired` once it lapsed (the job is still `pending`, forbidden to the runner, until the worker drops it),
 * `not-waiting` otherwise.
 */
export type AckWaitStatus = 'waiting' | 'wait-expired' | 'not-waiting';

/** Why a job's state changed, in its history. */
export type FakeJobEvent =
  | 'enqueued'
  | 'assigned'
  | 'confirmed'
  | 'updated'
  | 'cancel-requested'
  | 'canceled'
  | 'expired'
  | 'taken-by-other-manager';

/** One entry of a job's history. */
export interface FakeStatusChange {
  /** Epoch ms by the fake's clock. */
  readonly at: number;
  readonly event: FakeJobEvent;
  /** The job's status after the event. */
  readonly status: JobStatus;
  readonly failureReason?: string;
}

/** A job as the fake holds it, for assertions. Carries no token. */
export interface FakeJobView {
  readonly id: number;
  readonly status: JobStatus;
  readonly failureReason?: string;
  readonly exitCode?: number;
  /** Whether a runner was assigned (two-phase: at hand-out, before any confirmation). */
  readonly assigned: boolean;
  /** The runner manager (`system_id`) holding the job: set on confirmation (two-phase) or hand-out (legacy). */
  readonly runnerManager?: string;
  readonly waitStatus: AckWaitStatus;
  /** `waitStatus === 'waiting'`. */
  readonly waiting: boolean;
  /** While an ack key exists: when it lapses (epoch ms) and which manager it names. */
  readonly ackExpiresAt?: number;
  readonly ackManager?: string;
  /** When the expiry worker looks at the job next (epoch ms). */
  readonly expiryCheckAt?: number;
  readonly enqueuedAt: number;
  readonly assignedAt?: number;
  /** When the job started running: the confirmation (two-phase) or the hand-out (legacy). */
  readonly startedAt?: number;
  readonly finishedAt?: number;
  /** The trace received so far, as text. */
  readonly trace: string;
  /** Whether a patch asked for `debug_trace=true`. */
  readonly debugTrace: boolean;
  /** The job this one retries (after `runner_provisioning_timeout`). */
  readonly retryOf?: number;
  /** The retry copy of this job. */
  readonly retriedAs?: number;
  readonly history: readonly FakeStatusChange[];
}
