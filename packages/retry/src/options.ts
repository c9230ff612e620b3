import {
  isJitterStrategy,
  type JitterStrategy,
  jitterStrategies,
  type RandomSource,
} from '@ky-resilience/jitter';
import type { TimeoutPhase } from '@ky-resilience/timeout';
import { createRetryBudget, isRetryBudget, type RetryBudget, type RetryBudgetOptions } from './budget.ts';
import { defaultRetryErrorCodes } from './classify.ts';
import { RetryOptionsError } from './errors.ts';
import type { OnGiveUp, OnRetry } from './events.ts';
import {
  assertArray,
  assertBoolean,
  assertFunction,
  assertHeaderName,
  assertInteger,
  assertKnownKeys,
  assertNumberInRange,
  assertPlainObject,
} from './validate.ts';

/** The key under `options.context` for per-request overrides. */
export const contextKey = '@ky-resilience/retry';

/** The longest delay a timer can take (ky's own limit too). */
export const maxDelayMs = 2_147_483_647;

/** The backoff schedule between retries when the server gives no Retry-After. */
export type RetryBackoff = {
  /**
   * The jitter strategy of `@ky-resilience/jitter`.
   * @default 'full'
   * @example { strategy: 'decorrelated-v2' }
   */
  strategy?: JitterStrategy;
  /**
   * The first retry's delay envelope in milliseconds.
   * @default 300
   * @example { base: 100 }
   */
  base?: number;
  /**
   * Growth factor between retries (`>= 1`).
   * @default 2
   * @example { factor: 3 }
   */
  factor?: number;
  /**
   * The largest backoff delay in milliseconds.
   * @default 20_000
   * @example { cap: 5_000 }
   */
  cap?: number;
};

/** Options of the retry plugin. Every one can also be set per request (see {@link RetryRequestOptions}). */
export type RetryOptions = {
  /**
   * Retries after the first attempt (so at most `limit + 1` attempts).
   * @default 2
   * @example { limit: 4 }
   */
  limit?: number;
  /**
   * Response statuses that are retried. 501 and 505 are refused (they will not change on retry).
   * @default [408, 429, 500, 502, 503, 504]
   * @example { statusCodes: [502, 503, 504] }
   */
  statusCodes?: number[];
  /**
   * Retried statuses whose `Retry-After` / `RateLimit-Reset` / `X-RateLimit-Reset` header sets the delay.
   * @default [429, 503]
   * @example { afterStatusCodes: [429] }
   */
  afterStatusCodes?: number[];
  /**
   * Network error codes (found anywhere in the error's `cause` chain) that are retried. `ENOTFOUND`
   * is refused: an unknown name is not retried in a loop.
   * @default ['ECONNRESET', 'ECONNREFUSED', 'ECONNABORTED', 'EPIPE', 'ETIMEDOUT', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH', 'ENETDOWN', 'UND_ERR_SOCKET', 'UND_ERR_CONNECT_TIMEOUT', 'UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT']
   * @example { errorCodes: ['ECONNRESET', 'ECONNREFUSED'] }
   */
  errorCodes?: string[];
  /**
   * Timeout phases of `@ky-resilience/timeout` that are retried; ky's own `timeout` counts as
   * `'attempt'`. `'total'` is refused (the call is out of time).
   * @default ['attempt', 'connect', 'headers', 'bodyIdle']
   * @example { timeoutPhases: ['connect'] }
   */
  timeoutPhases?: TimeoutPhase[];
  /**
   * Methods retried after any retryable failure. Others (POST, PATCH) are retried only with an
   * idempotency key, or when the failure proves the request was never sent.
   * @default ['GET', 'HEAD', 'OPTIONS', 'TRACE', 'PUT', 'DELETE', 'QUERY']
   * @example { idempotentMethods: ['GET', 'HEAD'] }
   */
  idempotentMethods?: string[];
  /**
   * The request header that makes a non-idempotent request retryable.
   * @default 'Idempotency-Key'
   * @example { idempotencyHeader: 'X-Idempotency-Key' }
   */
  idempotencyHeader?: string;
  /**
   * Give non-idempotent requests without the header a key of their own, the same for every
   * attempt of the call: `true` uses `crypto.randomUUID()`, a function supplies the key.
   * @default false
   * @example { generateIdempotencyKey: true }
   */
  generateIdempotencyKey?: boolean | (() => string);
  /**
   * The jittered exponential backoff used when the server sets no delay.
   * @default { strategy: 'full', base: 300, factor: 2, cap: 20_000 }
   * @example { backoff: { strategy: 'equal', base: 200 } }
   */
  backoff?: RetryBackoff;
  /**
   * The longest server-requested delay (Retry-After...) honoured, in milliseconds. A longer one
   * fails the call at once with `RetryAfterTooLongError`.
   * @default 60_000
   * @example { maxRetryAfter: 10_000 }
   */
  maxRetryAfter?: number;
  /**
   * The per-host retry budget: `true` for the defaults, options for a budget of this plugin
   * instance, a budget from `createRetryBudget()` to share, or `false` for none. Per request only
   * `false` (skip it) or `true` (use the instance's) are accepted. The default budget: per host, a
   * failed attempt costs a token, a success adds 0.5, retries only while more than 10 of 20 are left.
   * @default true
   * @example { budget: { ratio: 0.25, capacity: 10 } }
   */
  budget?: boolean | RetryBudgetOptions | RetryBudget;
  /**
   * Read the whole response body inside the attempt, so a reset or a truncated body fails the
   * attempt (and can be retried) instead of reaching the caller. Bodies over `maxBufferSize` and
   * event streams pass through untouched.
   * @default true
   * @example { bufferBody: false }
   */
  bufferBody?: boolean;
  /**
   * The largest body `bufferBody` buffers, in bytes.
   * @default 1_048_576
   * @example { maxBufferSize: 8 * 1024 * 1024 }
   */
  maxBufferSize?: number;
  /**
   * A request header carrying the attempt number (1, 2, ...) so servers can see retries; `false` for none.
   * @default false
   * @example { attemptHeader: 'X-Retry-Attempt' }
   */
  attemptHeader?: string | false;
  /**
   * Called when a retry is scheduled, with the delay ky will sleep (before the sleep); for a retry an
   * `afterResponse` hook forced (`ky.retry()`), when it starts, after the sleep.
   * @default undefined
   * @example { onRetry: ({ host, attempt, delay, reason }) => log.warn({ host, attempt, delay, reason }) }
   */
  onRetry?: OnRetry;
  /**
   * Called once when a call fails for good.
   * @default undefined
   * @example { onGiveUp: ({ host, attempts, error }) => log.error({ host, attempts, error }) }
   */
  onGiveUp?: OnGiveUp;
  /**
   * Monotonic clock in milliseconds (for the total-timeout check and the default budget).
   * @default performance.now
   * @example { clock: () => fakeNow }
   */
  clock?: () => number;
  /**
   * Wall clock in epoch milliseconds, for HTTP-dates in Retry-After.
   * @default Date.now
   * @example { now: () => Date.UTC(2030, 0, 1) }
   */
  now?: () => number;
  /**
   * Random numbers in `[0, 1)` for the backoff jitter (and nothing else).
   * @default Math.random
   * @example { random: seededRandom(1) }
   */
  random?: RandomSource;
};

