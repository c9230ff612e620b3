import { RetryOptionsError } from './errors.ts';
import {
  assertFunction,
  assertInteger,
  assertKnownKeys,
  assertNumberInRange,
  assertPlainObject,
} from './validate.ts';

/** Options of {@link createRetryBudget}. */
export type RetryBudgetOptions = {
  /**
   * Tokens each new call (its first attempt) adds to its host's bucket. A retry costs one token, so
   * in a sustained outage retries add at most this fraction of the first attempts (0.2: at most
   * 20 % more requests than the callers make).
   * @default 0.2
   * @example { ratio: 0.1 }
   */
  ratio?: number;
  /**
   * Tokens added per second of the clock regardless of traffic: a floor so that a host with little
   * traffic can still retry now and then.
   * @default 1
   * @example { minRetriesPerSecond: 0 }
   */
  minRetriesPerSecond?: number;
  /**
   * The most tokens a bucket holds, and what a new host's bucket starts with: the largest burst of
   * retries a host can see before the ratio and the floor take over.
   * @default 10
   * @example { capacity: 20 }
   */
  capacity?: number;
  /**
   * Hosts tracked at once; the least recently used host's bucket is dropped beyond this (it starts
   * full again when the host comes back).
   * @default 1000
   * @example { maxHosts: 100 }
   */
  maxHosts?: number;
  /**
   * Monotonic clock in milliseconds, read when a bucket is touched (never at import).
   * @default performance.now
   * @example { clock: () => fakeNow }
   */
  clock?: () => number;
};

/** A per-host retry budget, shared by every call of one plugin instance (or of several, when passed in). */
export type RetryBudget = {
  /** The options in force, defaults applied. */
  readonly options: Readonly<Required<Omit<RetryBudgetOptions, 'clock'>>>;
  /** Records a new call to `host` (its first attempt): deposits `ratio` tokens. */
  recordCall(host: string): void;
  /** Takes one token for a retry to `host`; false (and nothing taken) when fewer than one is left. */
  tryAcquire(host: string): boolean;
  /** The tokens in `host`'s bucket now (`capacity` for a host not seen yet). */
  tokens(host: string): number;
  /** Forgets every host. */
  clear(): void;
};

/** Tokens are kept as integers in millionths, so that `0.2 × 5` makes exactly one retry. */
type Bucket = { micros: number; updatedAt: number };

const SCALE = 1_000_000;

const BUDGET_KEYS: readonly string[] = ['ratio', 'minRetriesPerSecond', 'capacity', 'maxHosts', 'clock'];

/** The defaults of {@link RetryBudgetOptions}. */
export const defaultRetryBudgetOptions: Readonly<Required<Omit<RetryBudgetOptions, 'clock'>>> = Object.freeze(
  {
    ratio: 0.2,
    minRetriesPerSecond: 1,
    capacity: 10,
    maxHosts: 1000,
  },
);

/**
 * Creates a per-host retry budget: a token bucket per host, in the style of Finagle's `RetryBudget`
 * and Envoy's retry budget (retries limited to a fraction of the requests, plus a small floor).
 *
 * - A host's bucket starts full (`capacity` tokens).
 * - Each new call to the host deposits `ratio` tokens; the clock deposits `minRetriesPerSecond`
 *   per second. The bucket never holds more than `capacity`.
 * - Each retry takes one token. With less than one token left, the retry is refused.
 *
 * Over a long outage the retries therefore add at most `ratio` × calls + `minRetriesPerSecond` ×
 * seconds on top of the calls themselves, after an initial burst of at most `capacity`.
 *
 * @throws {RetryOptionsError} on an unknown key or a bad value (`prefix` names the option path).
 * @example
 * const budget = createRetryBudget({ ratio: 0.1, capacity: 20 });
 * const api = ky.extend(retryPlugin({ budget })).extend(retryPlugin({ budget, limit: 1 }));
 */
export function createRetryBudget(options?: RetryBudgetOptions, prefix: string = 'budget'): RetryBudget {
  const given = options ?? {};
  assertPlainObject(prefix, given);
  assertKnownKeys(prefix, given, BUDGET_KEYS);
  const ratio = given.ratio ?? defaultRetryBudgetOptions.ratio;
  const minRetriesPerSecond = given.minRetriesPerSecond ?? defaultRetryBudgetOptions.minRetriesPerSecond;
  const capacity = given.capacity ?? defaultRetryBudgetOptions.capacity;
  const maxHosts = given.maxHosts ?? defaultRetryBudgetOptions.maxHosts;
  assertNumberInRange(`${prefix}.ratio`, ratio, 0, 1_000);
  assertNumberInRange(`${prefix}.minRetriesPerSecond`, minRetriesPerSecond, 0, 1_000_000);
  assertNumberInRange(`${prefix}.capacity`, capacity, 1, 1_000_000);
  assertInteger(`${prefix}.maxHosts`, maxHosts, 1, 10_000_000);
  if (given.clock !== undefined) {
    assertFunction(`${prefix}.clock`, given.clock);
  }
  const clock = given.clock ?? (() => performance.now());
  const buckets = new Map<string, Bucket>();
  const capacityMicros = Math.round(capacity * SCALE);
  const ratioMicros = Math.round(ratio * SCALE);
  const refill = (bucket: Bucket, at: number): number => {
    const elapsed = Math.max(0, at - bucket.updatedAt);
    return Math.min(
      capacityMicros,
      bucket.micros + Math.floor((elapsed / 1000) * minRetriesPerSecond * SCALE),
    );
  };

  const now = (): number => {
    const value = clock();
    if (typeof value !== 'number' || !Number.isFinite(value)) {
      throw new RetryOptionsError(
        `${prefix}.clock`,
        value,
        'clock() must return a finite number of milliseconds',
      );
    }
    return value;
  };

  const bucketOf = (host: string): Bucket => {
    const at = now();
    let bucket = buckets.get(host);
    if (bucket === undefined) {
      bucket = { micros: capacityMicros, updatedAt: at };
      if (buckets.size >= maxHosts) {
        const oldest = buckets.keys().next();
        if (oldest.done !== true) {
          buckets.delete(oldest.value);
        }
      }
    } else {
      // Refill by the floor rate for the time since the last touch; re-insert to keep LRU order.
      bucket.micros = refill(bucket, at);
      bucket.updatedAt = at;
      buckets.delete(host);
    }
    buckets.set(host, bucket);
    return bucket;
  };

  return {
    options: Object.freeze({ ratio, minRetriesPerSecond, capacity, maxHosts }),
    recordCall(host: string): void {
      const bucket = bucketOf(host);
      bucket.micros = Math.min(capacityMicros, bucket.micros + ratioMicros);
    },
    tryAcquire(host: string): boolean {
      const bucket = bucketOf(host);
      if (bucket.micros < SCALE) {
        return false;
      }
      bucket.micros -= SCALE;
      return true;
    },
    tokens(host: string): number {
      const bucket = buckets.get(host);
      if (bucket === undefined) {
        return capacity;
      }
      return refill(bucket, now()) / SCALE;
    },
    clear(): void {
      buckets.clear();
    },
  };
}

/** True for an object made by {@link createRetryBudget} (duck-typed). */
export function isRetryBudget(value: unknown): value is RetryBudget {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as RetryBudget).tryAcquire === 'function' &&
    typeof (value as RetryBudget).recordCall === 'function' &&
    typeof (value as RetryBudget).tokens === 'function'
  );
}
