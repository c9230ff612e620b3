import {
  ConstantBackoff,
  ExponentialBackoff,
  type IBackoffFactory,
  type IHalfOpenAfterBackoffContext,
  noJitterGenerator,
} from 'cockatiel';
import { CircuitBreakerOptionsError } from './errors.ts';
import type { OnRejected, OnStateChange } from './events.ts';

/** The key under `options.context` where a request overrides the breaker for that call. */
export const contextKey = '@ky-resilience/circuit-breaker';

/**
 * When a breaker opens (the "trip" policy).
 *
 * - `consecutive`: after `failures` failures in a row (cockatiel's `ConsecutiveBreaker`). Works
 *   the same at 1 call a minute and at 1 000 a second: the default.
 * - `count`: when more than `threshold` of the last `size` calls failed, once at least
 *   `minimumCalls` calls were seen (cockatiel's `CountBreaker`). No time involved: the last
 *   `size` calls may span hours on a quiet host.
 * - `window`: when more than `threshold` of the calls of the last `windowMs` failed, once at least
 *   `minimumCalls` calls were seen in that window (this package's `WindowBreaker`, on the
 *   injected clock; old buckets age out even while the host is idle).
 *
 * Slow calls count as failures in every policy when `slowCallMs` is set: a `window` or `count`
 * policy with `slowCallMs` is a slow-call-ratio breaker.
 */
export type BreakerPolicy =
  | {
      readonly kind: 'consecutive';
      /**
       * Failures in a row that open the circuit. Any success resets the count.
       * @default 5
       * @example { kind: 'consecutive', failures: 3 }
       */
      readonly failures?: number;
    }
  | {
      readonly kind: 'count';
      /**
       * Opens when more than this fraction of the last `size` calls failed. In (0, 1).
       * @default 0.5
       * @example { kind: 'count', threshold: 0.2 }
       */
      readonly threshold?: number;
      /**
       * How many of the latest calls are looked at.
       * @default 20
       * @example { kind: 'count', size: 100 }
       */
      readonly size?: number;
      /**
       * No verdict before this many calls were seen. From 1 to `size`.
       * @default 10 (or `size` when it is smaller)
       * @example { kind: 'count', minimumCalls: 5 }
       */
      readonly minimumCalls?: number;
    }
  | {
      readonly kind: 'window';
      /**
       * Opens when more than this fraction of the window's calls failed. In (0, 1).
       * @default 0.5
       * @example { kind: 'window', threshold: 0.25 }
       */
      readonly threshold?: number;
      /**
       * The window's length in milliseconds.
       * @default 60_000
       * @example { kind: 'window', windowMs: 30_000 }
       */
      readonly windowMs?: number;
      /**
       * No verdict before this many calls were seen in the window. At least 1.
       * @default 5
       * @example { kind: 'window', minimumCalls: 20 }
       */
      readonly minimumCalls?: number;
      /**
       * How many buckets the window is cut into: its resolution (a bucket leaves the window as a
       * whole). From 1 to 1 000.
       * @default 10
       * @example { kind: 'window', buckets: 30 }
       */
      readonly buckets?: number;
    };

/** What one call produced, as `isFailure` sees it. A caller's own abort never gets here. */
export type CallOutcome =
  | {
      readonly type: 'response';
      /** The response (its head: the body has not been read). */
      readonly response: Response;
      /** The breaker's key. */
      readonly host: string;
      /** The request, when the fetch was given one (ky always gives one). */
      readonly request: Request | undefined;
      /** Clock milliseconds from the call to the response head. */
      readonly durationMs: number;
    }
  | {
      readonly type: 'error';
      /** What the fetch rejected with. */
      readonly error: unknown;
      /** The breaker's key. */
      readonly host: string;
      /** The request, when the fetch was given one. */
      readonly request: Request | undefined;
      /** Clock milliseconds from the call to the rejection. */
      readonly durationMs: number;
    };

