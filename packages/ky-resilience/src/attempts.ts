import { isHostLimiterError, isQueueFullError } from '@ky-resilience/host-limiter';
import {
  isResilienceTimeoutError,
  isTotalTimeoutError,
  type ResilienceTimeoutError,
} from '@ky-resilience/timeout';
import type { BeforeErrorHook, InitHook } from 'ky';
import { ClientClosedError } from './errors.ts';
import type { EventHub } from './event-hub.ts';

type FetchFunction = (input: Request | string | URL, init?: RequestInit) => Promise<Response>;

/** The host (`host:port`) of a URL, or `''`. */
export function hostOf(url: string): string {
  try {
    return new URL(url).host;
  } catch {
    return '';
  }
}

/** The host of a limiter or breaker key: the key's host when it is an origin (the default), else the key. */
export function hostOfKey(key: string): string {
  if (!key.includes('://')) return key;
  const host = hostOf(key);
  return host === '' ? key : host;
}

const MAX_CAUSE_DEPTH = 4;

/** The timeout error in `error` or its `cause` chain (a layer may wrap it). */
function timeoutIn(error: unknown): ResilienceTimeoutError | undefined {
  let current = error;
  for (let depth = 0; depth <= MAX_CAUSE_DEPTH; depth += 1) {
    if (isResilienceTimeoutError(current)) return current;
    if (typeof current !== 'object' || current === null) return undefined;
    current = (current as { cause?: unknown }).cause;
  }
  return undefined;
}

/** What the attempt observer needs from its client. */
export type AttemptObserverHost = {
  readonly name: string;
  readonly hub: EventHub;
  /** The clock of `durationMs` (looked up on each attempt). */
  readonly clock: () => number;
  /** True once `close()` was called. */
  readonly isClosed: () => boolean;
  /** Called when an attempt starts and when it settles (in-flight accounting for `close()`). */
  readonly started: () => void;
  readonly settled: () => void;
};

/**
 * The client's own fetch wrapper, outermost of the per-attempt wrappers: it sees every attempt
 * exactly once with its final outcome (after the retry tier's body buffering, including the
 * limiter's and the breaker's rejections), measures its duration, and emits `attempt`,
 * `limiterRejected` and `timeout` events. It also refuses attempts after `close()`.
 */
export function attemptObserver(host: AttemptObserverHost): { init: InitHook; beforeError: BeforeErrorHook } {
  const { hub, name } = host;

  const onSettled = (
    input: Request | string | URL,
    requestInit: RequestInit | undefined,
    attempt: number,
    started: number,
    status: number | undefined,
    error: unknown,
  ): void => {
    host.settled();
    if (hub.wants('attempt')) {
      const durationMs = host.clock() - started;
      // Read only for an event (a Request's url is serialized on each read).
      const request = input instanceof Request ? input : undefined;
      const method = (request?.method ?? requestInit?.method ?? 'GET').toUpperCase();
      const url = request?.url ?? String(input);
      hub.emit('attempt', () =>
        status === undefined
          ? { client: name, host: hostOf(url), method, url, attempt, error, durationMs }
          : { client: name, host: hostOf(url), method, url, attempt, status, durationMs },
      );
    }
    if (status !== undefined) return;
    if (isHostLimiterError(error)) {
      hub.emit('limiterRejected', () => ({
        client: name,
        host: hostOfKey(error.key),
        key: error.key,
        reason: isQueueFullError(error) ? 'queue-full' : 'queue-timeout',
      }));
      return;
    }
    const timeout = timeoutIn(error);
    if (timeout !== undefined && timeout.phase !== 'total') {
      hub.emit('timeout', () => ({
        client: name,
        host: timeout.host,
        phase: timeout.phase,
        attempt: timeout.attempt,
        limit: timeout.limit,
        sent: timeout.sent,
      }));
    }
  };

  const init: InitHook = (callOptions) => {
    if (host.isClosed()) {
      // The call fails as fetch does, with a rejected promise (ky runs init hooks in the call: a throw here
      // would escape a `.catch()` chained to it). This fetch is the outermost: no tier sees an attempt.
      const closed = new ClientClosedError(name);
      callOptions.fetch = () => Promise.reject(closed);
      // Nor may a `beforeRequest` hook answer it (a cached response): the call fails as a whole.
      callOptions.hooks = { ...callOptions.hooks, beforeRequest: [] };
      return;
    }
    const inner: FetchFunction =
      callOptions.fetch ?? ((input, requestInit) => globalThis.fetch(input, requestInit));
    let attempts = 0;
    callOptions.fetch = (input, requestInit) => {
      attempts += 1;
      if (host.isClosed()) return Promise.reject(new ClientClosedError(name));
      const attempt = attempts;
      // The clock first: a clock that throws then fails the attempt without counting it in flight.
      const started = host.clock();
      host.started();
      let pending: Promise<Response>;
      try {
        pending = inner(input, requestInit);
      } catch (error) {
        pending = Promise.reject(error);
      }
      return pending.then(
        (response) => {
          onSettled(input, requestInit, attempt, started, response.status, undefined);
          return response;
        },
        (error: unknown) => {
          onSettled(input, requestInit, attempt, started, undefined, error);
          throw error;
        },
      );
    };
  };

  // The total timeout is ky's own (the timeout tier turns it into a TotalTimeoutError in its
  // beforeError hook, which runs before this one): no attempt sees it.
  const beforeError: BeforeErrorHook = ({ error }) => {
    const timeout = timeoutIn(error);
    if (timeout !== undefined && isTotalTimeoutError(timeout)) {
      hub.emit('timeout', () => ({
        client: name,
        host: timeout.host,
        phase: 'total',
        attempt: timeout.attempt,
        limit: timeout.limit,
        sent: timeout.sent,
      }));
    }
    return error;
  };

  return { init, beforeError };
}
