import type { InitHook, Options } from 'ky';
import type { FetchFunction } from './limiter.ts';
import { contextKey, type HostLimiterRequestOptions } from './options.ts';

/**
 * The ky options fragment of a limiter: an `init` hook that replaces the call's `fetch` by a wrapper
 * around the `fetch` in place when the call starts (`options.fetch`, else the global fetch), with
 * the request's overrides from `context['@ky-resilience/host-limiter']` (validated here, so a bad
 * override throws from the ky call). ky calls that wrapper once per attempt, so each attempt waits
 * for a slot of its own. The init hook that runs last wraps outermost: extend with this fragment
 * after the timeout and breaker plugins so that queue time is outside their attempt timers.
 */
export function kyOptionsFor(
  wrap: (fetch: FetchFunction, overrides: HostLimiterRequestOptions | undefined) => FetchFunction,
): Options {
  // ky runs every init hook of a call on one options object: this limiter marks the calls it has
  // wrapped (a symbol of its own, which ky's `for...in` of the options never sees; a WeakSet costs its
  // garbage collector's ephemeron work on every call). The same fragment installed twice on a ky
  // chain would otherwise make each attempt hold two slots of its key, and calls holding an outer
  // slot would wait for an inner one (a deadlock).
  const wrappedMark = Symbol('@ky-resilience/host-limiter wrapped');
  const init: InitHook = (callOptions) => {
    const marked = callOptions as Record<symbol, unknown>;
    if (marked[wrappedMark] === true) return;
    marked[wrappedMark] = true;
    const inner: FetchFunction =
      callOptions.fetch ?? ((input, requestInit) => globalThis.fetch(input, requestInit));
    callOptions.fetch = wrap(
      inner,
      callOptions.context?.[contextKey] as HostLimiterRequestOptions | undefined,
    );
  };
  return { hooks: { init: [init] } };
}
