import { type ChildProcess, fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { type BenchReply, isBenchReply, type RequestCounts } from './ipc-messages.js';

/** How long a child may take to start listening before the bench gives up. */
const START_TIMEOUT_MS = 20_000;

/**
 * A bench server in a child process (a compiled script of this folder, forked), so the server's CPU and GC never
 * count as the client's: the figures of this process are the client side only.
 */
export class ChildServer {
  readonly url: string;
  /** The runner token the child's GitLab accepts, when it checks one. */
  readonly runnerToken: string | undefined;
  readonly #child: ChildProcess;
  readonly #waiting = new Map<number, (reply: BenchReply) => void>();
  #nextId = 1;

  private constructor(child: ChildProcess, url: string, runnerToken: string | undefined) {
    this.#child = child;
    this.url = url;
    this.runnerToken = runnerToken;
    child.on('message', (message: unknown) => {
      if (!isBenchReply(message)) return;
      const resolve = this.#waiting.get(message.id);
      this.#waiting.delete(message.id);
      resolve?.(message);
    });
  }

  /** Forks `script` (a file name beside this one, e.g. `loopback-server.js`) and waits for its `ready`. */
  static async start(script: string, args: readonly string[] = []): Promise<ChildServer> {
    const path = fileURLToPath(new URL(script, import.meta.url));
    const child = fork(path, [...args], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    const ready = await new Promise<Extract<BenchReply, { type: 'ready' }>>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`bench: ${script} did not start`)), START_TIMEOUT_MS);
      child.once('exit', (code) => reject(new Error(`bench: ${script} exited with ${code} before it was ready`)));
      child.on('message', (message: unknown) => {
        if (isBenchReply(message) && message.type === 'ready') {
          clearTimeout(timer);
          resolve(message);
        }
      });
    });
    return new ChildServer(child, ready.url, ready.runnerToken);
  }

  /** Requests the child served so far, by route. */
  async counts(): Promise<RequestCounts> {
    const reply = await this.#ask({ type: 'counts' });
    if (reply.type !== 'counts') throw new Error(`bench: expected counts, got ${reply.type}`);
    return reply;
  }

  /** Asks the child's GitLab to queue `count` jobs. */
  async enqueue(count: number): Promise<void> {
    const reply = await this.#ask({ type: 'enqueue', count });
    if (reply.type !== 'enqueued') throw new Error(`bench: could not enqueue jobs: ${describe(reply)}`);
  }

  async close(): Promise<void> {
    if (this.#child.exitCode !== null) return;
    const exited = new Promise<void>((resolve) => this.#child.once('exit', () => resolve()));
    this.#child.disconnect();
    await exited;
  }

  #ask(
    request: { readonly type: 'counts' } | { readonly type: 'enqueue'; readonly count: number },
  ): Promise<BenchReply> {
    const id = this.#nextId++;
    return new Promise((resolve) => {
      this.#waiting.set(id, resolve);
      this.#child.send({ ...request, id });
    });
  }
}

function describe(reply: BenchReply): string {
  return reply.type === 'error' ? reply.message : reply.type;
}
