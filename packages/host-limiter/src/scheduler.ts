import {
  HostLimiterClosedError,
  QueueFullError,
  type QueueRejectionInit,
  QueueTimeoutError,
  type QueueWait,
} from './errors.ts';
import type { HostEntry } from './host-entry.ts';
import { maxTimeoutMs, type ResolvedHostLimiterOptions } from './options.ts';
import type { Registry } from './registry.ts';
import { startTimer } from './timer.ts';
import { Waiter } from './waiter.ts';

/** A slot held by one request. Released exactly once through {@link Scheduler.release}. */
export type Permit = { readonly entry: HostEntry; released: boolean };

/**
 * Grants slots: at most `concurrency` per key and `globalConcurrency` in all, in FIFO order per key.
 *
 * Fairness: keys that have a waiter able to start (below their own cap, not paused, with a
 * rate-limit token) form a round-robin ring. A free global slot goes to the first key of the ring,
 * which then moves to the back, so every key with waiters gets a slot in turn however long its
 * queue is. A request starts at once (without queueing) only when its key has nobody waiting and
 * a slot of each kind is free; after every change the scheduler hands out slots until the global
 * limit is reached or the ring is empty, so such a request never overtakes a waiter able to start.
 */
export class Scheduler {
  readonly #options: ResolvedHostLimiterOptions;
  readonly #registry: Registry;
  /** Keys with a waiter able to start, in round-robin order (a Set keeps insertion order). */
  readonly #ring: Set<HostEntry> = new Set();
  #active = 0;
  #queued = 0;
  /** Set by `close()`: every later request of the limiter is refused. */
  #closed = false;

  constructor(options: ResolvedHostLimiterOptions, registry: Registry) {
    this.#options = options;
    this.#registry = registry;
  }

  /** Requests holding a slot, across every key. */
  get active(): number {
    return this.#active;
  }

  /** Requests waiting, across every key. */
  get queued(): number {
    return this.#queued;
  }

  /** True once `close()` was called. */
  get closed(): boolean {
    return this.#closed;
  }

  /**
   * Closes the scheduler: every waiter is rejected at once with a `HostLimiterClosedError` (its request was
   * never sent); the limiter refuses every later request the same way. Slots held now are released as usual.
   */
  close(): void {
    this.#closed = true;
    for (const entry of this.#registry.entries()) {
      for (let waiter = entry.queue.head; waiter !== undefined; waiter = entry.queue.head) {
        this.#drop(entry, waiter);
        waiter.reject(new HostLimiterClosedError(entry.key, waiter.request));
      }
    }
  }

  /**
   * Asks `refuse` about every waiter of `entry`, in order; a waiter it answers with an error leaves the queue
   * and is rejected with it (never sent). `refuse` does not throw. Returns how many left.
   */
  recheck(entry: HostEntry, refuse: (waiter: Waiter) => unknown): number {
    const refused: [Waiter, unknown][] = [];
    for (let waiter = entry.queue.head; waiter !== undefined; waiter = waiter.next) {
      const error = refuse(waiter);
      if (error !== undefined) refused.push([waiter, error]);
    }
    for (const [waiter, error] of refused) {
      this.#drop(entry, waiter);
      waiter.reject(error);
    }
    if (refused.length > 0) {
      // The head may have changed: the next waiter could start now.
      this.#consider(entry);
      this.#dispatch();
    }
    return refused.length;
  }

  /** Takes a slot of `entry` at once when one is free and nobody of the key waits; else `undefined`. */
  tryAcquire(entry: HostEntry): Permit | undefined {
    if (
      entry.queue.size > 0 ||
      entry.active >= this.#options.concurrency ||
      this.#active >= this.#options.globalConcurrency
    ) {
      return undefined;
    }
    if (entry.pausedUntil !== 0 || entry.bucket !== undefined) {
      const now = this.#options.clock();
      if (now < entry.pausedUntil) return undefined;
      if (entry.bucket !== undefined && entry.bucket.take(now) > 0) return undefined;
    }
    entry.active += 1;
    this.#active += 1;
    return { entry, released: false };
  }

