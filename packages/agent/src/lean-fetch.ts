import { type CallDispatcher, FetchCall } from './fetch-call.ts';
import { FALLBACK, toOutgoing } from './fetch-request.ts';
import { queueNoticeOf } from './queue-notice.ts';

/**
 * A `fetch` that runs directly on `dispatcher.dispatch()` instead of undici's implementation of the fetch
 * standard, which costs most of a request's CPU time. It returns real WHATWG `Response`s and keeps what callers
 * rely on: request bodies and their content types, fetch's default request headers, redirects (follow, manual,
 * error; method change and credential headers dropped across origins), content decoding, backpressure, abort
 * with the signal's reason, and network errors as `TypeError('fetch failed', { cause })` with the
 * dispatcher's error as `cause`. What it does not do itself goes to `fallback` (see `toOutgoing`).
 */
export function createLeanFetch(
  dispatcher: CallDispatcher,
  fallback: (input: string | URL | Request, init?: RequestInit) => Promise<Response>,
): typeof globalThis.fetch {
  return ((input: string | URL | Request, init?: RequestInit): Promise<Response> => {
    let request: ReturnType<typeof toOutgoing>;
    try {
      request = toOutgoing(input, init);
    } catch (error) {
      return Promise.reject(error);
    }
    if (request === FALLBACK) return fallback(input, init);
    return new FetchCall(dispatcher, request, init == null ? undefined : queueNoticeOf(init)).start();
  }) as typeof globalThis.fetch;
}
