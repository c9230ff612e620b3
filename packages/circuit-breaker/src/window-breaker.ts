import { CircuitState, type IBreaker } from 'cockatiel';

/** Settings of a {@link WindowBreaker}. */
export type WindowBreakerSettings = {
  /** Opens when more than this fraction of the calls in the window failed, in (0, 1). */
  readonly threshold: number;
  /** The window's length in milliseconds. */
  readonly windowMs: number;
  /** No verdict before this many calls were recorded in the window. */
  readonly minimumCalls: number;
  /** How many buckets the window is cut into (its resolution). */
  readonly buckets: number;
  /** The clock the window runs on. */
  readonly clock: () => number;
};

/** One bucket: the absolute bucket number (time / bucket length) and its counts. */
type Bucket = { n: number; successes: number; failures: number };

/** The serializable state of a {@link WindowBreaker}. */
export type WindowBreakerState = { buckets: Bucket[] };

function isBucket(value: unknown): value is Bucket {
  if (typeof value !== 'object' || value === null) return false;
  const { n, successes, failures } = value as Record<string, unknown>;
  return (
    Number.isSafeInteger(n) &&
    Number.isSafeInteger(successes) &&
    (successes as number) >= 0 &&
    Number.isSafeInteger(failures) &&
    (failures as number) >= 0
  );
}

/**
 * A cockatiel breaker (`IBreaker`) on a time window: it opens when more than `threshold` of the
 * calls recorded over the last `windowMs` failed, once at least `minimumCalls` calls were recorded
 * in that window.
 *
 * It replaces cockatiel's `SamplingBreaker` for this job: that one asks for a minimum *rate*
 * (5 × duration_s / threshold calls by default: 750 for 20 % over 30 s, which a low-traffic host
 * never reaches), its buckets do not age out while the host is idle (a failure from an hour ago
 * still counts after a quiet hour), and it reads `Date.now()`. Here every bucket carries its
 * absolute number, so a bucket older than the window never counts, however long the host was
 * idle, and the clock is injected.
 */
export class WindowBreaker implements IBreaker {
  readonly #threshold: number;
  readonly #minimumCalls: number;
  readonly #bucketMs: number;
  readonly #clock: () => number;
  #buckets: Bucket[];

  constructor(settings: WindowBreakerSettings) {
    this.#threshold = settings.threshold;
    this.#minimumCalls = settings.minimumCalls;
    this.#bucketMs = settings.windowMs / settings.buckets;
    this.#clock = settings.clock;
    this.#buckets = Array.from({ length: settings.buckets }, () => ({ n: -1, successes: 0, failures: 0 }));
  }

  /** The buckets, for cockatiel's `toJSON()`. */
  get state(): WindowBreakerState {
    return { buckets: this.#buckets.map((bucket) => ({ ...bucket })) };
  }

  set state(value: unknown) {
    const buckets = (value as { buckets?: unknown } | null)?.buckets;
    if (!Array.isArray(buckets) || buckets.length !== this.#buckets.length || !buckets.every(isBucket)) {
      throw new TypeError(`expected ${this.#buckets.length} window buckets`);
    }
    this.#buckets = buckets.map((bucket: Bucket) => ({
      n: bucket.n,
      successes: bucket.successes,
      failures: bucket.failures,
    }));
  }

  /** Calls and failures recorded in the window that ends now. */
  counts(): { calls: number; failures: number } {
    const current = this.#bucketNumber();
    let calls = 0;
    let failures = 0;
    for (const bucket of this.#buckets) {
      if (bucket.n > current - this.#buckets.length && bucket.n <= current) {
        calls += bucket.successes + bucket.failures;
        failures += bucket.failures;
      }
    }
    return { calls, failures };
  }

  success(state: CircuitState): void {
    if (state === CircuitState.HalfOpen) {
      this.#reset();
    }
    this.#current().successes += 1;
  }

  failure(state: CircuitState): boolean {
    this.#current().failures += 1;
    if (state !== CircuitState.Closed) {
      return true;
    }
    const { calls, failures } = this.counts();
    return calls >= this.#minimumCalls && failures > this.#threshold * calls;
  }

  #bucketNumber(): number {
    return Math.floor(this.#clock() / this.#bucketMs);
  }

  #current(): Bucket {
    const n = this.#bucketNumber();
    const index = ((n % this.#buckets.length) + this.#buckets.length) % this.#buckets.length;
    let bucket = this.#buckets[index] as Bucket;
    if (bucket.n !== n) {
      bucket = { n, successes: 0, failures: 0 };
      this.#buckets[index] = bucket;
    }
    return bucket;
  }

  #reset(): void {
    for (const bucket of this.#buckets) {
      bucket.n = -1;
      bucket.successes = 0;
      bucket.failures = 0;
    }
  }
}