/** The options of {@link circuitBreakerPlugin}. */
export type CircuitBreakerOptions = {
  /**
   * When a closed circuit opens. See {@link BreakerPolicy}.
   * @default { kind: 'consecutive', failures: 5 }
   * @example { policy: { kind: 'window', threshold: 0.5, windowMs: 30_000, minimumCalls: 10 } }
   */
  policy?: BreakerPolicy;
  /**
   * How long the circuit stays open before probes are let through: milliseconds, or a cockatiel
   * backoff factory (`ExponentialBackoff`, `IterableBackoff`...). A backoff's first duration is
   * used when a closed circuit opens; each failed probe re-opens it for the backoff's next
   * duration; a successful half-open phase starts over from the first.
   * @default new ExponentialBackoff({ initialDelay: 5_000, maxDelay: 60_000, exponent: 2, generator: noJitterGenerator }): 5 s, 10 s, 20 s, 40 s, 60 s, 60 s...
   * @example { halfOpenAfter: new ExponentialBackoff({ initialDelay: 1_000, maxDelay: 30_000 }) }
   */
  halfOpenAfter?: number | IBackoffFactory<IHalfOpenAfterBackoffContext>;
  /**
   * Probes admitted in the half-open state. Every call beyond them is rejected at once with a
   * `CircuitOpenError` (state `half-open`), not queued. The circuit closes when all of them
   * succeeded; the first failure re-opens it. A probe aborted by its caller (or ending in an error
   * that is not a failure) decides nothing: its slot goes to the next caller.
   * @default 1
   * @example { halfOpenProbes: 3 }
   */
  halfOpenProbes?: number;
  /**
   * A response that takes this long (clock ms from the attempt's start) counts as a failure, though
   * the caller still gets it: to its body's end when the retry tier reads the body inside the attempt
   * (its `bufferBody`), else to its head. Above 0 (0 would make every call slow). `false`: speed does
   * not count.
   * @default false
   * @example { slowCallMs: 2_000 }
   */
  slowCallMs?: number | false;
  /**
   * Decides whether an outcome is a failure. Return `true` (failure), `false` (a response: a
   * success; an error: not counted at all) or `undefined` (use the default: {@link defaultIsFailure}).
   * A caller's own abort is never passed here and never counts. An exception thrown here is
   * rethrown from a microtask and the default classification applies.
   * @default defaultIsFailure: 5xx except 501, 429, network errors, and attempt, headers and connect timeouts
   * @example { isFailure: (o) => (o.type === 'response' && o.response.status === 404 ? true : undefined) }
   */
  isFailure?: (outcome: CallOutcome) => boolean | undefined;
  /**
   * The breaker key of a request: one breaker per key.
   * @default the request's origin (`'https://api.example:8443'`)
   * @example { key: (request) => new URL(request.url).hostname }
   */
  key?: (request: Request) => string;
  /**
   * The most breakers kept (least recently used first out). An evicted breaker forgets its state,
   * so size it above the number of hosts a process talks to. Isolated breakers are kept apart
   * and never evicted.
   * @default 1_000
   * @example { maxHosts: 10_000 }
   */
  maxHosts?: number;
  /**
   * A breaker unused for this long is dropped (clock ms). Keep it above the longest open period,
   * or an open breaker of an idle host comes back closed. Above 0 (0 would drop every breaker a
   * millisecond after its last call). `false`: kept until evicted.
   * @default 600_000 (10 minutes)
   * @example { idleTtlMs: 3_600_000 }
   */
  idleTtlMs?: number | false;
  /**
   * The clock, in milliseconds. Open periods, slow calls, `window` buckets and idle expiry run on
   * it. Snapshots carry its times: keep the default (epoch milliseconds) to restore a snapshot in
   * another process.
   * @default Date.now, looked up on each call
   * @example { clock: () => fakeNow }
   */
  clock?: () => number;
  /**
   * Called on every state change of a breaker (not for breakers already evicted).
   * @example { onStateChange: ({ host, from, to, reason }) => log.warn({ host, from, to, reason }) }
   */
  onStateChange?: OnStateChange;
  /**
   * Called when a call is turned away with a `CircuitOpenError`.
   * @example { onRejected: ({ host, state }) => metrics.increment('breaker.rejected', { host, state }) }
   */
  onRejected?: OnRejected;
};

/** A per-call override, under `context['@ky-resilience/circuit-breaker']`. */
export type CircuitBreakerRequestOptions = {
  /**
   * Skip the breaker for this call: it is neither counted nor turned away.
   * @default false
   * @example { context: { '@ky-resilience/circuit-breaker': { bypass: true } } }
   */
  bypass?: boolean;
  /**
   * The breaker key for this call instead of `key(request)`.
   * @example { context: { '@ky-resilience/circuit-breaker': { key: 'payments' } } }
   */
  key?: string;
};

/** A trip policy with every default filled in. */
export type ResolvedPolicy =
  | { readonly kind: 'consecutive'; readonly failures: number }
  | {
      readonly kind: 'count';
      readonly threshold: number;
      readonly size: number;
      readonly minimumCalls: number;
    }
  | {
      readonly kind: 'window';
      readonly threshold: number;
      readonly windowMs: number;
      readonly minimumCalls: number;
      readonly buckets: number;
    };

