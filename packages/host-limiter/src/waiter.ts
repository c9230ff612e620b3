/** A request waiting in a key's queue: a node of an intrusive doubly linked list. */
export class Waiter {
  prev: Waiter | undefined = undefined;
  next: Waiter | undefined = undefined;
  /** Whether the waiter is still in its queue. */
  queued = false;
  readonly resolve: () => void;
  readonly reject: (error: unknown) => void;
  /** The caller's signal and the listener to remove from it. */
  signal: AbortSignal | undefined = undefined;
  onAbort: (() => void) | undefined = undefined;
  /** The queue timeout (ms) and the time (the limiter's clock) it runs out; `Infinity` without one. */
  readonly timeout: number | false;
  readonly deadline: number;
  readonly request: Request | undefined;
  /** What the caller gave the limiter (a `Request`, or a URL when it gave one): for `beforeWait`. */
  readonly input: Request | string | URL;

  constructor(
    resolve: () => void,
    reject: (error: unknown) => void,
    request: Request | undefined,
    timeout: number | false,
    deadline: number,
    input: Request | string | URL,
  ) {
    this.resolve = resolve;
    this.reject = reject;
    this.request = request;
    this.input = input;
    this.timeout = timeout;
    this.deadline = deadline;
  }

  /** Drops the abort listener. */
  detach(): void {
    if (this.onAbort !== undefined) {
      this.signal?.removeEventListener('abort', this.onAbort);
      this.onAbort = undefined;
    }
  }
}

/** A FIFO of waiters with O(1) push, shift and removal from the middle (an abort). */
export class WaiterQueue {
  #head: Waiter | undefined = undefined;
  #tail: Waiter | undefined = undefined;
  #size = 0;

  get size(): number {
    return this.#size;
  }

  get head(): Waiter | undefined {
    return this.#head;
  }

  push(waiter: Waiter): void {
    waiter.prev = this.#tail;
    waiter.next = undefined;
    if (this.#tail === undefined) this.#head = waiter;
    else this.#tail.next = waiter;
    this.#tail = waiter;
    waiter.queued = true;
    this.#size += 1;
  }

  /** Removes `waiter` (a no-op when it is no longer queued). */
  remove(waiter: Waiter): void {
    if (!waiter.queued) return;
    if (waiter.prev === undefined) this.#head = waiter.next;
    else waiter.prev.next = waiter.next;
    if (waiter.next === undefined) this.#tail = waiter.prev;
    else waiter.next.prev = waiter.prev;
    waiter.prev = undefined;
    waiter.next = undefined;
    waiter.queued = false;
    this.#size -= 1;
  }
}
