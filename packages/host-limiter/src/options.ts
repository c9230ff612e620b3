import { HostLimiterOptionsError } from './errors.ts';

/** The key under `options.context` where a request overrides the limiter's per-request settings. */
export const contextKey = '@ky-resilience/host-limiter';

/** The largest delay a timer accepts: 2^31−1 ms. */
export const maxTimeoutMs = 2_147_483_647;

/**
 * `setTimeout`/`clearTimeout`-like functions the limiter schedules with (queue timeouts, the end
 * of a pause, the next rate-limit token). Handles that have an `unref()` method are unref'd.
 */
export type Timers = {
  setTimeout: (callback: () => void, ms: number) => unknown;
  clearTimeout: (handle: unknown) => void;
};

/** Options of {@link createHostLimiter} and {@link hostLimiterPlugin}. */
export type HostLimiterOptions = {
  /**
   * Requests of one key (by default one origin) in flight at once. A positive integer, or
   * `Infinity` for no per-key cap. At most `globalConcurrency`; when only `globalConcurrency` is
   * given, the default shrinks to at most one below it (`globalConcurrency − 1`, at least 1), so
   * that one host never holds every global slot. Keep it below `globalConcurrency`: that is what
   * stops one slow host from taking every global slot (see the fairness policy in the README).
   * @default 10
   * @example { concurrency: 5 }
   */
  concurrency?: number;
  /**
   * Requests in flight at once across every key. A positive integer, or `Infinity`.
   * @default 100
   * @example { globalConcurrency: 50 }
   */
  globalConcurrency?: number;
  /**
   * Requests of one key that may wait for a slot. One more is rejected at once with a
   * `QueueFullError`. `0` means no queue: a request that cannot start at once is rejected.
   * A non-negative integer, or `Infinity`.
   * @default 1_000
   * @example { maxQueue: 100 }
   */
  maxQueue?: number;
  /**
   * Requests that may wait across every key together. One more is rejected at once with a
   * `QueueFullError` whose `bound` is `'global'`, whatever its own key's queue holds. At least
   * `maxQueue` (a non-negative integer, or `Infinity`); when not given, `Math.max(10_000, maxQueue)`.
   * The default bounds the waiters (about 3 KB each with their `Request`) to about 30 MB even when
   * many keys fill their queues at once, which `maxHosts` × `maxQueue` alone does not.
   * @default Math.max(10_000, maxQueue)
   * @example { maxQueue: 100, maxQueueTotal: 2_000 }
   */
  maxQueueTotal?: number;
  /**
   * The longest a request waits in its key's queue, in ms, before it is rejected with a
   * `QueueTimeoutError`; `false` waits for ever (a caller's abort or ky's `totalTimeout` still
   * end the wait). Per request: `context['@ky-resilience/host-limiter'].queueTimeout`.
   * @default 10_000
   * @example { queueTimeout: 2_000 }
   */
  queueTimeout?: number | false;
  /**
   * What a request is limited by: a function of the request returning its key.
   * Per request: `context['@ky-resilience/host-limiter'].key`.
   * @default the request's origin (`new URL(request.url).origin`, e.g. `https://api.example.com:8443`)
   * @example { key: (request) => new URL(request.url).hostname }
   */
  key?: (request: Request) => string;
  /**
   * A per-key rate limit: requests started per second (a token bucket refilled at this rate).
   * Requests wait for a token in the key's queue, bounded by the queue timeout. `false`: no rate limit.
   * @default false
   * @example { rate: 20, burst: 5 }
   */
  rate?: number | false;
  /**
   * The token bucket's capacity: requests that may start back to back after an idle period.
   * A positive integer; only with `rate`.
   * @default Math.max(1, Math.ceil(rate)) (one second's worth)
   * @example { rate: 20, burst: 5 }
   */
  burst?: number;
  /**
   * The adaptive pause: after a response whose status is in `pauseStatuses` and which carries a
   * `Retry-After` (seconds or an HTTP-date) or, without one, the first present of `RateLimit-Reset`,
   * `X-RateLimit-Retry-After` (seconds, never epoch seconds), `X-RateLimit-Reset` and
   * `X-Rate-Limit-Reset` (delta seconds, or epoch seconds when at least 2024-01-01), the key's queue
   * is paused until then, at most this many ms (`Retry-After` wins when both are present; the
   * headers and rules of `@ky-resilience/retry`). Requests arriving meanwhile wait in the queue
   * (bounded by the queue timeout).
   * `false` turns the pause off.
   * @default 60_000
   * @example { maxPause: 30_000 }
   */
  maxPause?: number | false;
  /**
   * The statuses whose `Retry-After` or rate-limit reset header pauses the key.
   * @default [429, 503]
   * @example { pauseStatuses: [429] }
   */
  pauseStatuses?: readonly number[];
  /**
   * Also pause after a response of any other status that says the quota is used up:
   * `RateLimit-Remaining: 0` (or `X-RateLimit-Remaining: 0`) with a reset header saying when it
   * comes back (the headers and rules of the pause above, capped by `maxPause`). The requests that
   * would have met a 429 wait in the queue instead. Off by default: the pause follows 429 and 503.
   * @default false
   * @example { pauseOnExhausted: true }
   */
  pauseOnExhausted?: boolean;
  /**
   * How many keys the registry remembers (an LRU). A key evicted while it has requests in flight
   * or queued is kept aside until they are done, so its accounting stays exact.
   * @default 10_000
   * @example { maxHosts: 1_000 }
   */
  maxHosts?: number;
  /**
   * An idle key is forgotten after this many ms without a request (its pause and rate-limit
   * state go with it). `false`: only the LRU bound forgets keys.
   * @default 600_000
   * @example { hostTtl: 60_000 }
   */
  hostTtl?: number | false;
  /**
   * Called when a call finds no free slot (it would wait in its key's queue: the key or the limiter is full,
   * paused, or out of rate-limit tokens) with the call's input and key. Return an error to reject the call
   * with it at once, never queued and never sent; return `undefined` to let it wait. What it throws rejects
   * the call too. The preset uses it to turn a call away at once when its host's circuit breaker would,
   * instead of letting it wait for a slot first.
   * @default none: every such call waits
   * @example { beforeWait: (input) => breakers.rejection(input) }
   */
  beforeWait?: (input: Request | string | URL, key: string) => unknown;
  /**
   * The clock, in ms since the epoch (a wall clock: `Retry-After` HTTP-dates and epoch reset values are
   * compared with it). Pauses, rate-limit tokens and idle expiry use it.
   * @default Date.now
   * @example { clock: () => fakeNow }
   */
  clock?: () => number;
  /**
   * The timer functions (read when a timer starts, so a test can record the delays asked for).
   * @default the global setTimeout and clearTimeout
   * @example { timers: { setTimeout: (fn, ms) => { asked.push(ms); return setTimeout(fn, ms); }, clearTimeout } }
   */
  timers?: Timers;
};

