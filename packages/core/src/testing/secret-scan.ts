import { inspect } from 'node:util';
import type { LogFields, Logger } from '../logger/logger.port.js';
import type { Observer, RunnerEvent } from '../observer/observer.port.js';
import { Secret } from '../secret/secret.js';

/**
 * Catches a secret where it must never be: every log line, event, error, result and trace a flow produced is kept,
 * and {@link SecretScan.findings} names each place a watched secret (a runner token, a job token, a masked value)
 * shows up — by its label, never by printing it. Wire `logger` and `observer` into the code under test, `record`
 * what else comes out (outcomes, errors, traces), `watch` every secret the flow handles.
 */
export class SecretScan {
  readonly #secrets = new Map<string, string>();
  readonly #records: Array<{ readonly label: string; readonly text: string }> = [];

  /** A logger that keeps every line (message and fields), at every level. */
  readonly logger: Logger = this.#loggerWith({});

  /** An observer that keeps every event. */
  readonly observer: Observer = {
    notify: (event: RunnerEvent) => this.record(`event ${event.event}`, event),
  };

  /** Watches a secret under a label (`job 7 token`); empty values are ignored. */
  watch(label: string, value: string | Secret): void {
    const text = value instanceof Secret ? value.reveal() : value;
    if (text.length > 0) this.#secrets.set(text, label);
  }

  /** Keeps what a flow produced: as JSON, as a string and as `util.inspect` shows it (an error's stack included). */
  record(label: string, value: unknown): void {
    const forms = [typeof value === 'string' ? value : safeJson(value), String(value), inspect(value, { depth: 8 })];
    if (value instanceof Error) forms.push(value.stack ?? '', inspect(value.cause, { depth: 8 }));
    this.#records.push({ label, text: forms.join('\n') });
  }

  /** Where a watched secret appeared: `"<label of the record> shows <label of the secret>"`, one per place. */
  findings(): string[] {
    const found: string[] = [];
    for (const { label, text } of this.#records) {
      for (const [secret, name] of this.#secrets) {
        if (text.includes(secret)) found.push(`${label} shows ${name}`);
      }
    }
    return found;
  }

  #loggerWith(bindings: LogFields): Logger {
    const line = (level: string) => (message: string, fields?: LogFields) =>
      this.record(`log ${level} "${message}"`, { ...bindings, ...fields, message });
    return {
      debug: line('debug'),
      info: line('info'),
      warn: line('warn'),
      error: line('error'),
      child: (more) => this.#loggerWith({ ...bindings, ...more }),
    };
  }
}

function safeJson(value: unknown): string {
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return '(not JSON)';
  }
}