  /**
   * Queues a request for a slot of `entry`. Resolves with the permit when granted; rejects with a
   * `QueueFullError` at once when the key's queue or the global one (`maxQueueTotal`) is full, with a `QueueTimeoutError` after
   * `queueTimeout` ms, or with the signal's reason as soon as `signal` aborts (the waiter leaves
   * the queue at that moment).
   */
  enqueue(
    entry: HostEntry,
    signal: AbortSignal | undefined,
    queueTimeout: number | false,
    request: Request | undefined,
    input: Request | string | URL,
  ): Promise<Permit> {
    const { maxQueue, maxQueueTotal } = this.#options;
    if (entry.queue.size >= maxQueue || this.#queued >= maxQueueTotal) {
      const bound = entry.queue.size >= maxQueue ? 'key' : 'global';
      entry.rejectedFull += 1;
      if (bound === 'global') entry.rejectedFullGlobal += 1;
      const error = new QueueFullError({
        ...this.#rejection(entry, request),
        bound,
        queuedTotal: this.#queued,
        maxQueueTotal,
      });
      this.#settleIdle(entry);
      return Promise.reject(error);
    }
    return new Promise<Permit>((resolve, reject) => {
      const deadline =
        queueTimeout === false ? Number.POSITIVE_INFINITY : this.#options.clock() + queueTimeout;
      const waiter = new Waiter(
        () => resolve({ entry, released: false }),
        reject,
        request,
        queueTimeout,
        deadline,
        input,
      );
      entry.queue.push(waiter);
      this.#queued += 1;
      if (signal !== undefined) {
        const onAbort = (): void => {
          this.#drop(entry, waiter);
          reject(signal.reason);
        };
        waiter.signal = signal;
        waiter.onAbort = onAbort;
        signal.addEventListener('abort', onAbort, { once: true });
      }
      if (
        deadline !== Number.POSITIVE_INFINITY &&
        (entry.expiry === undefined || deadline < entry.expiryAt)
      ) {
        this.#expireAt(entry, deadline);
      }
      if (entry.queue.size === 1) this.#consider(entry);
      this.#dispatch();
    });
  }

  /** Gives the slot back (a second call is a no-op) and hands free slots to waiters. */
  release(permit: Permit): void {
    if (permit.released) return;
    permit.released = true;
    const entry = permit.entry;
    entry.active -= 1;
    this.#active -= 1;
    if (entry.queue.size > 0) this.#consider(entry);
    else if (entry.active === 0) this.#registry.idle(entry);
    this.#dispatch();
  }

  /** Pauses `entry` until `until` (the limiter's clock): no waiter of the key starts before then. */
  pause(entry: HostEntry, until: number): void {
    if (until <= entry.pausedUntil) return;
    entry.pausedUntil = until;
    this.#ring.delete(entry);
    if (entry.queue.size > 0) this.#wakeAt(entry, until);
  }

