import type { BeforeErrorHook, InitHook, Options } from 'ky';
import { TimeoutError } from 'ky';
import { type FetchFunction, runAttempt } from './attempt.ts';
import { handoffTo } from './body-handoff.ts';
import { TimeoutOptionsError, TotalTimeoutError } from './errors.ts';
import {
  contextKey,
  maxTimeoutMs,
  type ResolvedTimeoutLimits,
  resolveLimits,
  resolveTimeoutOptions,
  type TimeoutOptions,
} from './options.ts';

const contextPrefix = `context['${contextKey}'].`;

/**
 * The call's total: the plugin's `total` (instance or context), lowered by a `totalTimeout` given
 * to ky for this call (per request, or by an instance extended after the plugin). The plugin's own
 * fragment sets `totalTimeout` to the instance's `total`, so another value was given by the
 * caller. Like a `retry` limit given to ky with the retry plugin, it can only shorten the call.
 */
function callTotal(total: number | false, given: unknown, instanceTotal: number | false): number | false {
  return given === instanceTotal ? total : lowered(total, given, 'totalTimeout', 'total');
}

/**
 * The call's attempt limit: the plugin's `attempt`, lowered by a `timeout` given to ky for this call (per
 * request, or by an instance extended after the plugin): ky's own per-attempt timer, which the plugin turns
 * off, is the caller's bound on each attempt. The plugin's fragment sets ky's `timeout` to `false`, so a
 * number was given by the caller. It can only shorten the attempt.
 */
function callAttempt(attempt: number | false, given: unknown): number | false {
  return lowered(attempt, given, 'timeout', 'attempt');
}

/**
 * `limit` lowered by a value given to ky under `option` (`false` or absent: unchanged), never raised.
 * @throws {TimeoutOptionsError} naming `option` when the value is not `false` or a finite number from 0
 * to 2^31−1.
 */
function lowered(
  limit: number | false,
  given: unknown,
  option: 'timeout' | 'totalTimeout',
  limitName: 'attempt' | 'total',
): number | false {
  if (given === undefined || given === false) return limit;
  if (typeof given !== 'number' || !Number.isFinite(given) || given < 0 || given > maxTimeoutMs) {
    throw new TimeoutOptionsError(
      option,
      given,
      `expected false or a finite number from 0 to ${maxTimeoutMs} (it can only lower \`${limitName}\`)`,
    );
  }
  return limit === false || given < limit ? given : limit;
}

function hostOf(url: string): string {
  try {
    return new URL(url).host;
  } catch {
    return '';
  }
}

/**
 * The timeout tiers as a ky options fragment, for `ky.create(fragment)` or `ky.extend(fragment)`.
 *
 * - `total` becomes ky's `totalTimeout`, and ky's `TimeoutError` becomes a `TotalTimeoutError`
 *   (in a `beforeError` hook);
 * - ky's own per-attempt `timeout` is turned off (`false`): `attempt`, `headers` and `bodyIdle`
 *   run in a wrapper around the `fetch` in place when the call starts (an `init` hook), with
 *   timers of their own;
 * - a connect timeout reported by the agent becomes a `ConnectTimeoutError`.
 *
 * A request overrides any limit through `context: { '@ky-resilience/timeout': { attempt: 2_000 } }`;
 * the merged limits are validated when the call starts (a bad value throws a `TimeoutOptionsError`
 * from the ky call). The plugin owns ky's `timeout` and `totalTimeout` for the calls it handles:
 * set `total` rather than `totalTimeout`. A `totalTimeout` given to ky for a call (per request, or
 * by an instance extended after the plugin) can only lower `total`, and a `timeout` can only lower
 * `attempt` (ky's own timer stays off: the attempt tier runs it, with queue time left out).
 *
 * Which timeouts are retried is the retry plugin's decision: with ky's retry alone, none of
 * these errors is retried unless `retry.shouldRetry` says so.
 *
 * @example
 * const api = ky.create(agent.kyOptions).extend(timeoutPlugin({ total: 20_000, attempt: 5_000, headers: 2_000 }));
 * await api.get(url, { context: { '@ky-resilience/timeout': { attempt: 30_000 } } }).json();
 */
export function timeoutPlugin(options?: TimeoutOptions): Options {
  const { limits: base, timers } = resolveTimeoutOptions(options);

  const limitsOf = (context: Record<string, unknown> | undefined): ResolvedTimeoutLimits =>
    resolveLimits(base, context?.[contextKey], contextPrefix);
  // Where a call whose total was lowered by ky's `totalTimeout` keeps it for `beforeError`, which
  // does not see ky's `totalTimeout`. Enumerable, so that the plugins extended after this one,
  // which copy the context to add state of their own, keep it.
  const loweredTotalKey = Symbol('@ky-resilience/timeout lowered total');

  // ky runs every init hook of a call on one options object: the plugin marks the calls it has set up
  // (a symbol of its own, never seen by ky's `for...in` of the options), so that the same fragment
  // installed twice on a ky chain (on a base instance and again on a child) wraps each attempt once.
  const wrappedMark = Symbol('@ky-resilience/timeout wrapped');

  const init: InitHook = (callOptions) => {
    const marked = callOptions as Record<symbol, unknown>;
    if (marked[wrappedMark] === true) return;
    marked[wrappedMark] = true;
    let limits = limitsOf(callOptions.context);
    const total = callTotal(limits.total, callOptions.totalTimeout, base.total);
    const attempt = callAttempt(limits.attempt, callOptions.timeout);
    if (attempt !== limits.attempt) limits = { ...limits, attempt };
    callOptions.timeout = false;
    callOptions.totalTimeout = total;
    if (total !== limits.total) {
      callOptions.context = { ...callOptions.context, [loweredTotalKey]: total };
    }
    const inner: FetchFunction =
      callOptions.fetch ?? ((input, requestInit) => globalThis.fetch(input, requestInit));
    // ky starts its total timer on `performance.now()` right after the init hooks.
    const totalOfCall =
      total === false
        ? undefined
        : {
            deadline: performance.now() + total,
            limit: total,
            callerSignal: callOptions.signal ?? undefined,
          };
    let attempts = 0;
    const attemptFetch: FetchFunction = (input, requestInit) => {
      attempts += 1;
      return runAttempt(inner, input, requestInit, {
        limits,
        timers,
        attempt: attempts,
        consumer: handoffTo(requestInit, attemptFetch),
        total: totalOfCall,
      });
    };
    callOptions.fetch = attemptFetch;
  };

  const beforeError: BeforeErrorHook = ({ error, request, options: callOptions, retryCount }) => {
    // ky's own TimeoutError only: ky runs this hook for any error named `TimeoutError`, and a
    // caller's `AbortSignal.timeout()` rejects with such a DOMException, which stays the caller's.
    if (!(error instanceof TimeoutError)) return error;
    const context = callOptions.context as Record<PropertyKey, unknown> | undefined;
    const total = (context?.[loweredTotalKey] as number | undefined) ?? limitsOf(context).total;
    if (total === false) return error;
    return new TotalTimeoutError({
      host: hostOf(request.url),
      attempt: retryCount + 1,
      limit: total,
      request,
      cause: error,
    });
  };

  return {
    timeout: false,
    totalTimeout: base.total,
    hooks: { init: [init], beforeError: [beforeError] },
  };
}
