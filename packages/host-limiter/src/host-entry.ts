import type { OneShot } from './timer.ts';
import type { TokenBucket } from './token-bucket.ts';
import { WaiterQueue } from './waiter.ts';

/** The limiter's state for one key. */
export class HostEntry {
  readonly key: string;
  /** Requests holding a slot of this key. */
  active = 0;
  readonly queue: WaiterQueue = new WaiterQueue();
  /** Requests rejected with `QueueFullError` or `QueueTimeoutError`. */
  rejectedFull = 0;
  /** Of `rejectedFull`: rejected because the global queue cap (`maxQueueTotal`) was reached. */
  rejectedFullGlobal = 0;
  rejectedTimeout = 0;
  /** The key is paused (after a 429/503 with Retry-After or a rate-limit reset) until this time on the limiter's clock; 0: not paused. */
  pausedUntil = 0;
  readonly bucket: TokenBucket | undefined;
  /** The timer that wakes the queue at the end of a pause or when the next token is due. */
  wake: OneShot | undefined = undefined;
  /** The queue-timeout timer, armed for the earliest deadline among the waiters, and that deadline. */
  expiry: OneShot | undefined = undefined;
  expiryAt = 0;
  /** Evicted from the LRU while busy: kept aside by the registry until idle. */
  detached = false;

  constructor(key: string, bucket: TokenBucket | undefined) {
    this.key = key;
    this.bucket = bucket;
  }

  /** Whether requests of this key are in flight or waiting. */
  get busy(): boolean {
    return this.active > 0 || this.queue.size > 0;
  }
}