/** Per-request overrides under `options.context['@ky-resilience/retry']`. */
export type RetryRequestOptions = Omit<RetryOptions, 'budget' | 'clock' | 'now' | 'random'> & {
  /**
   * `false` skips the budget for this call; `true` uses the instance's.
   * @default true
   * @example { budget: false }
   */
  budget?: boolean;
};

/** The settings of one call, every default applied. */
export type RetrySettings = {
  readonly limit: number;
  readonly statusCodes: readonly number[];
  readonly afterStatusCodes: readonly number[];
  readonly errorCodes: readonly string[];
  readonly timeoutPhases: readonly TimeoutPhase[];
  /** Upper-case. */
  readonly idempotentMethods: readonly string[];
  readonly idempotencyHeader: string;
  readonly generateIdempotencyKey: (() => string) | undefined;
  readonly backoff: Readonly<Required<RetryBackoff>>;
  readonly maxRetryAfter: number;
  readonly useBudget: boolean;
  readonly bufferBody: boolean;
  readonly maxBufferSize: number;
  readonly attemptHeader: string | undefined;
  readonly onRetry: OnRetry | undefined;
  readonly onGiveUp: OnGiveUp | undefined;
};

/** What one plugin instance shares across its calls. */
export type RetryShared = {
  readonly budget: RetryBudget | undefined;
  readonly clock: () => number;
  readonly now: () => number;
  readonly random: RandomSource;
};

/** The defaults of {@link RetryOptions}. */
export const defaultRetrySettings: RetrySettings = Object.freeze({
  limit: 2,
  statusCodes: Object.freeze([408, 429, 500, 502, 503, 504]),
  afterStatusCodes: Object.freeze([429, 503]),
  errorCodes: defaultRetryErrorCodes,
  timeoutPhases: Object.freeze(['attempt', 'connect', 'headers', 'bodyIdle'] as TimeoutPhase[]),
  idempotentMethods: Object.freeze(['GET', 'HEAD', 'OPTIONS', 'TRACE', 'PUT', 'DELETE', 'QUERY']),
  idempotencyHeader: 'Idempotency-Key',
  generateIdempotencyKey: undefined,
  backoff: Object.freeze({ strategy: 'full', base: 300, factor: 2, cap: 20_000 } as const),
  maxRetryAfter: 60_000,
  useBudget: true,
  bufferBody: true,
  maxBufferSize: 1_048_576,
  attemptHeader: undefined,
  onRetry: undefined,
  onGiveUp: undefined,
});

