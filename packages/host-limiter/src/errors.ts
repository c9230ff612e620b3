/** What a queue rejection reports about the key's state when it happened. */
export type QueueRejectionInit = {
  /** The limiter key (by default the request's origin, e.g. `https://api.example.com`). */
  readonly key: string;
  /** The key's concurrency limit. */
  readonly limit: number;
  /** Requests of the key in flight when the request was rejected. */
  readonly active: number;
  /** Requests of the key waiting in its queue when the request was rejected (this one excluded). */
  readonly queued: number;
  /** The key's queue capacity. */
  readonly maxQueue: number;
  /** The request, when known. */
  readonly request?: Request | undefined;
};

const limiterErrorBrand: symbol = Symbol.for('@ky-resilience/host-limiter.HostLimiterError');
const optionsErrorBrand: symbol = Symbol.for('@ky-resilience/host-limiter.HostLimiterOptionsError');

/**
 * Base class of the queue rejections of `@ky-resilience/host-limiter`. The request was **never
 * sent**: retrying it is always safe, whatever its method. Test with {@link isHostLimiterError}
 * (works across copies of the package) or `instanceof`.
 */
export class HostLimiterError extends Error {
  override name: string = 'HostLimiterError';
  /** `ERR_KYR_QUEUE_FULL` or `ERR_KYR_QUEUE_TIMEOUT`. */
  readonly code: string;
  /** The limiter key (by default the origin). */
  readonly key: string;
  /** The key's concurrency limit. */
  readonly limit: number;
  /** Requests of the key in flight at the time. */
  readonly active: number;
  /** Requests of the key waiting in its queue at the time (this one excluded). */
  readonly queued: number;
  /** The key's queue capacity. */
  readonly maxQueue: number;
  /** The request, when known. */
  readonly request?: Request;

  constructor(code: string, message: string, init: QueueRejectionInit) {
    super(message);
    this.code = code;
    this.key = init.key;
    this.limit = init.limit;
    this.active = init.active;
    this.queued = init.queued;
    this.maxQueue = init.maxQueue;
    if (init.request !== undefined) {
      this.request = init.request;
    }
    Object.defineProperty(this, limiterErrorBrand, { value: true });
  }
}

function state(init: QueueRejectionInit): string {
  return `${init.active} of ${init.limit} in flight, ${init.queued} of ${init.maxQueue} queued`;
}

/** Which queue bound a {@link QueueFullError} hit: the key's `maxQueue` or the global `maxQueueTotal`. */
export type QueueBound = 'key' | 'global';

/** What a {@link QueueFullError} reports besides the key's state. */
export type QueueFullInit = QueueRejectionInit & {
  /** The bound that was hit. */
  readonly bound: QueueBound;
  /** Requests waiting across every key when the request was rejected (this one excluded). */
  readonly queuedTotal: number;
  /** The global queue capacity. */
  readonly maxQueueTotal: number;
};

/**
 * A queue was full: the key's (`bound: 'key'`, `maxQueue` waiters) or the sum across keys
 * (`bound: 'global'`, `maxQueueTotal` waiters). The request was rejected at once and never sent.
 */
export class QueueFullError extends HostLimiterError {
  override name: string = 'QueueFullError';
  declare readonly code: 'ERR_KYR_QUEUE_FULL';
  /** `'key'`: the key's queue held `maxQueue` waiters; `'global'`: all queues together held `maxQueueTotal`. */
  readonly bound: QueueBound;
  /** Requests waiting across every key at the time (this one excluded). */
  readonly queuedTotal: number;
  /** The global queue capacity. */
  readonly maxQueueTotal: number;

  constructor(init: QueueFullInit) {
    const which =
      init.bound === 'global'
        ? `Global queue full (${init.queuedTotal} of ${init.maxQueueTotal} queued across every key) for ${init.key}`
        : `Queue full for ${init.key}`;
    super('ERR_KYR_QUEUE_FULL', `${which} (${state(init)}); the request was never sent`, init);
    this.bound = init.bound;
    this.queuedTotal = init.queuedTotal;
    this.maxQueueTotal = init.maxQueueTotal;
  }
}

/** The request waited `timeout` ms in the key's queue without getting a slot, and was never sent. */
/**
 * What held a {@link QueueTimeoutError}'s request back when its time ran out: `'key'`, every slot of its key
 * taken; `'global'`, a slot of the key free but the limiter's `globalConcurrency` reached; `'pause'`, the key
 * paused (after a 429/503 with Retry-After or a rate-limit reset, or `pause()`); `'rate'`, no token of the
 * key's rate limit; `'queue'`, none of these at that moment (it was behind other waiters of the key).
 */
export type QueueWait = 'key' | 'global' | 'pause' | 'rate' | 'queue';