/** What a request may override through `context['@ky-resilience/host-limiter']`. */
export type HostLimiterRequestOptions = {
  /**
   * The key to limit this request by, instead of the limiter's `key` function.
   * @default the limiter's `key(request)`
   * @example { context: { '@ky-resilience/host-limiter': { key: 'tenant-a' } } }
   */
  key?: string;
  /**
   * The queue timeout for this request, in ms, or `false`.
   * @default the limiter's `queueTimeout`
   * @example { context: { '@ky-resilience/host-limiter': { queueTimeout: 500 } } }
   */
  queueTimeout?: number | false;
};

/** The options after defaults and validation. */
export type ResolvedHostLimiterOptions = {
  readonly concurrency: number;
  readonly globalConcurrency: number;
  readonly maxQueue: number;
  readonly maxQueueTotal: number;
  readonly queueTimeout: number | false;
  readonly key: ((request: Request) => string) | undefined;
  readonly rate: number | false;
  readonly burst: number;
  readonly maxPause: number | false;
  readonly pauseStatuses: ReadonlySet<number>;
  readonly pauseOnExhausted: boolean;
  readonly maxHosts: number;
  readonly hostTtl: number | false;
  readonly beforeWait: ((input: Request | string | URL, key: string) => unknown) | undefined;
  readonly clock: () => number;
  readonly timers: Timers | undefined;
};

/** The defaults of the numeric options. */
export const defaultHostLimiterOptions: {
  readonly concurrency: number;
  readonly globalConcurrency: number;
  readonly maxQueue: number;
  readonly maxQueueTotal: number;
  readonly queueTimeout: number;
  readonly maxPause: number;
  readonly pauseStatuses: readonly number[];
  readonly maxHosts: number;
  readonly hostTtl: number;
} = Object.freeze({
  concurrency: 10,
  globalConcurrency: 100,
  maxQueue: 1_000,
  maxQueueTotal: 10_000,
  queueTimeout: 10_000,
  maxPause: 60_000,
  pauseStatuses: Object.freeze([429, 503]),
  maxHosts: 10_000,
  hostTtl: 600_000,
});