const SETTING_KEYS: readonly string[] = [
  'limit',
  'statusCodes',
  'afterStatusCodes',
  'errorCodes',
  'timeoutPhases',
  'idempotentMethods',
  'idempotencyHeader',
  'generateIdempotencyKey',
  'backoff',
  'maxRetryAfter',
  'budget',
  'bufferBody',
  'maxBufferSize',
  'attemptHeader',
  'onRetry',
  'onGiveUp',
];
const INSTANCE_KEYS: readonly string[] = [...SETTING_KEYS, 'clock', 'now', 'random'];
const BACKOFF_KEYS: readonly string[] = ['strategy', 'base', 'factor', 'cap'];
const NEVER_RETRIED_STATUSES: readonly number[] = [501, 505];
const RETRYABLE_PHASES: readonly TimeoutPhase[] = ['attempt', 'connect', 'headers', 'bodyIdle'];
const MAX_BUFFER = 1024 * 1024 * 1024;

/**
 * Validates the plugin's options and splits them into the call defaults and what the instance
 * shares (budget, clock, wall clock, random).
 * @throws {RetryOptionsError} naming the option and the value.
 */
export function resolveRetryOptions(options: unknown): { settings: RetrySettings; shared: RetryShared } {
  const given = options === undefined ? {} : options;
  assertPlainObject('options', given);
  assertKnownKeys('', given, INSTANCE_KEYS);
  const { budget: budgetOption, clock: clockOption, now: nowOption, random: randomOption, ...rest } = given;
  if (clockOption !== undefined) assertFunction('clock', clockOption);
  if (nowOption !== undefined) assertFunction('now', nowOption);
  if (randomOption !== undefined) assertFunction('random', randomOption);
  const clock = (clockOption as (() => number) | undefined) ?? (() => performance.now());
  const now = (nowOption as (() => number) | undefined) ?? (() => Date.now());
  const random = (randomOption as RandomSource | undefined) ?? (() => Math.random());

  let budget: RetryBudget | undefined;
  if (budgetOption === undefined || budgetOption === true) {
    budget = createRetryBudget({ clock });
  } else if (budgetOption === false) {
    budget = undefined;
  } else if (isRetryBudget(budgetOption)) {
    budget = budgetOption;
  } else {
    assertPlainObject('budget', budgetOption);
    budget = createRetryBudget({ clock, ...(budgetOption as RetryBudgetOptions) });
  }
  const settings = applySettings(defaultRetrySettings, rest, '');
  return {
    settings: { ...settings, useBudget: budget !== undefined },
    shared: { budget, clock, now, random },
  };
}

/**
 * Applies per-request overrides (the value under `context['@ky-resilience/retry']`) on top of the
 * instance's settings.
 * @throws {RetryOptionsError} naming the option (prefixed `context['@ky-resilience/retry'].`) and the value.
 */
export function applyRequestOverrides(
  base: RetrySettings,
  overrides: unknown,
  shared: RetryShared,
): RetrySettings {
  const prefix = `context['${contextKey}']`;
  assertPlainObject(prefix, overrides);
  assertKnownKeys(prefix, overrides, SETTING_KEYS);
  const { budget, ...rest } = overrides;
  const settings = applySettings(base, rest, prefix);
  if (budget === undefined) {
    return settings;
  }
  assertBoolean(`${prefix}.budget`, budget);
  if (budget && shared.budget === undefined) {
    throw new RetryOptionsError(
      `${prefix}.budget`,
      budget,
      'the plugin instance has no budget (budget: false)',
    );
  }
  return { ...settings, useBudget: budget };
}