const waitLabels: Readonly<Record<QueueWait, string>> = {
  key: 'every slot of the key taken',
  global: "the limiter's global cap reached",
  pause: 'key paused by Retry-After or a rate-limit reset',
  rate: "no token of the key's rate limit",
  queue: 'behind other waiters of the key',
};

export class QueueTimeoutError extends HostLimiterError {
  override name: string = 'QueueTimeoutError';
  declare readonly code: 'ERR_KYR_QUEUE_TIMEOUT';
  /** How long the request waited, in milliseconds (the queue timeout that ran out). */
  readonly timeout: number;
  /** When the key is paused after a 429/503 with Retry-After or a rate-limit reset: until when (the limiter's clock, ms). */
  readonly pausedUntil?: number;
  /** What held the request back when its time ran out (see {@link QueueWait}). */
  readonly waitedFor: QueueWait;

  constructor(
    init: QueueRejectionInit & {
      readonly timeout: number;
      readonly pausedUntil?: number;
      readonly waitedFor?: QueueWait;
    },
  ) {
    const waitedFor = init.waitedFor ?? (init.pausedUntil === undefined ? 'key' : 'pause');
    super(
      'ERR_KYR_QUEUE_TIMEOUT',
      `Queue timeout: no slot for ${init.key} within ${init.timeout} ms (${state(init)}; ${waitLabels[waitedFor]}); the request was never sent`,
      init,
    );
    this.timeout = init.timeout;
    this.waitedFor = waitedFor;
    if (init.pausedUntil !== undefined) {
      this.pausedUntil = init.pausedUntil;
    }
  }
}

/** True for a {@link QueueFullError} or {@link QueueTimeoutError}, also from another copy of this package. */
export function isHostLimiterError(error: unknown): error is HostLimiterError {
  return typeof error === 'object' && error !== null && limiterErrorBrand in error;
}

/** True for a {@link QueueFullError}, also one from another copy of this package. */
export function isQueueFullError(error: unknown): error is QueueFullError {
  return isHostLimiterError(error) && error.code === 'ERR_KYR_QUEUE_FULL';
}

/** True for a {@link QueueTimeoutError}, also one from another copy of this package. */
export function isQueueTimeoutError(error: unknown): error is QueueTimeoutError {
  return isHostLimiterError(error) && error.code === 'ERR_KYR_QUEUE_TIMEOUT';
}

/**
 * An option of the host limiter is unknown or has a bad value. `option` names it
 * (`'concurrency'`, `"context['@ky-resilience/host-limiter'].queueTimeout"`, ... or the unknown key)
 * and `value` holds what was given.
 */
export class HostLimiterOptionsError extends Error {
  override name: string = 'HostLimiterOptionsError';
  readonly code: 'ERR_KYR_HOST_LIMITER_OPTIONS' = 'ERR_KYR_HOST_LIMITER_OPTIONS';
  /** The option's name. */
  readonly option: string;
  /** The value that was refused. */
  readonly value: unknown;

  constructor(option: string, value: unknown, requirement: string) {
    super(`Invalid host limiter option \`${option}\`: ${describe(value)}; ${requirement}`);
    this.option = option;
    this.value = value;
    Object.defineProperty(this, optionsErrorBrand, { value: true });
  }
}

const closedErrorBrand: symbol = Symbol.for('@ky-resilience/host-limiter.HostLimiterClosedError');

/**
 * The limiter was closed (`limiter.close()`) while the request waited for a slot, or before it asked for
 * one. The request was **never sent**.
 */
export class HostLimiterClosedError extends Error {
  override name: string = 'HostLimiterClosedError';
  readonly code: 'ERR_KYR_HOST_LIMITER_CLOSED' = 'ERR_KYR_HOST_LIMITER_CLOSED';
  /** The limiter key of the request. */
  readonly key: string;
  /** The request, when known. */
  readonly request?: Request;

  constructor(key: string, request?: Request) {
    super(`Host limiter closed: the request for ${key} was never sent`);
    this.key = key;
    if (request !== undefined) this.request = request;
    Object.defineProperty(this, closedErrorBrand, { value: true });
  }
}

/** True for a {@link HostLimiterClosedError}, also one from another copy of this package. */
export function isHostLimiterClosedError(error: unknown): error is HostLimiterClosedError {
  return typeof error === 'object' && error !== null && closedErrorBrand in error;
}

/** True for a {@link HostLimiterOptionsError}, also one from another copy of this package. */
export function isHostLimiterOptionsError(error: unknown): error is HostLimiterOptionsError {
  return typeof error === 'object' && error !== null && optionsErrorBrand in error;
}

function describe(value: unknown): string {
  if (typeof value === 'function') return 'a function';
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'number' && Object.is(value, -0)) return '-0';
  if (typeof value === 'bigint') return `${value}n`;
  if (typeof value === 'object' && value !== null) {
    try {
      return JSON.stringify(value) ?? Object.prototype.toString.call(value);
    } catch {
      return Object.prototype.toString.call(value);
    }
  }
  return String(value);
}
