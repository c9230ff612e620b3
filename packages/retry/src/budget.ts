import type { TimeoutPhase } from '@ky-resilience/timeout';
import type { Failure } from './classify.ts';
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
   * Tokens each successful attempt adds to its host's bucket (gRPC's `tokenRatio`); each failed
   * attempt takes one. Retries keep going while fewer than `ratio / (1 + ratio)` of the attempts
   * fail (0.5: a third), and stop when more do. A success is any response that is not a retryable
   * failure (a 404 is a success here: the host answered).
   * @default 0.5
   * @example { ratio: 0.25 }
   */
  ratio?: number;
  /**
   * Tokens the clock adds per second regardless of traffic: the retry floor of hosts with little
   * traffic. A host whose attempts fail less often than this per second, on average, keeps its
   * retries (beyond a burst of `capacity / 2` failures); and a host that got no traffic since its
   * outage is trusted again after `capacity / 2 / minRetriesPerSecond` seconds (10 s with the
   * defaults) without needing successes first. Busy hosts are governed by `ratio`.
   * @default 1
   * @example { minRetriesPerSecond: 0 }
   */
  minRetriesPerSecond?: number;
  /**
   * The most tokens a bucket holds, and what a new host's bucket starts with (gRPC's `maxTokens`).
   * Retries are allowed only while a host's bucket holds more than `capacity / 2` tokens, so a
   * sustained outage gets fewer than `capacity / 2` retries before they stop.
   * @default 20
   * @example { capacity: 10 }
   */
  capacity?: number;
  /**
   * Hosts tracked at once. Only hosts whose bucket is not full are tracked (a full bucket is the
   * same as a host never seen); the least recently failed host's bucket is dropped beyond this (it
   * starts full again when the host comes back).
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

/** A bucket's state, for messages and monitoring. */
export type RetryBudgetState = {
  /** Tokens in the host's bucket now. */
  readonly tokens: number;
  /** Retries are allowed while `tokens` is above this (`capacity / 2`). */
  readonly threshold: number;
  /** The most tokens a bucket holds. */
  readonly capacity: number;
  /** True when a retry to the host would be allowed now. */
  readonly retryAllowed: boolean;
};

/**
 * A per-host retry budget, shared by every call of one plugin instance (or of several, when passed
 * in). The retry plugin records the outcome of every attempt and asks before every retry.
 */
export type RetryBudget = {
  /** The options in force, defaults applied. */
  readonly options: Readonly<Required<Omit<RetryBudgetOptions, 'clock'>>>;
  /** Records an attempt to `host` that got a response that is not a retryable failure: adds `ratio` tokens. */
  recordSuccess(host: string): void;
  /** Records an attempt to `host` that failed in a retryable way (a 503, a reset, a timeout...): takes one token. */
  recordFailure(host: string): void;
  /** True while `host`'s bucket holds more than `capacity / 2` tokens. Takes nothing: failures pay. */
  allowsRetry(host: string): boolean;
  /** The tokens in `host`'s bucket now (`capacity` for a host not seen yet). */
  tokens(host: string): number;
  /** `host`'s bucket now: tokens, threshold, capacity, and whether a retry would be allowed. */
  state(host: string): RetryBudgetState;
  /** Forgets every host (every bucket is full again). */
  clear(): void;
};

/** Tokens are kept as integers in millionths, so that `0.5 × 2` makes exactly one token. */
type Bucket = { micros: number; updatedAt: number };

const SCALE = 1_000_000;

const BUDGET_KEYS: readonly string[] = ['ratio', 'minRetriesPerSecond', 'capacity', 'maxHosts', 'clock'];

/** The defaults of {@link RetryBudgetOptions}. */
export const defaultRetryBudgetOptions: Readonly<Required<Omit<RetryBudgetOptions, 'clock'>>> = Object.freeze(
  {
    ratio: 0.5,
    minRetriesPerSecond: 1,
    capacity: 20,
    maxHosts: 1000,
  },
);

