import {
  type BeforeErrorHook,
  type BeforeRetryHook,
  type InitHook,
  isForceRetryError,
  type Options,
  type RetryOptions as RetryOptionsOfKy,
} from 'ky';
import { type FetchLike, RetryCall } from './call.ts';
import {
  applyRequestOverrides,
  contextKey,
  type RetryOptions,
  type RetrySettings,
  resolveRetryOptions,
} from './options.ts';
import { isOneShotBody } from './safety.ts';

/** Every method ky knows: ky's method check is opened up and the plugin's safety check decides. */
const ALL_METHODS: readonly string[] = [
  'get',
  'post',
  'put',
  'patch',
  'head',
  'delete',
  'options',
  'trace',
  'query',
];

/**
 * The retry plugin: a ky options fragment for `ky.extend()` / `ky.create()`.
 *
 * It configures ky's own retry loop (ky sleeps, counts and re-sends) and decides every retry
 * itself through `retry.shouldRetry` and `retry.delay`: classification (statuses, network error
 * codes, timeout phases), safety (idempotent methods, idempotency keys, one-shot bodies),
 * Retry-After with a cap, the total-timeout check and the per-host budget. An `init` hook creates
 * the per-call state and wraps `fetch` once per call (attempt counting, idempotency and attempt
 * headers, body buffering); a `beforeError` hook annotates the final error and emits `onGiveUp`.
 *
 * Per request, `options.context['@ky-resilience/retry']` overrides any option but `clock`, `now`
 * and `random` (and `budget` accepts only a boolean). ky's own `retry` option is replaced per call;
 * a `retry` limit given to ky (a number or `{ limit }`) lowers the plugin's `limit`.
 *
 * Apply it after `@ky-resilience/timeout` so that its fetch wrapper is the outer one: the body is
 * then buffered under the body-idle timeout.
 *
 * @throws {RetryOptionsError} on an unknown option or a bad value.
 * @example
 * const api = ky.extend(timeoutPlugin({ attempt: 5_000 })).extend(retryPlugin({ limit: 3, generateIdempotencyKey: true }));
 * await api.post('https://api.example/orders', { json: order }).json();
 */
export function retryPlugin(options?: RetryOptions): Options {
  const { settings: base, shared } = resolveRetryOptions(options);
  // Where a call's state sits in its context (a key per plugin instance).
  const callKey = Symbol('@ky-resilience/retry call');
  const baseDifferences = kyRetryDifferences(base);

  // ky runs every init hook of a call on one options object: the plugin marks the calls it has set up
  // (a symbol of its own, never seen by ky's `for...in` of the options), so that the same fragment
  // installed twice on a ky chain (on a base instance and again on a child) runs each call once; its
  // other hooks, run twice then, report once (see `RetryCall.giveUp` and `forcedRetry`).
  const wrappedMark = Symbol('@ky-resilience/retry wrapped');

  const init: InitHook = (callOptions) => {
    const marked = callOptions as Record<symbol, unknown>;
    if (marked[wrappedMark] === true) return;
    marked[wrappedMark] = true;
    const overrides = callOptions.context?.[contextKey];
    const settings = overrides === undefined ? base : applyRequestOverrides(base, overrides, shared);
    // No method option: the input may be a `Request`, whose method the call learns at its first attempt.
    const method = callOptions.method;
    const call = new RetryCall(
      settings,
      shared,
      (callOptions.fetch ?? globalThis.fetch.bind(globalThis)) as FetchLike,
      method ?? 'GET',
      isOneShotBody(callOptions.body),
      callOptions.signal ?? undefined,
      callOptions.totalTimeout,
      callOptions.timeout,
    );

    // A fresh context object per call carries this call's state for the hooks, under a symbol that
    // is not enumerable (a spread or JSON of the context never sees it). A WeakMap keyed by the
    // context cost about 1.8 µs per call (most of it in the garbage collector's ephemeron work).
    const context: Record<string, unknown> = { ...callOptions.context };
    callDescriptor.value = call;
    Object.defineProperty(context, callKey, callDescriptor);
    callDescriptor.value = undefined;
    callOptions.context = context;

    const kyLimit = limitOf(callOptions.retry);
    const limit = call.oneShotBody ? 0 : Math.min(settings.limit, kyLimit ?? settings.limit);
    call.limit = limit;
    const differences = settings === base ? baseDifferences : kyRetryDifferences(settings);
    wire(callOptions, call, differences, method, limit);
  };

  const beforeError: BeforeErrorHook = ({ error, request, options: callOptions }) => {
    const call = (callOptions.context as Record<symbol, RetryCall | undefined>)[callKey];
    return call === undefined ? error : call.giveUp(error, request);
  };

  // Reports a retry forced by an `afterResponse` hook, which ky decides without asking `shouldRetry`.
  const beforeRetry: BeforeRetryHook = ({ error, options: callOptions, retryCount, request }) => {
    if (!isForceRetryError(error)) return;
    (callOptions.context as Record<symbol, RetryCall | undefined>)[callKey]?.forcedRetry(
      error,
      retryCount,
      request,
    );
  };

  return { hooks: { init: [init], beforeRetry: [beforeRetry], beforeError: [beforeError] } };
}

