const optionsErrorBrand: symbol = Symbol.for('@ky-resilience/retry.RetryOptionsError');
const retryAfterTooLongBrand: symbol = Symbol.for('@ky-resilience/retry.RetryAfterTooLongError');
const budgetExhaustedBrand: symbol = Symbol.for('@ky-resilience/retry.RetryBudgetExhaustedError');

/**
 * An option of the retry plugin is unknown or has a bad value. `option` names it (`'limit'`,
 * `'budget.ratio'`, `"context['@ky-resilience/retry'].limit"`, ... or the unknown key) and `value`
 * holds what was given.
 */
export class RetryOptionsError extends TypeError {
  override name: string = 'RetryOptionsError';
  /** A stable machine-readable code. */
  readonly code: 'ERR_KYR_RETRY_OPTIONS' = 'ERR_KYR_RETRY_OPTIONS';
  /** The option's name. */
  readonly option: string;
  /** The value that was refused. */
  readonly value: unknown;

  constructor(option: string, value: unknown, requirement: string) {
    super(`Invalid retry option \`${option}\`: ${describe(value)}; ${requirement}`);
    this.option = option;
    this.value = value;
    Object.defineProperty(this, optionsErrorBrand, { value: true });
  }
}

/** True for a {@link RetryOptionsError}, also one from another copy of this package. */
export function isRetryOptionsError(error: unknown): error is RetryOptionsError {
  return typeof error === 'object' && error !== null && optionsErrorBrand in error;
}

/** What limit a server-requested delay ran into. */
export type RetryAfterLimit = 'maxRetryAfter' | 'totalTimeout';

/** What a {@link RetryAfterTooLongError} carries. */
export type RetryAfterTooLongErrorInit = {
  /** The host (`new URL(request.url).host`). */
  readonly host: string;
  /** The delay the server asked for (Retry-After, RateLimit-Reset...), in milliseconds. */
  readonly requested: number;
  /** The limit it exceeded, in milliseconds: `maxRetryAfter`, or the time left of the total timeout. */
  readonly limit: number;
  /** Which limit: the `maxRetryAfter` cap or the remaining total timeout. */
  readonly limitName: RetryAfterLimit;
  /** Attempts made so far. */
  readonly attempts: number;
  /** The response's error (ky's `HTTPError`). */
  readonly cause: unknown;
};

/**
 * The server asked to wait longer than the plugin allows (`maxRetryAfter`, default 60 s, or the
 * time left of ky's `totalTimeout`): the call fails at once instead of parking the caller.
 * `cause` is ky's `HTTPError` of the last response.
 */
export class RetryAfterTooLongError extends Error {
  override name: string = 'RetryAfterTooLongError';
  /** A stable machine-readable code. */
  readonly code: 'ERR_KYR_RETRY_AFTER_TOO_LONG' = 'ERR_KYR_RETRY_AFTER_TOO_LONG';
  /** The host (`new URL(request.url).host`). */
  readonly host: string;
  /** The delay the server asked for, in milliseconds. */
  readonly requested: number;
  /** The limit it exceeded, in milliseconds. */
  readonly limit: number;
  /** Which limit it exceeded. */
  readonly limitName: RetryAfterLimit;
  /** Attempts made so far. */
  readonly attempts: number;

  constructor(init: RetryAfterTooLongErrorInit) {
    const what = init.limitName === 'maxRetryAfter' ? 'maxRetryAfter' : 'the time left of the total timeout';
    super(
      `${init.host} asked to retry after ${formatMs(init.requested)}, more than ${what} (${formatMs(init.limit)}); ` +
        `gave up after ${init.attempts} attempt${init.attempts === 1 ? '' : 's'} instead of waiting`,
      { cause: init.cause },
    );
    this.host = init.host;
    this.requested = init.requested;
    this.limit = init.limit;
    this.limitName = init.limitName;
    this.attempts = init.attempts;
    Object.defineProperty(this, retryAfterTooLongBrand, { value: true });
  }
}

