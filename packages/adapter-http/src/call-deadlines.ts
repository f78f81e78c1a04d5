import type { GenericAbortSignal } from 'axios';

type Listener = (...args: unknown[]) => unknown;

/**
 * The abort signal of one call, as axios reads it (`aborted`, `addEventListener`, `removeEventListener`: axios's
 * `GenericAbortSignal`). It aborts when the call's deadline passes ({@link CallDeadlines}) or the caller's own
 * signal aborts. NOTE: not an `AbortController`: Node builds a full `EventTarget` for each of those (microseconds and
 * several hundred bytes), and a call needs one listener, axios's.
 */
export class CallSignal implements GenericAbortSignal {
  aborted = false;
  /** Whether the deadline, not the caller, aborted the call. */
  timedOut = false;
  /** When the deadline passes, on `performance.now()`'s clock. */
  readonly at: number;
  /** The queue this call waits in, while it does (see {@link DeadlineQueue}). */
  queue: DeadlineQueue | undefined;
  previous: CallSignal | undefined;
  next: CallSignal | undefined;
  #listeners: Listener | Listener[] | undefined;
  #caller: AbortSignal | undefined;
  #onCallerAbort: (() => void) | undefined;

  constructor(at: number) {
    this.at = at;
  }

  addEventListener(type: string, listener: Listener): void {
    if (type !== 'abort') return;
    const current = this.#listeners;
    if (current === undefined) this.#listeners = listener;
    else if (Array.isArray(current)) current.push(listener);
    else this.#listeners = [current, listener];
  }

  removeEventListener(type: string, listener: Listener): void {
    if (type !== 'abort') return;
    const current = this.#listeners;
    if (current === listener) this.#listeners = undefined;
    else if (Array.isArray(current)) this.#listeners = current.filter((each) => each !== listener);
  }

  /** Aborts with the caller's signal too (a long poll ended on shutdown). */
  follow(caller: AbortSignal): void {
    this.#caller = caller;
    this.#onCallerAbort = () => this.#abort();
    caller.addEventListener('abort', this.#onCallerAbort, { once: true });
  }

  /** The deadline passed. */
  expire(): void {
    this.timedOut = true;
    this.#abort();
  }

  /** The call ended: its deadline and the caller's signal no longer concern it. */
  end(): void {
    this.queue?.remove(this);
    if (this.#caller !== undefined && this.#onCallerAbort !== undefined) {
      this.#caller.removeEventListener('abort', this.#onCallerAbort);
    }
    this.#caller = undefined;
    this.#onCallerAbort = undefined;
  }

  #abort(): void {
    if (this.aborted) return;
    this.aborted = true;
    this.queue?.remove(this);
    const listeners = this.#listeners;
    this.#listeners = undefined;
    // NOTE: called without an event: axios then rejects with its own CanceledError (ERR_CANCELED).
    if (typeof listeners === 'function') listeners();
    else if (listeners !== undefined) for (const listener of listeners) listener();
  }
}

/**
 * The calls in flight that share one timeout, oldest first. With a single timeout per queue, the order calls start in
 * is the order their deadlines pass, so the head is always the next to expire and one timer serves the whole queue.
 */
class DeadlineQueue {
  readonly #timeoutMs: number;
  #head: CallSignal | undefined;
  #tail: CallSignal | undefined;
  #timer: ReturnType<typeof setTimeout> | undefined;
  /** When the timer is set to fire, on `performance.now()`'s clock. */
  #timerAt = 0;

  constructor(timeoutMs: number) {
    this.#timeoutMs = timeoutMs;
  }

  start(): CallSignal {
    const signal = new CallSignal(performance.now() + this.#timeoutMs);
    signal.queue = this;
    signal.previous = this.#tail;
    if (this.#tail === undefined) this.#head = signal;
    else this.#tail.next = signal;
    this.#tail = signal;
    if (this.#timer === undefined) this.#arm(signal.at);
    return signal;
  }

  remove(signal: CallSignal): void {
    if (signal.queue !== this) return;
    signal.queue = undefined;
    const { previous, next } = signal;
    if (previous === undefined) this.#head = next;
    else previous.next = next;
    if (next === undefined) this.#tail = previous;
    else next.previous = previous;
    signal.previous = undefined;
    signal.next = undefined;
    // NOTE: an empty queue holds no timer, so a network with nothing in flight never keeps the process alive.
    if (this.#head === undefined && this.#timer !== undefined) {
      clearTimeout(this.#timer);
      this.#timer = undefined;
    }
  }

  #arm(at: number): void {
    this.#timerAt = at;
    this.#timer = setTimeout(this.#onTimer, Math.max(0, Math.ceil(at - performance.now())));
  }

  readonly #onTimer = (): void => {
    this.#timer = undefined;
    // NOTE: a timer may fire a fraction of a millisecond before `performance.now()` reaches its time; what is due
    // within that fraction is due now, rather than a timer of 0 ms later.
    const now = Math.max(performance.now(), this.#timerAt);
    for (let head = this.#head; head !== undefined && head.at <= now; head = this.#head) head.expire();
    if (this.#head !== undefined && this.#timer === undefined) this.#arm(this.#head.at);
  };
}

/**
 * The deadlines of the calls in flight: one timer per distinct timeout (a job request's, every other call's) instead
 * of a timer and an `AbortController` per call.
 */
export class CallDeadlines {
  readonly #queues = new Map<number, DeadlineQueue>();

  /** The signal of a call starting now that must be done within `timeoutMs`; end it with {@link CallSignal.end}. */
  start(timeoutMs: number, caller?: AbortSignal): CallSignal {
    let queue = this.#queues.get(timeoutMs);
    if (queue === undefined) {
      queue = new DeadlineQueue(timeoutMs);
      this.#queues.set(timeoutMs, queue);
    }
    const signal = queue.start();
    if (caller !== undefined) signal.follow(caller);
    return signal;
  }
}