  #rejection(entry: HostEntry, request: Request | undefined): QueueRejectionInit {
    return {
      key: entry.key,
      limit: this.#options.concurrency,
      active: entry.active,
      queued: entry.queue.size,
      maxQueue: this.#options.maxQueue,
      request,
    };
  }

  /** Removes a waiter that gives up (abort, queue timeout); a no-op once it has left the queue. */
  #drop(entry: HostEntry, waiter: Waiter): void {
    waiter.detach();
    if (!waiter.queued) return;
    entry.queue.remove(waiter);
    this.#queued -= 1;
    if (entry.queue.size === 0) {
      this.#ring.delete(entry);
      entry.wake?.clear();
      entry.wake = undefined;
      entry.expiry?.clear();
      entry.expiry = undefined;
      this.#settleIdle(entry);
    }
  }

  /**
   * One queue-timeout timer per key, armed for the earliest deadline of its waiters (with one
   * timeout for all, the head's): cheaper than a timer per waiter. When it fires, every waiter whose
   * deadline has passed is rejected, and the timer is armed again for the earliest one left.
   */
  #expireAt(entry: HostEntry, at: number): void {
    entry.expiry?.clear();
    entry.expiryAt = at;
    entry.expiry = startTimer(this.#options.timers, Math.max(0, at - this.#options.clock()), () => {
      entry.expiry = undefined;
      this.#expire(entry);
    });
  }

  #expire(entry: HostEntry): void {
    const now = this.#options.clock();
    const expired: Waiter[] = [];
    let next = Number.POSITIVE_INFINITY;
    for (let waiter = entry.queue.head; waiter !== undefined; waiter = waiter.next) {
      if (waiter.deadline <= now) expired.push(waiter);
      else if (waiter.deadline < next) next = waiter.deadline;
    }
    for (const waiter of expired) {
      this.#drop(entry, waiter);
      entry.rejectedTimeout += 1;
      const pausedUntil = entry.pausedUntil > now ? entry.pausedUntil : undefined;
      waiter.reject(
        new QueueTimeoutError({
          ...this.#rejection(entry, waiter.request),
          timeout: waiter.timeout === false ? 0 : waiter.timeout,
          waitedFor: this.#heldBy(entry, now),
          ...(pausedUntil === undefined ? {} : { pausedUntil }),
        }),
      );
    }
    if (next !== Number.POSITIVE_INFINITY && entry.queue.size > 0) this.#expireAt(entry, next);
  }

  /** What keeps `entry`'s waiters from starting at `now`. */
  #heldBy(entry: HostEntry, now: number): QueueWait {
    if (entry.pausedUntil > now) return 'pause';
    if (entry.active >= this.#options.concurrency) return 'key';
    if (this.#active >= this.#options.globalConcurrency) return 'global';
    if (entry.bucket !== undefined && entry.bucket.available(now) < 1) return 'rate';
    return 'queue';
  }

  #settleIdle(entry: HostEntry): void {
    if (!entry.busy) this.#registry.idle(entry);
  }

  /** Puts `entry` in the ring when its head waiter could start now, or sets its wake timer. */
  #consider(entry: HostEntry): void {
    if (entry.queue.size === 0 || entry.active >= this.#options.concurrency || entry.wake !== undefined)
      return;
    if (entry.pausedUntil !== 0) {
      const now = this.#options.clock();
      if (now < entry.pausedUntil) {
        this.#wakeAt(entry, entry.pausedUntil);
        return;
      }
    }
    this.#ring.add(entry);
  }

  #wakeAt(entry: HostEntry, at: number): void {
    entry.wake?.clear();
    // At most setTimeout's range (Node would fire a longer delay after 1 ms, in a loop): a wake that
    // comes early finds the key still paused, or no token yet, and waits again for what is left.
    const delay = Math.min(maxTimeoutMs, Math.max(0, at - this.#options.clock()));
    entry.wake = startTimer(this.#options.timers, delay, () => {
      entry.wake = undefined;
      this.#consider(entry);
      this.#dispatch();
    });
  }

  /** Hands free global slots round-robin to the keys in the ring. */
  #dispatch(): void {
    const ring = this.#ring;
    const { globalConcurrency, concurrency, clock } = this.#options;
    while (this.#active < globalConcurrency && ring.size > 0) {
      const entry = ring.values().next().value as HostEntry;
      ring.delete(entry);
      const waiter = entry.queue.head;
      if (waiter === undefined || entry.active >= concurrency) continue;
      if (entry.pausedUntil !== 0 || entry.bucket !== undefined) {
        const now = clock();
        if (now < entry.pausedUntil) {
          this.#wakeAt(entry, entry.pausedUntil);
          continue;
        }
        if (entry.bucket !== undefined) {
          const wait = entry.bucket.take(now);
          if (wait > 0) {
            this.#wakeAt(entry, now + wait);
            continue;
          }
        }
      }
      waiter.detach();
      entry.queue.remove(waiter);
      this.#queued -= 1;
      entry.active += 1;
      this.#active += 1;
      waiter.resolve();
      if (entry.queue.size === 0) {
        entry.expiry?.clear();
        entry.expiry = undefined;
      } else if (entry.active < concurrency) {
        ring.add(entry);
      }
    }
  }
}