/** The options after defaults and validation. */
export type ResolvedOptions = {
  readonly policy: ResolvedPolicy;
  readonly halfOpenAfter: IBackoffFactory<IHalfOpenAfterBackoffContext>;
  readonly halfOpenProbes: number;
  readonly slowCallMs: number | false;
  readonly isFailure: ((outcome: CallOutcome) => boolean | undefined) | undefined;
  readonly key: ((request: Request) => string) | undefined;
  readonly maxHosts: number;
  readonly idleTtlMs: number | false;
  readonly clock: () => number;
  readonly onStateChange: OnStateChange | undefined;
  readonly onRejected: OnRejected | undefined;
};

/** The default trip policy. */
export const defaultPolicy: ResolvedPolicy = Object.freeze({ kind: 'consecutive', failures: 5 });

/** The default open periods: 5 s, doubling on each failed probe, at most 60 s, no jitter. */
export function defaultHalfOpenAfter(): IBackoffFactory<IHalfOpenAfterBackoffContext> {
  return new ExponentialBackoff({
    initialDelay: 5_000,
    maxDelay: 60_000,
    exponent: 2,
    generator: noJitterGenerator,
  });
}

/** The largest duration accepted: 2^31−1 ms (about 24.8 days). */
export const maxDurationMs = 2_147_483_647;

const optionKeys: readonly string[] = [
  'policy',
  'halfOpenAfter',
  'halfOpenProbes',
  'slowCallMs',
  'isFailure',
  'key',
  'maxHosts',
  'idleTtlMs',
  'clock',
  'onStateChange',
  'onRejected',
];

const policyKeys: Readonly<Record<ResolvedPolicy['kind'], readonly string[]>> = {
  consecutive: ['kind', 'failures'],
  count: ['kind', 'threshold', 'size', 'minimumCalls'],
  window: ['kind', 'threshold', 'windowMs', 'minimumCalls', 'buckets'],
};

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null) return false;
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

function checkKeys(prefix: string, value: Record<string, unknown>, known: readonly string[]): void {
  for (const key of Object.keys(value)) {
    if (!known.includes(key)) {
      throw new CircuitBreakerOptionsError(
        `${prefix}${key}`,
        value[key],
        `unknown option (known: ${known.join(', ')})`,
      );
    }
  }
}

function integer(name: string, value: unknown, fallback: number, min: number, max: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min || value > max) {
    throw new CircuitBreakerOptionsError(name, value, `expected an integer from ${min} to ${max}`);
  }
  return value;
}

function duration(
  name: string,
  value: unknown,
  fallback: number | false,
  allowFalse: boolean,
): number | false {
  if (value === undefined) return fallback;
  if (value === false && allowFalse) return false;
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0 || value > maxDurationMs) {
    throw new CircuitBreakerOptionsError(
      name,
      value,
      `expected ${allowFalse ? 'false or ' : ''}a finite number of milliseconds from 0 to ${maxDurationMs}`,
    );
  }
  return value;
}

/** Refuses 0 for a duration where it would silently defeat the breaker (`false` is the way to turn it off). */
function aboveZero(name: string, value: number | false, why: string): number | false {
  if (value === 0) {
    throw new CircuitBreakerOptionsError(name, value, `expected false or a number above 0: with 0, ${why}`);
  }
  return value;
}

function ratio(name: string, value: unknown, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0 || value >= 1) {
    throw new CircuitBreakerOptionsError(name, value, 'expected a number between 0 and 1 (both excluded)');
  }
  return value;
}

function optionalFunction<T>(name: string, value: unknown): T | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'function') {
    throw new CircuitBreakerOptionsError(name, value, 'expected a function');
  }
  return value as T;
}

/** Validates a trip policy and fills in its defaults. */
export function resolvePolicy(value: unknown): ResolvedPolicy {
  if (value === undefined) return defaultPolicy;
  if (!isPlainObject(value)) {
    throw new CircuitBreakerOptionsError(
      'policy',
      value,
      "expected an object with kind 'consecutive', 'count' or 'window'",
    );
  }
  const kind = value.kind;
  if (kind !== 'consecutive' && kind !== 'count' && kind !== 'window') {
    throw new CircuitBreakerOptionsError('policy.kind', kind, "expected 'consecutive', 'count' or 'window'");
  }
  checkKeys('policy.', value, policyKeys[kind]);
  switch (kind) {
    case 'consecutive':
      return Object.freeze({ kind, failures: integer('policy.failures', value.failures, 5, 1, 1_000_000) });
    case 'count': {
      const size = integer('policy.size', value.size, 20, 1, 1_000_000);
      return Object.freeze({
        kind,
        threshold: ratio('policy.threshold', value.threshold, 0.5),
        size,
        minimumCalls: integer('policy.minimumCalls', value.minimumCalls, Math.min(10, size), 1, size),
      });
    }
    case 'window': {
      const windowMs = duration('policy.windowMs', value.windowMs, 60_000, false) as number;
      if (windowMs < 1) {
        throw new CircuitBreakerOptionsError('policy.windowMs', windowMs, 'expected at least 1 ms');
      }
      return Object.freeze({
        kind,
        threshold: ratio('policy.threshold', value.threshold, 0.5),
        windowMs,
        minimumCalls: integer('policy.minimumCalls', value.minimumCalls, 5, 1, 1_000_000),
        buckets: integer('policy.buckets', value.buckets, 10, 1, 1_000),
      });
    }
  }
}

