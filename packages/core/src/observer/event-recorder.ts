import type { Observer, RunnerEvent } from './observer.port.js';

/** An observer that keeps every event in order: for tables of outcomes (the demo), metrics and tests. */
export class EventRecorder implements Observer {
  readonly events: RunnerEvent[] = [];

  notify(event: RunnerEvent): void {
    this.events.push(event);
  }

  /** The events of one kind, typed. */
  of<K extends RunnerEvent['event']>(kind: K): Extract<RunnerEvent, { event: K }>[] {
    return this.events.filter((event): event is Extract<RunnerEvent, { event: K }> => event.event === kind);
  }
}
