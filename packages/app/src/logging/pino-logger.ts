import type { LogFields, Logger } from '@runner-core/core';
import { type DestinationStream, type Logger as Pino, pino } from 'pino';
import pretty from 'pino-pretty';
import type { LogLevel } from '../config/app-config.js';

/** Options of {@link createLogger}. */
export interface LoggerOptions {
  /** @default 'info' */
  readonly level?: LogLevel;
  /** Where lines go. @default process.stderr */
  readonly destination?: DestinationStream;
  /** Human-readable lines (pino-pretty) instead of JSON. @default whether stderr is a TTY */
  readonly pretty?: boolean;
  /** Fields on every line. */
  readonly bindings?: LogFields;
}

// NOTE: a second line of defence; tokens travel as `Secret`s, whose JSON form is already `[REDACTED]`.
const REDACT_PATHS = [
  'token',
  '*.token',
  'jobToken',
  'runnerToken',
  'password',
  '*.password',
  'headers["job-token"]',
  'headers["runner-token"]',
];

/**
 * The app's {@link Logger}: pino, JSON lines on stderr (pino-pretty when stderr is a terminal), so stdout stays
 * free for `--json` events. Writes synchronously, so nothing is lost when the process exits.
 */
export function createLogger(options: LoggerOptions = {}): Logger {
  const usePretty = options.pretty ?? (options.destination === undefined && process.stderr.isTTY === true);
  const stream: DestinationStream = usePretty
    ? pretty({
        destination: options.destination ?? 2,
        sync: true,
        colorize: options.destination === undefined,
        translateTime: 'SYS:HH:MM:ss.l',
        ignore: 'pid,hostname',
      })
    : (options.destination ?? pino.destination({ dest: 2, sync: true }));
  const base = pino(
    {
      level: options.level ?? 'info',
      base: undefined,
      redact: { paths: REDACT_PATHS, censor: '[REDACTED]' },
      timestamp: pino.stdTimeFunctions.isoTime,
    },
    stream,
  );
  return new PinoLogger(options.bindings === undefined ? base : base.child(options.bindings));
}

/** Adapts pino to the core's {@link Logger} port (message first, fields second). */
export class PinoLogger implements Logger {
  readonly #pino: Pino;

  constructor(instance: Pino) {
    this.#pino = instance;
  }

  debug(message: string, fields?: LogFields): void {
    this.#pino.debug(fields ?? {}, message);
  }

  info(message: string, fields?: LogFields): void {
    this.#pino.info(fields ?? {}, message);
  }

  warn(message: string, fields?: LogFields): void {
    this.#pino.warn(fields ?? {}, message);
  }

  error(message: string, fields?: LogFields): void {
    this.#pino.error(fields ?? {}, message);
  }

  child(bindings: LogFields): Logger {
    return new PinoLogger(this.#pino.child(bindings));
  }
}
