import type { DestinationStream } from 'pino';
import type { Environment } from '../config/read-flags.js';

/** What a command reads and writes besides the network: injected so commands run in tests without a process. */
export interface CliIo {
  readonly env: Environment;
  /** Results and `--json` events. */
  readonly stdout: (text: string) => void;
  /** Messages for the person at the terminal (errors, progress). Logs go to `logDestination`. */
  readonly stderr: (text: string) => void;
  /** Subscribes to SIGINT, SIGTERM and SIGQUIT; returns the unsubscribe function. */
  readonly onSignal: (handler: (signal: NodeJS.Signals) => void) => () => void;
  /** Where log lines go. @default stderr (pretty when it is a terminal) */
  readonly logDestination?: DestinationStream;
}

/** The signals that stop runner-core: SIGQUIT gracefully (as gitlab-runner), SIGINT and SIGTERM too, twice aborts. */
const STOP_SIGNALS = ['SIGINT', 'SIGTERM', 'SIGQUIT'] as const;

/** The real process: its environment, stdout, stderr and signals. */
export function processIo(): CliIo {
  return {
    env: process.env,
    stdout: (text) => {
      process.stdout.write(text);
    },
    stderr: (text) => {
      process.stderr.write(text);
    },
    onSignal: (handler) => {
      for (const signal of STOP_SIGNALS) process.on(signal, handler);
      return () => {
        for (const signal of STOP_SIGNALS) process.off(signal, handler);
      };
    },
  };
}