/**
 * Creates a per-host retry budget: an adaptive token bucket per host, gRPC's retry throttling
 * (proposal A6: `maxTokens`, `tokenRatio`) with a slow time-based refill in the manner of Finagle's
 * `minRetriesPerSec`.
 *
 * - A host's bucket starts full (`capacity` tokens) and holds between 0 and `capacity`.
 * - Each failed attempt to the host (a retryable status, network error or timeout) takes one
 *   token; each other response adds `ratio`; the clock adds `minRetriesPerSecond` per second.
 * - A retry is allowed only while the bucket holds more than `capacity / 2` tokens. First attempts
 *   are never refused (that is the circuit breaker's job), so a recovering host is still seen and
 *   its successes refill the bucket.
 *
 * In a sustained outage every attempt fails: retries stop after fewer than `capacity / 2`
 * failures, whatever the traffic, and stay stopped while the host fails faster than the clock
 * refills. In a brownout where a fraction `p` of the attempts fail, the bucket gains
 * `(1 − p) × ratio − p` per attempt: with the default `ratio` 0.5 that is positive below a third
 * of failures, so nearly every failure is retried.
 *
 * @throws {RetryOptionsError} on an unknown key or a bad value (`prefix` names the option path).
 * @example
 * // One budget shared by two clients of the same hosts (one retry plugin per ky chain).
 * const budget = createRetryBudget({ ratio: 0.25, capacity: 10 });
 * const api = ky.extend(retryPlugin({ budget }));
 * const reports = ky.extend(retryPlugin({ budget, limit: 1 }));
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
  /** Buckets that are not full, least recently failed first. */
  const buckets = new Map<string, Bucket>();
  const capacityMicros = Math.round(capacity * SCALE);
  const ratioMicros = Math.round(ratio * SCALE);
  const refillMicrosPerMs = (minRetriesPerSecond * SCALE) / 1000;

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

  /** Tokens (micros) and refill time of `bucket` at `at`; only whole micros are taken from the elapsed time. */
  const refilled = (bucket: Bucket, at: number): Bucket => {
    const elapsed = at - bucket.updatedAt;
    if (elapsed <= 0) {
      // No time passed, or the clock went back: nothing to add, and no bonus when it comes forward.
      return bucket;
    }
    if (refillMicrosPerMs === 0 || bucket.micros >= capacityMicros) {
      return { micros: bucket.micros, updatedAt: at };
    }
    const added = Math.floor(elapsed * refillMicrosPerMs);
    if (bucket.micros + added >= capacityMicros) {
      return { micros: capacityMicros, updatedAt: at };
    }
    // Keep the fraction of a micro not yet added for the next touch, so frequent touches lose nothing.
    return { micros: bucket.micros + added, updatedAt: bucket.updatedAt + added / refillMicrosPerMs };
  };

  /**
   * `host`'s bucket brought up to now, or undefined when it is full (a full bucket is not kept).
   * The clock is read only for a host with a deficit: a healthy host costs one map lookup.
   */
  const live = (host: string): Bucket | undefined => {
    const bucket = buckets.get(host);
    if (bucket === undefined) {
      return undefined;
    }
    const next = refilled(bucket, now());
    if (next.micros >= capacityMicros) {
      buckets.delete(host);
      return undefined;
    }
    bucket.micros = next.micros;
    bucket.updatedAt = next.updatedAt;
    return bucket;
  };

  const microsOf = (host: string): number => {
    const bucket = buckets.get(host);
    return bucket === undefined ? capacityMicros : refilled(bucket, now()).micros;
  };

  const allows = (micros: number): boolean => micros * 2 > capacityMicros;

  const budget: RetryBudget = {
    options: Object.freeze({ ratio, minRetriesPerSecond, capacity, maxHosts }),
    recordSuccess(host: string): void {
      const bucket = live(host);
      if (bucket === undefined) {
        return;
      }
      bucket.micros += ratioMicros;
      if (bucket.micros >= capacityMicros) {
        buckets.delete(host);
      }
    },
    recordFailure(host: string): void {
      let bucket = live(host);
      if (bucket === undefined) {
        bucket = { micros: capacityMicros, updatedAt: now() };
        if (buckets.size >= maxHosts) {
          const oldest = buckets.keys().next();
          if (oldest.done !== true) {
            buckets.delete(oldest.value);
          }
        }
      } else {
        // Re-insert: the map's order is the eviction order (least recently failed first).
        buckets.delete(host);
      }
      bucket.micros = Math.max(0, bucket.micros - SCALE);
      buckets.set(host, bucket);
    },
    allowsRetry(host: string): boolean {
      const bucket = live(host);
      return bucket === undefined || allows(bucket.micros);
    },
    tokens(host: string): number {
      return microsOf(host) / SCALE;
    },
    state(host: string): RetryBudgetState {
      const micros = microsOf(host);
      return { tokens: micros / SCALE, threshold: capacity / 2, capacity, retryAllowed: allows(micros) };
    },
    clear(): void {
      buckets.clear();
    },
  };
  idleness.set(budget, () => buckets.size === 0);
  return budget;
}

/** How to tell that a budget made by {@link createRetryBudget} tracks no host (every bucket is full). */
const idleness = new WeakMap<RetryBudget, () => boolean>();

/**
 * True when `budget` (made by {@link createRetryBudget}) tracks no host: recording a success then
 * changes nothing, so the caller need not work out the host. False for any other budget.
 */
export function isIdle(budget: RetryBudget): boolean {
  return idleness.get(budget)?.() === true;
}

/** True for an object made by {@link createRetryBudget} (duck-typed). */
export function isRetryBudget(value: unknown): value is RetryBudget {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as RetryBudget).allowsRetry === 'function' &&
    typeof (value as RetryBudget).recordFailure === 'function' &&
    typeof (value as RetryBudget).recordSuccess === 'function' &&
    typeof (value as RetryBudget).state === 'function'
  );
}

/** What decides whether an attempt's failure counts against the budget: the retry settings in force. */
export type BudgetClassification = {
  readonly statusCodes: readonly number[];
  readonly errorCodes: readonly string[];
  readonly timeoutPhases: readonly TimeoutPhase[];
};

/**
 * True when a failed attempt costs a token: a failure the plugin retries by kind (a status in
 * `statusCodes`, a code in `errorCodes`, a phase in `timeoutPhases`), whether or not this request
 * was safe to retry. Everything else (a caller's abort, a total timeout, an unknown name, an open
 * breaker or a full queue, a bug) says nothing about the host's health and costs nothing, as gRPC
 * counts only retryable statuses against its throttle.
 */
export function isBudgetFailure(failure: Failure, classification: BudgetClassification): boolean {
  switch (failure.kind) {
    case 'status':
      return classification.statusCodes.includes(failure.status);
    case 'network':
      return classification.errorCodes.includes(failure.code);
    case 'timeout':
      return failure.phase !== 'total' && classification.timeoutPhases.includes(failure.phase);
    default:
      return false;
  }
}
