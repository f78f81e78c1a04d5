/** Structured fields of a log line. Never put a token here: use `Secret#short()` for runner tokens. */
export type LogFields = Readonly<Record<string, unknown>>;

/** A structured logger (pino-shaped). Adapters log through it; the core reports through the `Observer`. */
export interface Logger {
  debug(message: string, fields?: LogFields): void;
  info(message: string, fields?: LogFields): void;
  warn(message: string, fields?: LogFields): void;
  error(message: string, fields?: LogFields): void;
  /** A logger that adds `bindings` to every line. */
  child(bindings: LogFields): Logger;
}

/** The injection token of {@link Logger}. */
export const LOGGER: unique symbol = Symbol('Logger');

/** A logger that drops everything. */
export const silentLogger: Logger = {
  debug: () => {},
  info: () => {},
  warn: () => {},
  error: () => {},
  child: () => silentLogger,
};
