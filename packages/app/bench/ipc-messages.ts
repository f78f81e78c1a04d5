/**
 * What the bench and its child servers say to each other over the fork IPC channel. Every request carries an `id`
 * its reply repeats, so the parent can await the answer to the question it asked.
 */

/** Parent → child. */
export type BenchRequest =
  | { readonly id: number; readonly type: 'counts' }
  | { readonly id: number; readonly type: 'enqueue'; readonly count: number };

/** Requests served since the child started; by route when the server keeps that apart. */
export interface RequestCounts {
  readonly total: number;
  /** The child's own CPU time so far (user + system), in µs: how busy the server side was. */
  readonly cpuUs: number;
  readonly byRoute?: { readonly requestJob: number; readonly updateJob: number; readonly other: number };
}

/** Child → parent. `ready` is unsolicited (id 0), sent once the server listens. */
export type BenchReply =
  | { readonly id: 0; readonly type: 'ready'; readonly url: string; readonly runnerToken?: string }
  | ({ readonly id: number; readonly type: 'counts' } & RequestCounts)
  | { readonly id: number; readonly type: 'enqueued'; readonly count: number }
  | { readonly id: number; readonly type: 'error'; readonly message: string };

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null;
}

export function isBenchRequest(value: unknown): value is BenchRequest {
  if (!isObject(value) || typeof value.id !== 'number') return false;
  return value.type === 'counts' || (value.type === 'enqueue' && typeof value.count === 'number');
}

export function isBenchReply(value: unknown): value is BenchReply {
  if (!isObject(value) || typeof value.id !== 'number') return false;
  switch (value.type) {
    case 'ready':
      return typeof value.url === 'string';
    case 'counts':
      return typeof value.total === 'number' && typeof value.cpuUs === 'number';
    case 'enqueued':
      return typeof value.count === 'number';
    case 'error':
      return typeof value.message === 'string';
    default:
      return false;
  }
}

/** This process's CPU time so far, in µs. */
export function cpuUsSoFar(): number {
  const { user, system } = process.cpuUsage();
  return user + system;
}

/** The child's side of the channel: answers each request with `answer`, and exits when the parent goes away. */
export function serveParent(answer: (request: BenchRequest) => BenchReply | Promise<BenchReply>): void {
  process.on('message', (message: unknown) => {
    if (!isBenchRequest(message)) return;
    Promise.resolve()
      .then(() => answer(message))
      .catch((error: unknown) => ({
        id: message.id,
        type: 'error' as const,
        message: error instanceof Error ? error.message : String(error),
      }))
      .then((reply) => process.send?.(reply));
  });
  // A bench that crashed or was interrupted must not leave its server running.
  process.once('disconnect', () => process.exit(0));
}