/** True for a {@link RetryAfterTooLongError}, also one from another copy of this package. */
export function isRetryAfterTooLongError(error: unknown): error is RetryAfterTooLongError {
  return typeof error === 'object' && error !== null && retryAfterTooLongBrand in error;
}

/** What a {@link RetryBudgetExhaustedError} carries. */
export type RetryBudgetExhaustedErrorInit = {
  /** The host whose budget is spent. */
  readonly host: string;
  /** Attempts made so far. */
  readonly attempts: number;
  /** The tokens left in the host's bucket (at most `threshold`). */
  readonly tokens: number;
  /** Retries are allowed while the bucket holds more than this (half its capacity). */
  readonly threshold: number;
  /** The most tokens the bucket holds. */
  readonly capacity: number;
  /** The last attempt's error (ky's `HTTPError`, `NetworkError`, a timeout...). */
  readonly cause: unknown;
};

/**
 * The failure was retryable, but the host's retry budget is spent: too many recent attempts to this
 * host failed (a sustained outage), so this call fails instead of adding load.
 * `cause` is the last attempt's error.
 */
export class RetryBudgetExhaustedError extends Error {
  override name: string = 'RetryBudgetExhaustedError';
  /** A stable machine-readable code. */
  readonly code: 'ERR_KYR_RETRY_BUDGET_EXHAUSTED' = 'ERR_KYR_RETRY_BUDGET_EXHAUSTED';
  /** The host whose budget is spent. */
  readonly host: string;
  /** Attempts made so far. */
  readonly attempts: number;
  /** The tokens left in the host's bucket (at most `threshold`). */
  readonly tokens: number;
  /** Retries are allowed while the bucket holds more than this (half its capacity). */
  readonly threshold: number;
  /** The most tokens the bucket holds. */
  readonly capacity: number;

  constructor(init: RetryBudgetExhaustedErrorInit) {
    super(
      `Retry budget for ${init.host} is spent: not retrying after ${init.attempts} attempt${init.attempts === 1 ? '' : 's'} ` +
        `(${formatTokens(init.tokens)} of ${formatTokens(init.capacity)} tokens left, retries need more than ` +
        `${formatTokens(init.threshold)}: too many recent attempts to this host failed) (${describeCause(init.cause)})`,
      { cause: init.cause },
    );
    this.host = init.host;
    this.attempts = init.attempts;
    this.tokens = init.tokens;
    this.threshold = init.threshold;
    this.capacity = init.capacity;
    Object.defineProperty(this, budgetExhaustedBrand, { value: true });
  }
}

/** True for a {@link RetryBudgetExhaustedError}, also one from another copy of this package. */
export function isRetryBudgetExhaustedError(error: unknown): error is RetryBudgetExhaustedError {
  return typeof error === 'object' && error !== null && budgetExhaustedBrand in error;
}

function formatTokens(tokens: number): string {
  return String(Math.round(tokens * 100) / 100);
}

function formatMs(ms: number): string {
  return Number.isFinite(ms) ? `${Math.round(ms)} ms` : String(ms);
}

function describeCause(cause: unknown): string {
  if (cause instanceof Error) {
    return `${cause.name}: ${cause.message}`;
  }
  return describe(cause);
}

/** A short printable form of an option value. */
export function describe(value: unknown): string {
  if (typeof value === 'function') {
    return 'a function';
  }
  if (typeof value === 'string') {
    return JSON.stringify(value);
  }
  if (typeof value === 'number' && Object.is(value, -0)) {
    return '-0';
  }
  if (typeof value === 'bigint') {
    return `${value}n`;
  }
  if (typeof value === 'symbol') {
    return value.toString();
  }
  if (typeof value === 'object' && value !== null) {
    try {
      return JSON.stringify(value) ?? Object.prototype.toString.call(value);
    } catch {
      return Object.prototype.toString.call(value);
    }
  }
  return String(value);
}