const optionKeys: readonly (keyof HostLimiterOptions)[] = [
  'concurrency',
  'globalConcurrency',
  'maxQueue',
  'maxQueueTotal',
  'queueTimeout',
  'key',
  'rate',
  'burst',
  'maxPause',
  'pauseStatuses',
  'pauseOnExhausted',
  'maxHosts',
  'hostTtl',
  'beforeWait',
  'clock',
  'timers',
];

const requestKeys: readonly (keyof HostLimiterRequestOptions)[] = ['key', 'queueTimeout'];

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null) return false;
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

function count(name: string, value: unknown, min: number): number {
  if (value === Number.POSITIVE_INFINITY) return value;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min) {
    throw new HostLimiterOptionsError(name, value, `expected an integer of at least ${min}, or Infinity`);
  }
  return value;
}

function duration(name: string, value: unknown): number | false {
  if (value === false) return false;
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0 || value > maxTimeoutMs) {
    throw new HostLimiterOptionsError(
      name,
      value,
      `expected false or a finite number from 0 to ${maxTimeoutMs}`,
    );
  }
  return value;
}

function fn<T>(name: string, value: unknown): T {
  if (typeof value !== 'function') throw new HostLimiterOptionsError(name, value, 'expected a function');
  return value as T;
}

/** Validates the options and fills in the defaults. Throws a {@link HostLimiterOptionsError}. */
export function resolveHostLimiterOptions(options: unknown): ResolvedHostLimiterOptions {
  if (options !== undefined && !isPlainObject(options)) {
    throw new HostLimiterOptionsError('options', options, 'expected an object');
  }
  const given = options ?? {};
  for (const key of Object.keys(given)) {
    if (!(optionKeys as readonly string[]).includes(key) && given[key] !== undefined) {
      throw new HostLimiterOptionsError(key, given[key], `unknown option (known: ${optionKeys.join(', ')})`);
    }
  }
  const d = defaultHostLimiterOptions;
  const globalConcurrency =
    given.globalConcurrency === undefined
      ? d.globalConcurrency
      : count('globalConcurrency', given.globalConcurrency, 1);
  let concurrency: number;
  if (given.concurrency === undefined) {
    // Below the global cap whenever it can be: one slow host then never holds every global slot.
    concurrency = Math.min(d.concurrency, Math.max(1, globalConcurrency - 1));
  } else {
    concurrency = count('concurrency', given.concurrency, 1);
    if (concurrency > globalConcurrency) {
      throw new HostLimiterOptionsError(
        'concurrency',
        concurrency,
        `expected at most \`globalConcurrency\` (${globalConcurrency})`,
      );
    }
  }
  const maxQueue = given.maxQueue === undefined ? d.maxQueue : count('maxQueue', given.maxQueue, 0);
  let maxQueueTotal = Math.max(d.maxQueueTotal, maxQueue);
  if (given.maxQueueTotal !== undefined) {
    maxQueueTotal = count('maxQueueTotal', given.maxQueueTotal, 0);
    if (maxQueueTotal < maxQueue) {
      throw new HostLimiterOptionsError(
        'maxQueueTotal',
        maxQueueTotal,
        `expected at least \`maxQueue\` (${maxQueue})`,
      );
    }
  }
  const queueTimeout =
    given.queueTimeout === undefined ? d.queueTimeout : duration('queueTimeout', given.queueTimeout);

  let rate: number | false = false;
  if (given.rate !== undefined && given.rate !== false) {
    if (typeof given.rate !== 'number' || !Number.isFinite(given.rate) || given.rate <= 0) {
      throw new HostLimiterOptionsError(
        'rate',
        given.rate,
        'expected false or a finite number above 0 (requests per second)',
      );
    }
    rate = given.rate;
  }
  let burst = rate === false ? 1 : Math.max(1, Math.ceil(rate));
  if (given.burst !== undefined) {
    if (rate === false) {
      throw new HostLimiterOptionsError('burst', given.burst, 'only meaningful with `rate`');
    }
    if (typeof given.burst !== 'number' || !Number.isInteger(given.burst) || given.burst < 1) {
      throw new HostLimiterOptionsError('burst', given.burst, 'expected an integer of at least 1');
    }
    burst = given.burst;
  }

  const maxPause = given.maxPause === undefined ? d.maxPause : duration('maxPause', given.maxPause);
  let pauseStatuses: ReadonlySet<number> = new Set(d.pauseStatuses);
  if (given.pauseStatuses !== undefined) {
    const list = given.pauseStatuses;
    if (
      !Array.isArray(list) ||
      !list.every(
        (status) => typeof status === 'number' && Number.isInteger(status) && status >= 200 && status <= 599,
      )
    ) {
      throw new HostLimiterOptionsError(
        'pauseStatuses',
        list,
        'expected an array of HTTP statuses (200 to 599)',
      );
    }
    pauseStatuses = new Set(list as number[]);
  }

  const pauseOnExhausted = given.pauseOnExhausted ?? false;
  if (typeof pauseOnExhausted !== 'boolean') {
    throw new HostLimiterOptionsError('pauseOnExhausted', pauseOnExhausted, 'expected a boolean');
  }

  let maxHosts: number = d.maxHosts;
  if (given.maxHosts !== undefined) {
    if (typeof given.maxHosts !== 'number' || !Number.isInteger(given.maxHosts) || given.maxHosts < 1) {
      throw new HostLimiterOptionsError('maxHosts', given.maxHosts, 'expected an integer of at least 1');
    }
    maxHosts = given.maxHosts;
  }
  let hostTtl: number | false = d.hostTtl;
  if (given.hostTtl !== undefined) {
    hostTtl = duration('hostTtl', given.hostTtl);
    if (hostTtl === 0) {
      throw new HostLimiterOptionsError('hostTtl', 0, 'expected false or a number above 0');
    }
  }

  const key = given.key === undefined ? undefined : fn<(request: Request) => string>('key', given.key);
  const beforeWait =
    given.beforeWait === undefined
      ? undefined
      : fn<(input: Request | string | URL, key: string) => unknown>('beforeWait', given.beforeWait);
  const clock = given.clock === undefined ? Date.now : fn<() => number>('clock', given.clock);
  let timers: Timers | undefined;
  if (given.timers !== undefined) {
    const t = given.timers as Partial<Timers> | null;
    if (
      typeof t !== 'object' ||
      t === null ||
      typeof t.setTimeout !== 'function' ||
      typeof t.clearTimeout !== 'function'
    ) {
      throw new HostLimiterOptionsError(
        'timers',
        t,
        'expected an object with setTimeout and clearTimeout functions',
      );
    }
    timers = t as Timers;
  }

  return Object.freeze({
    concurrency,
    globalConcurrency,
    maxQueue,
    maxQueueTotal,
    queueTimeout,
    key,
    rate,
    burst,
    maxPause,
    pauseStatuses,
    pauseOnExhausted,
    maxHosts,
    hostTtl,
    beforeWait,
    clock,
    timers,
  });
}