function applySettings(base: RetrySettings, given: Record<string, unknown>, prefix: string): RetrySettings {
  const name = (key: string): string => (prefix === '' ? key : `${prefix}.${key}`);
  const out: { -readonly [K in keyof RetrySettings]: RetrySettings[K] } = { ...base };
  if (given.limit !== undefined) {
    assertInteger(name('limit'), given.limit, 0, 100);
    out.limit = given.limit;
  }
  if (given.statusCodes !== undefined) {
    out.statusCodes = assertArray(name('statusCodes'), given.statusCodes, assertRetryableStatus);
  }
  if (given.afterStatusCodes !== undefined) {
    out.afterStatusCodes = assertArray(
      name('afterStatusCodes'),
      given.afterStatusCodes,
      assertRetryableStatus,
    );
  }
  if (given.errorCodes !== undefined) {
    out.errorCodes = assertArray(name('errorCodes'), given.errorCodes, assertErrorCode);
  }
  if (given.timeoutPhases !== undefined) {
    out.timeoutPhases = assertArray(name('timeoutPhases'), given.timeoutPhases, assertRetryablePhase);
  }
  if (given.idempotentMethods !== undefined) {
    out.idempotentMethods = assertArray(name('idempotentMethods'), given.idempotentMethods, assertMethod).map(
      (method) => method.toUpperCase(),
    );
  }
  if (given.idempotencyHeader !== undefined) {
    assertHeaderName(name('idempotencyHeader'), given.idempotencyHeader);
    out.idempotencyHeader = given.idempotencyHeader;
  }
  if (given.generateIdempotencyKey !== undefined) {
    const generate = given.generateIdempotencyKey;
    if (generate === true) {
      out.generateIdempotencyKey = () => crypto.randomUUID();
    } else if (generate === false) {
      out.generateIdempotencyKey = undefined;
    } else if (typeof generate === 'function') {
      out.generateIdempotencyKey = generate as () => string;
    } else {
      throw new RetryOptionsError(
        name('generateIdempotencyKey'),
        generate,
        'must be true, false or a function',
      );
    }
  }
  if (given.backoff !== undefined) {
    out.backoff = resolveBackoff(base.backoff, given.backoff, name('backoff'));
  }
  if (given.maxRetryAfter !== undefined) {
    assertNumberInRange(name('maxRetryAfter'), given.maxRetryAfter, 0, maxDelayMs);
    out.maxRetryAfter = given.maxRetryAfter;
  }
  if (given.bufferBody !== undefined) {
    assertBoolean(name('bufferBody'), given.bufferBody);
    out.bufferBody = given.bufferBody;
  }
  if (given.maxBufferSize !== undefined) {
    assertInteger(name('maxBufferSize'), given.maxBufferSize, 0, MAX_BUFFER);
    out.maxBufferSize = given.maxBufferSize;
  }
  if (given.attemptHeader !== undefined) {
    if (given.attemptHeader === false) {
      out.attemptHeader = undefined;
    } else {
      assertHeaderName(name('attemptHeader'), given.attemptHeader);
      out.attemptHeader = given.attemptHeader;
    }
  }
  if (given.onRetry !== undefined) {
    assertFunction(name('onRetry'), given.onRetry);
    out.onRetry = given.onRetry as OnRetry;
  }
  if (given.onGiveUp !== undefined) {
    assertFunction(name('onGiveUp'), given.onGiveUp);
    out.onGiveUp = given.onGiveUp as OnGiveUp;
  }
  return Object.freeze(out);
}

function resolveBackoff(
  base: Readonly<Required<RetryBackoff>>,
  given: unknown,
  option: string,
): Readonly<Required<RetryBackoff>> {
  assertPlainObject(option, given);
  assertKnownKeys(option, given, BACKOFF_KEYS);
  const strategy = given.strategy ?? base.strategy;
  if (!isJitterStrategy(strategy)) {
    throw new RetryOptionsError(
      `${option}.strategy`,
      strategy,
      `must be one of ${jitterStrategies.join(', ')}`,
    );
  }
  const baseDelay = given.base ?? base.base;
  const factor = given.factor ?? base.factor;
  const cap = given.cap ?? base.cap;
  assertNumberInRange(`${option}.base`, baseDelay, 0, maxDelayMs);
  assertNumberInRange(`${option}.factor`, factor, 1, Number.MAX_VALUE);
  assertNumberInRange(`${option}.cap`, cap, 0, maxDelayMs);
  return Object.freeze({ strategy, base: baseDelay, factor, cap });
}

function assertRetryableStatus(value: unknown, option: string): asserts value is number {
  assertInteger(option, value, 400, 599);
  if (NEVER_RETRIED_STATUSES.includes(value)) {
    throw new RetryOptionsError(
      option,
      value,
      '501 and 505 are never retried (the server will not change its answer)',
    );
  }
}

function assertErrorCode(value: unknown, option: string): asserts value is string {
  if (typeof value !== 'string' || value === '') {
    throw new RetryOptionsError(option, value, 'must be a non-empty error code string such as "ECONNRESET"');
  }
  if (value === 'ENOTFOUND') {
    throw new RetryOptionsError(
      option,
      value,
      'ENOTFOUND is never retried (an unknown host name is not retried in a loop)',
    );
  }
}

function assertRetryablePhase(value: unknown, option: string): asserts value is TimeoutPhase {
  if (!RETRYABLE_PHASES.includes(value as TimeoutPhase)) {
    throw new RetryOptionsError(
      option,
      value,
      `must be one of ${RETRYABLE_PHASES.join(', ')} (a total timeout is never retried)`,
    );
  }
}

function assertMethod(value: unknown, option: string): asserts value is string {
  if (typeof value !== 'string' || !/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(value)) {
    throw new RetryOptionsError(option, value, 'must be an HTTP method name');
  }
}
