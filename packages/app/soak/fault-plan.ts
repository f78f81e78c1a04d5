import type { InjectedAnswer, ServerOperation, ServerProfile } from '@runner-core/core/simulation';
import type { Prng } from './prng.js';

/** One scripted answer (or run of answers) for the fake GitLab, with the name it is counted under. */
export interface Injection {
  readonly label: string;
  readonly operation: ServerOperation;
  readonly answer: InjectedAnswer;
  readonly times: number;
  readonly jobId?: number;
}

/** What the soak's `prepare` does with a job while GitLab holds it pending. */
export type PrepareAction =
  | { readonly kind: 'none' }
  | { readonly kind: 'hold'; readonly holdMs: number }
  /** A user cancels the job during the hold. */
  | { readonly kind: 'cancel'; readonly afterMs: number; readonly holdMs: number }
  /** Another runner manager takes the job (the 409 race). */
  | { readonly kind: 'conflict'; readonly afterMs: number; readonly holdMs: number }
  /** The ack window ends now. */
  | { readonly kind: 'lapse'; readonly afterMs: number; readonly holdMs: number }
  /** Keep-alives time out for longer than the window: it lapses with the runner still holding on. */
  | { readonly kind: 'starve'; readonly holdMs: number; readonly injections: readonly Injection[] }
  /** The preparation fails: the job is declined. */
  | { readonly kind: 'decline'; readonly afterMs: number };

export interface PreparePlan {
  readonly action: PrepareAction;
  /** Faults for the job's keep-alives and confirmation, scripted when the hold starts. */
  readonly injections: readonly Injection[];
}

export interface RunPlan {
  /** A user cancels the job this long after it started. */
  readonly cancelAfterMs?: number;
  /** Faults for the job's trace patches, scripted when it starts. */
  readonly injections: readonly Injection[];
  /** Faults for the job's final update, scripted when the script ends (so the final update meets them). */
  readonly finalInjections: readonly Injection[];
}

/** The wait headers of a 429, each with `seconds` of wait. */
type RateLimitHeader = 'retry-after-seconds' | 'retry-after-date' | 'ratelimit-resettime';
const rateLimitHeaders: readonly RateLimitHeader[] = ['retry-after-seconds', 'retry-after-date', 'ratelimit-resettime'];

/**
 * The seeded mix of faults: which faults a job meets while it is held, while it runs and when it reports, and which
 * server-wide faults (5xx bursts, 429s with each wait header, network errors, lost answers, slow answers, outages)
 * happen between. Only decides; the soak applies and counts.
 */
export class FaultPlan {
  readonly #prng: Prng;
  readonly #profile: ServerProfile;
  readonly #now: () => number;
  readonly #operations: readonly ServerOperation[];
  /** Where a keep-alive and a confirmation go on this server. */
  readonly #confirmOperation: ServerOperation;

  constructor(prng: Prng, profile: ServerProfile, now: () => number) {
    this.#prng = prng;
    this.#profile = profile;
    this.#now = now;
    this.#confirmOperation = profile === 'runner-status' ? 'post-runner-status' : 'update-job';
    // NOTE: on the other profiles the runner_status route answers 404 before any script; a fault there would be idle.
    this.#operations =
      profile === 'runner-status'
        ? ['request-job', 'update-job', 'post-runner-status', 'patch-trace']
        : ['request-job', 'update-job', 'patch-trace'];
  }