const requestPrefix = `context['${contextKey}'].`;

/** A request's overrides after validation. */
export type ResolvedRequestOptions = {
  readonly key: string | undefined;
  readonly queueTimeout: number | false;
};

/**
 * Validates a request's overrides (`context['@ky-resilience/host-limiter']`), falling back to the
 * limiter's `queueTimeout`. Throws a {@link HostLimiterOptionsError}.
 */
export function resolveRequestOptions(
  overrides: unknown,
  queueTimeout: number | false,
): ResolvedRequestOptions {
  if (overrides === undefined) return { key: undefined, queueTimeout };
  if (!isPlainObject(overrides)) {
    throw new HostLimiterOptionsError(`context['${contextKey}']`, overrides, 'expected an object');
  }
  let key: string | undefined;
  let timeout = queueTimeout;
  for (const name of Object.keys(overrides)) {
    const value = overrides[name];
    if (value === undefined) continue;
    if (name === 'key') {
      if (typeof value !== 'string') {
        throw new HostLimiterOptionsError(`${requestPrefix}key`, value, 'expected a string');
      }
      key = value;
    } else if (name === 'queueTimeout') {
      timeout = duration(`${requestPrefix}queueTimeout`, value);
    } else {
      throw new HostLimiterOptionsError(
        `${requestPrefix}${name}`,
        value,
        `unknown option (known: ${requestKeys.join(', ')})`,
      );
    }
  }
  return { key, queueTimeout: timeout };
}
