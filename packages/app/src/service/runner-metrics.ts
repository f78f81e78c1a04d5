import type { Observer, RunnerEvent } from '@runner-core/core';
import type { RunnerApiOperation } from '@runner-core/core/wire';
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';
import { APP_VERSION } from '../version.js';

/** The endpoints of GitLab's runner API, as the `endpoint` label names them. */
export type ApiEndpoint = RunnerApiOperation;

/** What the metrics read from a runner besides its events (numbers it holds right now). */
export interface RunnerGauges {
  /** Final states kept in the outbox, not yet taken by GitLab. */
  readonly outboxEntries: () => number;
}

/**
 * The Prometheus metrics of a runner-core process (docs/operations.md has the list). Every runner metric carries a
 * `runner` label (a process may serve several `[[runners]]`); names and units follow Prometheus' naming guide:
 * `_total` counters, `_seconds` histograms, base units. Labels hold bounded values only: kinds, states, failure
 * reasons, never ids, messages or tokens.
 */
export class RunnerMetrics {
  readonly registry = new Registry();
  readonly #confirmations: Counter<'runner' | 'outcome' | 'mode' | 'strategy'>;
  readonly #confirmationSeconds: Histogram<'runner'>;
  readonly #keepAlives: Counter<'runner' | 'answer'>;
  readonly #apiRequests: Counter<'runner' | 'endpoint' | 'status'>;
  readonly #apiSeconds: Histogram<'runner' | 'endpoint'>;
  readonly #jobs: Counter<'runner' | 'state' | 'failure_reason'>;
  readonly #running: Gauge<'runner'>;
  readonly #pending: Gauge<'runner'>;
  readonly #retries: Counter<'runner' | 'operation' | 'reason'>;
  readonly #up: Gauge<'runner'>;
  readonly #gauges = new Map<string, RunnerGauges>();

  constructor() {
    const registers = [this.registry];
    collectDefaultMetrics({ register: this.registry });
    new Gauge({
      name: 'runner_core_build_info',
      help: 'Always 1; the labels say which runner-core this is.',
      labelNames: ['version'],
      registers,
    }).set({ version: APP_VERSION }, 1);
    this.#confirmations = new Counter({
      name: 'runner_core_confirmations_total',
      help: 'Jobs handed out by GitLab, by how their confirmation ended.',
      labelNames: ['runner', 'outcome', 'mode', 'strategy'],
      registers,
    });
    this.#confirmationSeconds = new Histogram({
      name: 'runner_core_confirmation_duration_seconds',
      help: 'Time from receiving a job to the outcome of its confirmation.',
      labelNames: ['runner'],
      buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120],
      registers,
    });
    this.#keepAlives = new Counter({
      name: 'runner_core_keepalives_total',
      help: 'Keep-alives answered while jobs were prepared, by answer.',
      labelNames: ['runner', 'answer'],
      registers,
    });
    this.#apiRequests = new Counter({
      name: 'runner_core_api_requests_total',
      help: "Requests to GitLab's runner API, by endpoint and HTTP status (error: no answer).",
      labelNames: ['runner', 'endpoint', 'status'],
      registers,
    });
    this.#apiSeconds = new Histogram({
      name: 'runner_core_api_request_duration_seconds',
      help: "Latency of requests to GitLab's runner API, by endpoint (a job request includes GitLab's long poll).",
      labelNames: ['runner', 'endpoint'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
      registers,
    });
    this.#jobs = new Counter({
      name: 'runner_core_jobs_total',
      help: 'Jobs run to their end, by the final state reported (failure_reason empty on success).',
      labelNames: ['runner', 'state', 'failure_reason'],
      registers,
    });
    this.#running = new Gauge({
      name: 'runner_core_jobs_running',
      help: 'Jobs confirmed and running now.',
      labelNames: ['runner'],
      registers,
    });
    this.#pending = new Gauge({
      name: 'runner_core_jobs_pending',
      help: 'Jobs received and not confirmed yet (held with keep-alives).',
      labelNames: ['runner'],
      registers,
    });
    const gauges = this.#gauges;
    new Gauge({
      name: 'runner_core_outbox_entries',
      help: 'Final states kept in the outbox that GitLab has not taken yet.',
      labelNames: ['runner'],
      registers,
      collect() {
        for (const [runner, read] of gauges) this.set({ runner }, read.outboxEntries());
      },
    });
    this.#retries = new Counter({
      name: 'runner_core_retries_total',
      help: 'Retries scheduled, by operation and the wait rule that applied (backoff, retry-after, rate-limit-reset).',
      labelNames: ['runner', 'operation', 'reason'],
      registers,
    });
    this.#up = new Gauge({
      name: 'runner_core_gitlab_up',
      help: '1 while GitLab accepts the runner (its last job request was answered and not refused), else 0.',
      labelNames: ['runner'],
      registers,
    });
  }

  /** Starts counting for `runner`: its gauges at 0, then the observer that feeds its metrics from its events. */
  observerFor(runner: string, gauges?: RunnerGauges): Observer {
    if (gauges !== undefined) this.#gauges.set(runner, gauges);
    this.#running.set({ runner }, 0);
    this.#pending.set({ runner }, 0);
    return { notify: (event) => this.#count(runner, event) };
  }

  /** Reads `runner`'s live numbers (once its run loop exists). */
  watch(runner: string, gauges: RunnerGauges): void {
    this.#gauges.set(runner, gauges);
  }

  /** One request to GitLab: its endpoint, HTTP status (`error` when no answer came) and duration. */
  recordRequest(runner: string, endpoint: ApiEndpoint, status: number | 'error', seconds: number): void {
    this.#apiRequests.inc({ runner, endpoint, status: String(status) });
    this.#apiSeconds.observe({ runner, endpoint }, seconds);
  }

  /** Whether GitLab accepts `runner` right now. */
  setUp(runner: string, up: boolean): void {
    this.#up.set({ runner }, up ? 1 : 0);
  }

  #count(runner: string, event: RunnerEvent): void {
    switch (event.event) {
      case 'job.received':
        this.#pending.inc({ runner });
        break;
      case 'job.outcome':
        this.#pending.dec({ runner });
        this.#confirmations.inc({ runner, outcome: event.outcome, mode: event.mode, strategy: event.strategy });
        this.#confirmationSeconds.observe({ runner }, event.elapsedMs / 1_000);
        if (event.outcome === 'confirmed' || event.outcome === 'skipped') this.#running.inc({ runner });
        break;
      case 'job.finished':
        this.#running.dec({ runner });
        this.#jobs.inc({ runner, state: event.state, failure_reason: event.failureReason ?? '' });
        break;
      case 'keep-alive.answered':
        this.#keepAlives.inc({ runner, answer: event.answer });
        break;
      case 'retry.scheduled':
        this.#retries.inc({ runner, operation: event.operation, reason: event.rule });
        break;
      case 'runner.unhealthy':
        this.setUp(runner, false);
        break;
      case 'runner.healthy':
        this.setUp(runner, true);
        break;
      case 'keep-alive.sent':
      case 'confirm.attempt':
      case 'confirm.answered':
      case 'strategy.fallback':
      case 'job.released':
      case 'outbox.kept':
      case 'outbox.delivered':
      case 'job.recovered':
        break;
      default: {
        const unreachable: never = event;
        throw new Error(`unknown event ${JSON.stringify(unreachable)}`);
      }
    }
  }
}