function resolveHalfOpenAfter(value: unknown): IBackoffFactory<IHalfOpenAfterBackoffContext> {
  if (value === undefined) return defaultHalfOpenAfter();
  if (typeof value === 'number') {
    return new ConstantBackoff(duration('halfOpenAfter', value, 0, false) as number);
  }
  if (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as { next?: unknown }).next === 'function'
  ) {
    const factory = value as IBackoffFactory<IHalfOpenAfterBackoffContext>;
    // The first open period, asked once now (cockatiel's backoffs are immutable: next() returns a new one):
    // a backoff without one (an empty IterableBackoff) would leave an open circuit closed to probes for good.
    let first: unknown;
    try {
      first = factory.next({
        attempt: 1,
        result: { error: new Error('halfOpenAfter check') },
        signal: new AbortController().signal,
      }).duration;
    } catch (error) {
      throw new CircuitBreakerOptionsError('halfOpenAfter', value, `its next() threw: ${String(error)}`);
    }
    if (typeof first !== 'number' || !Number.isFinite(first) || first < 0) {
      throw new CircuitBreakerOptionsError(
        'halfOpenAfter',
        value,
        `expected a backoff whose first duration is a finite number of ms ≥ 0, got ${String(first)}`,
      );
    }
    return factory;
  }
  throw new CircuitBreakerOptionsError(
    'halfOpenAfter',
    value,
    'expected milliseconds or a cockatiel backoff factory (an object with a next() method)',
  );
}

/** Validates the options of {@link circuitBreakerPlugin} and fills in the defaults. */
export function resolveOptions(options: unknown): ResolvedOptions {
  if (options !== undefined && !isPlainObject(options)) {
    throw new CircuitBreakerOptionsError('options', options, 'expected an object');
  }
  const given: Record<string, unknown> = options ?? {};
  checkKeys('', given, optionKeys);
  const clock = optionalFunction<() => number>('clock', given.clock);
  return {
    policy: resolvePolicy(given.policy),
    halfOpenAfter: resolveHalfOpenAfter(given.halfOpenAfter),
    halfOpenProbes: integer('halfOpenProbes', given.halfOpenProbes, 1, 1, 10_000),
    slowCallMs: aboveZero(
      'slowCallMs',
      duration('slowCallMs', given.slowCallMs, false, true),
      'every call would count as slow; false turns slow calls off',
    ),
    isFailure: optionalFunction('isFailure', given.isFailure),
    key: optionalFunction('key', given.key),
    maxHosts: integer('maxHosts', given.maxHosts, 1_000, 1, 10_000_000),
    idleTtlMs: aboveZero(
      'idleTtlMs',
      duration('idleTtlMs', given.idleTtlMs, 600_000, true),
      'a breaker would be dropped a millisecond after its last call, open or not; false keeps breakers until evicted',
    ),
    clock: clock ?? (() => Date.now()),
    onStateChange: optionalFunction('onStateChange', given.onStateChange),
    onRejected: optionalFunction('onRejected', given.onRejected),
  };
}

/** Validates a request's override (`context['@ky-resilience/circuit-breaker']`). */
export function resolveRequestOptions(value: unknown): CircuitBreakerRequestOptions | undefined {
  if (value === undefined) return undefined;
  const prefix = `context['${contextKey}']`;
  if (!isPlainObject(value)) {
    throw new CircuitBreakerOptionsError(prefix, value, 'expected an object');
  }
  checkKeys(`${prefix}.`, value, ['bypass', 'key']);
  const result: CircuitBreakerRequestOptions = {};
  if (value.bypass !== undefined) {
    if (typeof value.bypass !== 'boolean') {
      throw new CircuitBreakerOptionsError(`${prefix}.bypass`, value.bypass, 'expected a boolean');
    }
    result.bypass = value.bypass;
  }
  if (value.key !== undefined) {
    if (typeof value.key !== 'string' || value.key === '') {
      throw new CircuitBreakerOptionsError(`${prefix}.key`, value.key, 'expected a non-empty string');
    }
    result.key = value.key;
  }
  return result;
}