// ky's defaults of the `retry` keys the plugin sets (ky 2.1). ky normalises the `retry` object on
// each call (copying every key it is given), so the plugin gives only what differs from them.
const KY_RETRY_METHODS: readonly string[] = ['get', 'put', 'head', 'delete', 'options', 'trace', 'query'];
const KY_STATUS_CODES: readonly number[] = [408, 413, 429, 500, 502, 503, 504];
const KY_AFTER_STATUS_CODES: readonly number[] = [413, 429, 503];
const KY_MAX_RETRY_AFTER = Number.POSITIVE_INFINITY;

function sameList<T>(a: readonly T[], b: readonly T[]): boolean {
  return a.length === b.length && a.every((value, index) => value === b[index]);
}

/** The `retry` keys of a settings object that differ from ky's defaults (`undefined`: the same). */
type KyRetryDifferences = {
  readonly statusCodes: readonly number[] | undefined;
  readonly afterStatusCodes: readonly number[] | undefined;
  readonly maxRetryAfter: number | undefined;
};

function kyRetryDifferences(settings: RetrySettings): KyRetryDifferences {
  return {
    statusCodes: sameList(settings.statusCodes, KY_STATUS_CODES) ? undefined : settings.statusCodes,
    afterStatusCodes: sameList(settings.afterStatusCodes, KY_AFTER_STATUS_CODES)
      ? undefined
      : settings.afterStatusCodes,
    maxRetryAfter: settings.maxRetryAfter === KY_MAX_RETRY_AFTER ? undefined : settings.maxRetryAfter,
  };
}

/** The descriptor of a call's state in its context (its value is set just for the definition). */
const callDescriptor: PropertyDescriptor = { value: undefined };

/**
 * Sets the call's `fetch` (the call's attempt) and ky's `retry` option for one call: the limit,
 * the plugin's `delay` and `shouldRetry`, and only the keys whose value differs from ky's default
 * (ky copies every key it is given, twice per call). `methods` opens ky's method check to the
 * call's method (the plugin's safety check decides); `shouldRetry` always answers true or false,
 * so ky's status and timeout checks never apply and `statusCodes`, `afterStatusCodes` and
 * `maxRetryAfter` only show the plugin's settings to hooks. ky copies the arrays it is given: the
 * settings' frozen arrays are passed as they are. The three functions share one closure scope
 * holding only the call.
 */
function wire(
  callOptions: Options,
  call: RetryCall,
  differences: KyRetryDifferences,
  method: string | undefined,
  limit: number,
): void {
  callOptions.fetch = (input, requestInit) => call.fetch(input, requestInit);
  const retry: RetryOptionsOfKy = {
    limit,
    delay: () => call.takeDelay(),
    shouldRetry: ({ error }) => call.shouldRetry(error),
  };
  if (method === undefined) {
    // A `Request` input: its method is not known yet, and ky checks it before asking `shouldRetry`.
    retry.methods = [...ALL_METHODS];
  } else if (!KY_RETRY_METHODS.includes(method)) {
    const lower = method.toLowerCase();
    if (!KY_RETRY_METHODS.includes(lower)) {
      retry.methods = ALL_METHODS.includes(lower) ? [...ALL_METHODS] : [...ALL_METHODS, lower];
    }
  }
  if (differences.statusCodes !== undefined) retry.statusCodes = differences.statusCodes as number[];
  if (differences.afterStatusCodes !== undefined) {
    retry.afterStatusCodes = differences.afterStatusCodes as number[];
  }
  if (differences.maxRetryAfter !== undefined) retry.maxRetryAfter = differences.maxRetryAfter;
  callOptions.retry = retry;
}

function limitOf(retry: Options['retry']): number | undefined {
  if (typeof retry === 'number') {
    return retry;
  }
  if (typeof retry === 'object' && retry !== null && typeof retry.limit === 'number') {
    return retry.limit;
  }
  return undefined;
}