  /** Decided when the runner starts holding a job. */
  prepare(jobId: number): PreparePlan {
    const random = this.#prng;
    const holds = this.#profile !== 'legacy';
    const draw = random.next();
    let action: PrepareAction;
    if (draw < 0.62) action = { kind: 'none' };
    else if (draw < 0.74) action = { kind: 'hold', holdMs: random.int(1, 25) * 1_000 };
    else if (draw < 0.82) action = { kind: 'hold', holdMs: random.int(30, 100) * 1_000 };
    else if (draw < 0.85) action = { kind: 'cancel', afterMs: random.int(0, 40) * 1_000, holdMs: 60_000 };
    else if (draw < 0.88)
      action = holds
        ? { kind: 'conflict', afterMs: random.int(0, 20) * 1_000, holdMs: 60_000 }
        : { kind: 'hold', holdMs: 35_000 };
    else if (draw < 0.9)
      action = holds
        ? { kind: 'lapse', afterMs: random.int(0, 20) * 1_000, holdMs: 60_000 }
        : { kind: 'hold', holdMs: 35_000 };
    else if (draw < 0.915)
      action = holds
        ? {
            kind: 'starve',
            holdMs: 300_000,
            injections: [
              {
                label: 'keep-alive-timeouts',
                operation: this.#confirmOperation,
                answer: { fault: 'timeout', delayMs: 25_000 },
                times: 8,
                jobId,
              },
            ],
          }
        : { kind: 'hold', holdMs: 35_000 };
    else if (draw < 0.94) action = { kind: 'decline', afterMs: random.int(0, 40) * 1_000 };
    else action = { kind: 'none' };

    const injections: Injection[] = [];
    const confirmDraw = random.next();
    if (confirmDraw < 0.06) {
      injections.push(this.#lostAnswer(this.#confirmOperation, jobId));
    } else if (confirmDraw < 0.1) {
      injections.push(this.#networkError(this.#confirmOperation, random.int(1, 2), jobId));
    } else if (confirmDraw < 0.13) {
      injections.push(this.#slow(this.#confirmOperation, 1, jobId));
    } else if (confirmDraw < 0.16) {
      injections.push(this.#serverError(this.#confirmOperation, random.int(1, 4), jobId));
    }
    return { action, injections };
  }

  /** Decided when the executor starts a job that runs for about `durationMs`. */
  run(jobId: number, durationMs: number): RunPlan {
    const random = this.#prng;
    const cancel = random.chance(0.05) ? { cancelAfterMs: random.int(0, durationMs + 5_000) } : {};
    const injections: Injection[] = [];
    if (random.chance(0.08)) injections.push(this.#anyFault('patch-trace', jobId));
    const finalInjections: Injection[] = [];
    if (random.chance(0.1)) finalInjections.push(this.#anyFault('update-job', jobId));
    return { ...cancel, injections, finalInjections };
  }

  /** A server-wide fault, or none; drawn every few seconds of fake time. */
  serverFault(): Injection[] {
    const random = this.#prng;
    if (!random.chance(0.25)) return [];
    const operation = random.pick(this.#operations);
    const draw = random.next();
    if (draw < 0.3) return [this.#serverError(operation, random.int(1, 8))];
    if (draw < 0.5) return [this.#rateLimited(operation, random.int(1, 4))];
    if (draw < 0.7) return [this.#networkError(operation, random.int(1, 3))];
    if (draw < 0.85) return [this.#lostAnswer(operation)];
    if (draw < 0.995) return [this.#slow(operation, random.int(1, 3))];
    // NOTE: an outage long enough that some final updates run out of time and go to the outbox.
    return ['request-job', 'update-job', 'patch-trace', this.#confirmOperation].map((target) => ({
      label: 'outage',
      operation: target as ServerOperation,
      answer: { status: 503 },
      times: 60,
    }));
  }

  #anyFault(operation: ServerOperation, jobId: number): Injection {
    const random = this.#prng;
    switch (random.int(0, 4)) {
      case 0:
        return this.#lostAnswer(operation, jobId);
      case 1:
        return this.#serverError(operation, random.int(1, 6), jobId);
      case 2:
        return this.#rateLimited(operation, random.int(1, 2), jobId);
      case 3:
        return this.#networkError(operation, random.int(1, 2), jobId);
      default:
        return this.#slow(operation, 1, jobId);
    }
  }

  #serverError(operation: ServerOperation, times: number, jobId?: number): Injection {
    const status = this.#prng.pick([503, 503, 502, 500, 504]);
    return { label: `http-${status}`, operation, answer: { status }, times, ...jobOf(jobId) };
  }

  #rateLimited(operation: ServerOperation, times: number, jobId?: number): Injection {
    const header = this.#prng.pick(rateLimitHeaders);
    const seconds = this.#prng.int(1, 15);
    // NOTE: HTTP dates have whole seconds; one more second keeps the wait in the future after truncation.
    const date = new Date(this.#now() + (seconds + 1) * 1_000).toUTCString();
    const headers: Record<string, string> =
      header === 'retry-after-seconds'
        ? { 'Retry-After': String(seconds) }
        : header === 'retry-after-date'
          ? { 'Retry-After': date }
          : { 'RateLimit-ResetTime': date };
    return { label: `http-429-${header}`, operation, answer: { status: 429, headers }, times, ...jobOf(jobId) };
  }

  #networkError(operation: ServerOperation, times: number, jobId?: number): Injection {
    const fault = this.#prng.pick(['reset', 'refused', 'timeout'] as const);
    const answer: InjectedAnswer = fault === 'timeout' ? { fault, delayMs: this.#prng.int(1, 30) * 1_000 } : { fault };
    return { label: `net-${fault}`, operation, answer, times, ...jobOf(jobId) };
  }

  /** GitLab acts on the request, then the answer is lost. */
  #lostAnswer(operation: ServerOperation, jobId?: number): Injection {
    return {
      label: `lost-answer-${operation}`,
      operation,
      answer: { fault: 'reset', afterModel: true },
      times: 1,
      ...jobOf(jobId),
    };
  }

  #slow(operation: ServerOperation, times: number, jobId?: number): Injection {
    return {
      label: 'slow-answer',
      operation,
      answer: { delayMs: this.#prng.int(1, 40) * 1_000 },
      times,
      ...jobOf(jobId),
    };
  }
}

const jobOf = (jobId: number | undefined): { jobId?: number } => (jobId === undefined ? {} : { jobId });
