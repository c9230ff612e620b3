import type { BeforeErrorHook, InitHook, Options } from 'ky';
import { createRetryCall, type FetchLike, type RetryCall } from './call.ts';
import { applyRequestOverrides, contextKey, type RetryOptions, resolveRetryOptions } from './options.ts';
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

  const init: InitHook = (callOptions) => {
    const overrides = callOptions.context?.[contextKey];
    const settings = overrides === undefined ? base : applyRequestOverrides(base, overrides, shared);
    const method = (callOptions.method ?? 'GET').toLowerCase();
    const call = createRetryCall({
      settings,
      shared,
      method,
      oneShotBody: isOneShotBody(callOptions.body),
      signal: callOptions.signal ?? undefined,
      totalTimeout: callOptions.totalTimeout,
    });

    // A fresh context object per call carries this call's state for the hooks, under a symbol that
    // is not enumerable (a spread or JSON of the context never sees it). A WeakMap keyed by the
    // context cost about 1.8 µs per call (most of it in the garbage collector's ephemeron work).
    const context: Record<string, unknown> = { ...callOptions.context };
    Object.defineProperty(context, callKey, { value: call });
    callOptions.context = context;

    const inner = (callOptions.fetch ?? globalThis.fetch.bind(globalThis)) as FetchLike;
    callOptions.fetch = (input, requestInit) => call.fetch(inner, input, requestInit);

    const kyLimit = limitOf(callOptions.retry);
    const limit = call.oneShotBody ? 0 : Math.min(settings.limit, kyLimit ?? settings.limit);
    callOptions.retry = {
      limit,
      methods: ALL_METHODS.includes(method) ? [...ALL_METHODS] : [...ALL_METHODS, method],
      statusCodes: [...settings.statusCodes],
      afterStatusCodes: [...settings.afterStatusCodes],
      maxRetryAfter: settings.maxRetryAfter,
      backoffLimit: Number.POSITIVE_INFINITY,
      jitter: false,
      retryOnTimeout: false,
      delay: () => call.takeDelay(),
      shouldRetry: ({ error }) => call.shouldRetry(error),
    };
  };

  const beforeError: BeforeErrorHook = ({ error, request, options: callOptions }) => {
    const call = (callOptions.context as Record<symbol, RetryCall | undefined>)[callKey];
    return call === undefined ? error : call.giveUp(error, request);
  };

  return { hooks: { init: [init], beforeError: [beforeError] } };
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
