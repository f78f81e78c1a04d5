import type { LogFields, Logger } from '@runner-core/core';

/** One line a {@link CaptureLogger} received, child bindings merged in. */
export interface CapturedLine {
  readonly level: 'debug' | 'info' | 'warn' | 'error';
  readonly message: string;
  readonly fields: LogFields;
}

/** A logger that keeps every line, for assertions on what was (and was not) logged. */
export class CaptureLogger implements Logger {
  constructor(
    readonly lines: CapturedLine[] = [],
    private readonly bindings: LogFields = {},
  ) {}

  debug(message: string, fields?: LogFields): void {
    this.#push('debug', message, fields);
  }
  info(message: string, fields?: LogFields): void {
    this.#push('info', message, fields);
  }
  warn(message: string, fields?: LogFields): void {
    this.#push('warn', message, fields);
  }
  error(message: string, fields?: LogFields): void {
    this.#push('error', message, fields);
  }
  child(bindings: LogFields): Logger {
    return new CaptureLogger(this.lines, { ...this.bindings, ...bindings });
  }

  /** Every line as JSON, one per line: what a log file would hold. */
  text(): string {
    return this.lines.map((line) => JSON.stringify(line)).join('\n');
  }

  #push(level: CapturedLine['level'], message: string, fields?: LogFields): void {
    this.lines.push({ level, message, fields: { ...this.bindings, ...fields } });
  }
}
