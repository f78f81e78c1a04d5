import { type ChildProcess, spawn } from 'node:child_process';
import { type Clock, ExecutorError, type TraceSink } from '@runner-core/core';

/** How a child process ended. */
export interface ChildExit {
  /** The exit code; for a process killed by a signal, 128 + the signal number (as a shell reports it). */
  readonly exitCode: number;
  /** The process was stopped because `signal` aborted. */
  readonly aborted: boolean;
  /** The process was stopped because `timeoutMs` passed. */
  readonly timedOut: boolean;
}

/** What {@link runChild} runs, and how. */
export interface ChildSpec {
  readonly command: string;
  readonly args: readonly string[];
  readonly cwd: string;
  /** The whole environment of the child (nothing is inherited implicitly). */
  readonly env: Readonly<Record<string, string>>;
  /** Written to the child's stdin, then stdin is closed; without it stdin is `/dev/null`. */
  readonly stdin?: string;
  /** stdout and stderr, interleaved as they arrive. */
  readonly output: TraceSink;
  /** Stops the child: SIGTERM to its process group, SIGKILL after `killGraceMs`. */
  readonly signal: AbortSignal;
  readonly clock: Clock;
  /** @default 5_000 */
  readonly killGraceMs?: number;
  /** Stop the child after this many milliseconds, as `signal` would. */
  readonly timeoutMs?: number;
}

const SIGNAL_NUMBERS: Readonly<Record<string, number>> = { SIGHUP: 1, SIGINT: 2, SIGKILL: 9, SIGTERM: 15 };

/**
 * Runs a child process in its own process group (so stopping it stops everything it started), streaming its
 * output to a sink. Resolves when the child exited.
 * @throws {ExecutorError} `executor.start` when it could not be started, saying why in words
 */
export function runChild(spec: ChildSpec): Promise<ChildExit> {
  return new Promise<ChildExit>((resolve, reject) => {
    let child: ChildProcess;
    try {
      child = spawn(spec.command, [...spec.args], {
        cwd: spec.cwd,
        env: { ...spec.env },
        detached: true,
        stdio: [spec.stdin === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
      });
    } catch (error) {
      // NOTE: an environment Node refuses (a NUL in a value) throws here rather than failing the spawn.
      reject(startFailure(spec, error instanceof Error ? error : new Error(String(error))));
      return;
    }
    let aborted = false;
    let timedOut = false;
    let exited = false;
    const stopTimers = new AbortController();

    const killGroup = (signal: NodeJS.Signals): void => {
      if (exited || child.pid === undefined) return;
      try {
        process.kill(-child.pid, signal);
      } catch {
        // NOTE: the group may already be gone (ESRCH) between the exit and this call.
      }
    };
    const stop = (): void => {
      killGroup('SIGTERM');
      void spec.clock.sleep(spec.killGraceMs ?? 5_000, stopTimers.signal).then(() => {
        if (!stopTimers.signal.aborted) killGroup('SIGKILL');
      });
    };
    const onAbort = (): void => {
      aborted = true;
      stop();
    };

    child.stdout?.on('data', (chunk: Buffer) => spec.output.write(chunk));
    child.stderr?.on('data', (chunk: Buffer) => spec.output.write(chunk));
    if (spec.stdin !== undefined && child.stdin !== null) {
      // NOTE: a child that never reads stdin closes the pipe; EPIPE then is not our failure.
      child.stdin.on('error', () => {});
      child.stdin.end(spec.stdin);
    }
    child.once('error', (error) => {
      exited = true;
      stopTimers.abort();
      spec.signal.removeEventListener('abort', onAbort);
      reject(startFailure(spec, error));
    });
    child.once('close', (code, signal) => {
      exited = true;
      stopTimers.abort();
      spec.signal.removeEventListener('abort', onAbort);
      const exitCode = code ?? 128 + (signal === null ? 0 : (SIGNAL_NUMBERS[signal] ?? 0));
      resolve({ exitCode, aborted, timedOut });
    });

    if (spec.signal.aborted) onAbort();
    else spec.signal.addEventListener('abort', onAbort, { once: true });
    if (spec.timeoutMs !== undefined) {
      void spec.clock.sleep(spec.timeoutMs, stopTimers.signal).then(() => {
        if (stopTimers.signal.aborted || exited) return;
        timedOut = true;
        stop();
      });
    }
  });
}

/** Why a child could not start, in words; names a variable, never its value. */
function startFailure(spec: ChildSpec, error: Error): ExecutorError {
  const code = (error as NodeJS.ErrnoException).code;
  const what = `could not start ${spec.command}`;
  switch (code) {
    case 'E2BIG': {
      let largest = '';
      let size = 0;
      for (const [key, value] of Object.entries(spec.env)) {
        const bytes = Buffer.byteLength(key) + Buffer.byteLength(value) + 2;
        if (bytes > size) [largest, size] = [key, bytes];
      }
      return new ExecutorError(
        'executor.start',
        `${what}: its environment is larger than the operating system allows (E2BIG; Linux takes at most 128 KiB per variable); the largest is ${largest} (${size} bytes)`,
        { cause: error },
      );
    }
    case 'ENOENT':
      return new ExecutorError('executor.start', `${what}: no such program or working folder (ENOENT)`, {
        cause: error,
      });
    case 'EACCES':
      return new ExecutorError('executor.start', `${what}: permission denied (EACCES)`, { cause: error });
    default:
      return new ExecutorError('executor.start', `${what}: ${error.message}`, { cause: error });
  }
}
