import type { Clock, Logger } from '@runner-core/core';

/** What a stop does to the runs: stop requesting jobs (jobs in flight finish), or abort the jobs in flight. */
export interface Stoppable {
  stop(): void;
  abort(): void;
}

/**
 * How signals stop the service (docs/operations.md): SIGQUIT is a graceful stop, as gitlab-runner's
 * (`KillSignal=SIGQUIT` in its systemd unit): no new jobs, jobs in flight finish. The first SIGINT or SIGTERM is
 * graceful too, and a second one aborts the jobs in flight (gitlab-runner aborts at the first: runner-core gives
 * them the chance to finish unless told twice). `shutdownTimeoutMs` bounds a graceful stop: then jobs are aborted.
 */
export class Shutdown {
  readonly #runs: Stoppable;
  readonly #clock: Clock;
  readonly #logger: Logger;
  readonly #timeoutMs: number | undefined;
  readonly #timer = new AbortController();
  #draining = false;
  #aborted = false;

  constructor(runs: Stoppable, clock: Clock, logger: Logger, timeoutMs: number | undefined) {
    this.#runs = runs;
    this.#clock = clock;
    this.#logger = logger;
    this.#timeoutMs = timeoutMs;
  }

  /** Whether a stop began: the service takes no new jobs (readiness answers 503). */
  get draining(): boolean {
    return this.#draining;
  }

  onSignal(signal: NodeJS.Signals, activeJobs: number): void {
    if (!this.#draining) {
      this.#draining = true;
      const bound = this.#timeoutMs === undefined ? '' : ` for at most ${Math.round(this.#timeoutMs / 1_000)} s`;
      const again = signal === 'SIGQUIT' ? '' : ' (signal again to abort them)';
      this.#logger.warn(`${signal}: no new jobs; jobs in flight finish${bound}${again}`, { jobs: activeJobs });
      this.#runs.stop();
      if (this.#timeoutMs !== undefined) void this.#abortAfter(this.#timeoutMs);
      return;
    }
    if (signal === 'SIGQUIT') {
      this.#logger.info('SIGQUIT: already stopping gracefully', { jobs: activeJobs });
      return;
    }
    this.#abort(`${signal}: aborting jobs in flight`, activeJobs);
  }

  /** Ends the shutdown timer (the runs ended). */
  dispose(): void {
    this.#timer.abort();
  }

  async #abortAfter(ms: number): Promise<void> {
    await this.#clock.sleep(ms, this.#timer.signal);
    if (this.#timer.signal.aborted) return;
    this.#abort(`shutdown timeout of ${Math.round(ms / 1_000)} s reached: aborting jobs in flight`, undefined);
  }

  #abort(message: string, activeJobs: number | undefined): void {
    if (this.#aborted) return;
    this.#aborted = true;
    this.#logger.warn(message, activeJobs === undefined ? {} : { jobs: activeJobs });
    this.#runs.abort();
  }
}
