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
  // ky runs every init hook of a call on one options object: the calls this limiter has wrapped
  // already. The same fragment installed twice on a ky chain would otherwise make each attempt hold
  // two slots of its key, and calls holding an outer slot would wait for an inner one (a deadlock).
  const wrappedCalls = new WeakSet<object>();
  const init: InitHook = (callOptions) => {
    if (wrappedCalls.has(callOptions)) return;
    wrappedCalls.add(callOptions);
    const inner: FetchFunction =
      callOptions.fetch ?? ((input, requestInit) => globalThis.fetch(input, requestInit));
    callOptions.fetch = wrap(
      inner,
      callOptions.context?.[contextKey] as HostLimiterRequestOptions | undefined,
    );
  };
  return { hooks: { init: [init] } };
}
