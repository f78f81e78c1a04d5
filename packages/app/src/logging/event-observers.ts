import type { Logger, Observer, RunnerEvent } from '@runner-core/core';

/**
 * The NDJSON form of an event: one line of JSON, no trailing newline. `job.outcome` is written with its keys in
 * the documented order (`event, jobId, outcome, mode, strategy, attempts, elapsedMs`) whatever order the event
 * object had; other events keep their own.
 */
export function eventLine(event: RunnerEvent): string {
  if (event.event === 'job.outcome') {
    const { jobId, outcome, mode, strategy, attempts, elapsedMs } = event;
    return JSON.stringify({ event: event.event, jobId, outcome, mode, strategy, attempts, elapsedMs });
  }
  return JSON.stringify(event);
}

/** Prints every event as one JSON line through `write` (stdout for `--json`). */
export function ndjsonObserver(write: (line: string) => void): Observer {
  return { notify: (event) => write(`${eventLine(event)}\n`) };
}

/**
 * Logs every event at a level that fits it: outcomes, finished jobs and health at `info`/`warn`/`error`, the
 * wire chatter (keep-alives, attempts) at `debug`. Events carry no tokens, so they are logged as they are.
 */
export function logObserver(logger: Logger): Observer {
  return {
    notify: (event) => {
      switch (event.event) {
        case 'job.received':
          logger.info('job received', { jobId: event.jobId });
          return;
        case 'keep-alive.sent':
        case 'keep-alive.answered':
        case 'confirm.attempt':
        case 'confirm.answered':
          logger.debug(event.event, { ...event });
          return;
        case 'retry.scheduled':
          logger.info('retry scheduled', { ...event });
          return;
        case 'strategy.fallback':
          logger.info('runner_status endpoint missing; falling back', { ...event });
          return;
        case 'job.released':
          logger.info('job released', { ...event });
          return;
        case 'job.outcome':
          if (event.outcome === 'confirmed' || event.outcome === 'skipped') logger.info('job outcome', { ...event });
          else logger.warn('job outcome', { ...event });
          return;
        case 'job.finished':
          logger.info('job finished', { ...event });
          return;
        case 'outbox.kept':
          logger.warn('final state kept in the outbox; it is sent again in the background', { jobId: event.jobId });
          return;
        case 'outbox.delivered':
          if (event.result === 'refused') logger.error('GitLab refused a final state of the outbox', { ...event });
          else logger.info('final state of the outbox delivered', { ...event });
          return;
        case 'job.recovered':
          logger.warn(`job left in flight by the previous run: ${event.action}`, { ...event });
          return;
        case 'runner.unhealthy':
          logger.error(`runner unhealthy: ${event.reason}`, { backoffMs: event.backoffMs });
          return;
        case 'runner.healthy':
          logger.info('runner healthy again');
          return;
        default: {
          const unreachable: never = event;
          logger.warn('unknown event', { event: unreachable });
        }
      }
    },
  };
}
