import type { Options } from 'ky';
import { releaseWithBody } from './body.ts';
import { type BodyConsumer, handoffTo, setHandoff } from './body-handoff.ts';
import { HostLimiterClosedError, HostLimiterOptionsError } from './errors.ts';
import type { HostEntry } from './host-entry.ts';
import { asRequest, originOf } from './key.ts';
import {
  type HostLimiterOptions,
  type HostLimiterRequestOptions,
  type ResolvedHostLimiterOptions,
  resolveHostLimiterOptions,
  resolveRequestOptions,
} from './options.ts';
import { kyOptionsFor } from './plugin.ts';
import { Registry } from './registry.ts';
import { pauseMs, quotaExhausted } from './retry-after.ts';
import { type Permit, Scheduler } from './scheduler.ts';

/** The fetch signature a ky `fetch` option has. */
export type FetchFunction = (input: Request | string | URL, init?: RequestInit) => Promise<Response>;

/** A snapshot of one key. */
export type HostStats = {
  /** The key (by default the origin). */
  readonly key: string;
  /** Requests holding a slot: in flight, or whose response body is still being read. */
  readonly active: number;
  /** Requests waiting in the key's queue. */
  readonly queued: number;
  /** Requests rejected (queue full or queue timeout) since the key entered the registry. */
  readonly rejected: number;
  /** Of `rejected`: rejected at once because the key's queue or the global queue was full. */
  readonly rejectedQueueFull: number;
  /** Of `rejectedQueueFull`: because the global queue (`maxQueueTotal`) was full. */
  readonly rejectedQueueFullGlobal: number;
  /** Of `rejected`: waited the whole queue timeout. */
  readonly rejectedQueueTimeout: number;
  /** When the key is paused after a 429/503 with Retry-After or a rate-limit reset: until when (the limiter's clock, ms since the epoch by default). */
  readonly pausedUntil: number | undefined;
  /** The key's concurrency limit. */
  readonly limit: number;
};

/** A snapshot of the whole limiter. */
export type LimiterStats = {
  /** Requests holding a slot, across every key. */
  readonly active: number;
  /** Requests waiting, across every key (at most `maxQueueTotal`). */
  readonly queued: number;
  /** Keys in the registry's LRU (at most `maxHosts`). */
  readonly hosts: number;
  /** Keys evicted from the LRU while busy, kept until their requests are done. */
  readonly evictedBusy: number;
};

/** A limiter: one set of slots and queues, shared by everything that uses it. */
/**
 * The key a control (`stats`, `pause`, `recheck`) acts on: a key, or a URL (a string, a `URL` or a
 * `Request`) of the host. With the default key, a URL string that is not itself a known key stands
 * for its origin, so `'https://api.example/'` and `'https://api.example/items'` mean
 * `'https://api.example'`. With a `key` option, a string is always the key itself, and a `URL` or a
 * `Request` is keyed by `key(request)`.
 */
export type KeyArgument = string | URL | Request;

/** An absolute http(s) URL (the scheme is case-insensitive, as the URL parser reads it). */
const httpUrl = /^https?:\/\//i;

export type HostLimiter = {
  /**
   * The ky options fragment (an `init` hook) that sends each attempt of a call through this
   * limiter. Several ky instances extended with it share the limiter's slots.
   */
  readonly kyOptions: Options;
  /**
   * `fetch` through the limiter: waits for a slot of the request's key, calls `fetch`, and holds
   * the slot until the response body ends, errors or is cancelled.
   */
  wrap(fetch: FetchFunction, overrides?: HostLimiterRequestOptions): FetchFunction;
  /** The key a request is limited by (the `key` option, by default the origin). */
  keyOf(input: Request | string | URL): string;
  /**
   * A snapshot of `key` (by default an origin such as `http://127.0.0.1:8080`); `undefined` when the
   * registry does not know it. `key` may also be a URL of the host (see {@link KeyArgument}).
   */
  stats(key: KeyArgument): HostStats | undefined;
  /** A snapshot of the whole limiter. */
  globalStats(): LimiterStats;
  /**
   * Closes the limiter, for a shutdown: every request waiting for a slot is rejected at once with a
   * `HostLimiterClosedError` (never sent), and so is every request after it. Requests holding a slot
   * go on and release it as usual. A second call does nothing.
   */
  close(): void;
  /** True once `close()` was called. */
  readonly closed: boolean;
  /**
   * Pauses `key` until `until` (the limiter's clock) as a 429 with Retry-After would: no queued or
   * new request of the key starts before then. A pause is only ever extended, never shortened. A
   * `until` that is not a finite number throws a `HostLimiterOptionsError`.
   */
  pause(key: KeyArgument, until: number): void;
  /**
   * Asks `beforeWait` again about every request waiting for `key`, for when its answer may have changed
   * (the preset calls it when a host's circuit opens): those it now refuses leave the queue at once, rejected
   * with its error and never sent. Returns how many left; 0 without a `beforeWait` or an unknown key. A `key`
   * that is not a string throws a `HostLimiterOptionsError`.
   */
  recheck(key: KeyArgument): number;
};

function hostStats(entry: HostEntry, options: ResolvedHostLimiterOptions): HostStats {
  return {
    key: entry.key,
    active: entry.active,
    queued: entry.queue.size,
    rejected: entry.rejectedFull + entry.rejectedTimeout,
    rejectedQueueFull: entry.rejectedFull,
    rejectedQueueFullGlobal: entry.rejectedFullGlobal,
    rejectedQueueTimeout: entry.rejectedTimeout,
    pausedUntil: entry.pausedUntil > options.clock() ? entry.pausedUntil : undefined,
    limit: options.concurrency,
  };
}

/**
 * Creates a host limiter: per-key and global concurrency limits, a bounded FIFO queue per key with
 * a queue timeout, an optional per-key rate limit and an adaptive pause after 429/503 with
 * Retry-After (or, without it, `RateLimit-Reset`, `X-RateLimit-Retry-After`, `X-RateLimit-Reset` or
 * `X-Rate-Limit-Reset`). Bad options throw a `HostLimiterOptionsError`.
 *
 * @example
 * const limiter = createHostLimiter({ concurrency: 5, globalConcurrency: 50, queueTimeout: 5_000 });
 * const api = ky.create(agent.kyOptions).extend(timeoutPlugin()).extend(limiter.kyOptions);
 * await api.get(url).json();
 * limiter.stats(new URL(url).origin); // { active, queued, rejected, pausedUntil, ... }
 */
export function createHostLimiter(options?: HostLimiterOptions): HostLimiter {
  const resolved = resolveHostLimiterOptions(options);
  const registry = new Registry(resolved);
  const scheduler = new Scheduler(resolved, registry);
  const { clock, maxPause, pauseStatuses, pauseOnExhausted } = resolved;

  const keyOf = (input: Request | string | URL): string => {
    const request = asRequest(input);
    if (resolved.key !== undefined) {
      const key = resolved.key(request ?? new Request(input));
      if (typeof key !== 'string') {
        throw new HostLimiterOptionsError('key', key, 'the key function must return a string');
      }
      return key;
    }
    if (request !== undefined) return originOf(request.url);
    return new URL(String(input)).origin;
  };

  const afterHead = (permit: Permit, response: Response, consumer: BodyConsumer | undefined): Response => {
    // `scheduler.release` gives a permit back once, however often it is called.
    const release = (): void => scheduler.release(permit);
    try {
      if (
        maxPause !== false &&
        (pauseStatuses.has(response.status) || (pauseOnExhausted && quotaExhausted(response.headers)))
      ) {
        const now = clock();
        const wait = pauseMs(response.headers, now);
        if (wait !== undefined) scheduler.pause(permit.entry, now + Math.min(wait, maxPause));
      }
      return releaseWithBody(response, release, consumer);
    } catch (error) {
      // A response the limiter cannot take over (not a WHATWG Response, say): the slot goes back.
      release();
      throw error;
    }
  };

  const run = (
    permit: Permit,
    fetch: FetchFunction,
    input: Request | string | URL,
    init: RequestInit | undefined,
    consumer: BodyConsumer | undefined,
  ): Promise<Response> => {
    let pending: Promise<Response>;
    try {
      pending = fetch(input, consumer === undefined ? init : setHandoff({ ...init }, consumer, fetch));
    } catch (error) {
      scheduler.release(permit);
      return Promise.reject(error);
    }
    return pending.then(
      (response) => afterHead(permit, response, consumer),
      (error: unknown) => {
        scheduler.release(permit);
        throw error;
      },
    );
  };

  /** What `beforeWait` answers for a call that would wait: an error (returned or thrown) or `undefined`. */
  const refusalOf = (input: Request | string | URL, key: string): unknown => {
    if (resolved.beforeWait === undefined) return undefined;
    try {
      return resolved.beforeWait(input, key);
    } catch (error) {
      return error;
    }
  };

  const wrap = (fetch: FetchFunction, overrides?: HostLimiterRequestOptions): FetchFunction => {
    const settings = resolveRequestOptions(overrides, resolved.queueTimeout);
    const limited: FetchFunction = (input, init) => {
      const consumer = handoffTo(init, limited);
      const request = asRequest(input);
      const signal = init?.signal ?? request?.signal ?? undefined;
      if (signal?.aborted) return Promise.reject(signal.reason);
      let entry: HostEntry;
      try {
        entry = registry.entryFor(settings.key ?? keyOf(input));
      } catch (error) {
        return Promise.reject(error);
      }
      if (scheduler.closed) return Promise.reject(new HostLimiterClosedError(entry.key, request));
      const permit = scheduler.tryAcquire(entry);
      if (permit !== undefined) return run(permit, fetch, input, init, consumer);
      const refusal = refusalOf(input, entry.key);
      if (refusal !== undefined) return Promise.reject(refusal);
      return scheduler
        .enqueue(entry, signal, settings.queueTimeout, request, input)
        .then((granted) => run(granted, fetch, input, init, consumer));
    };
    return limited;
  };

  // The key a control (`stats`, `pause`, `recheck`) means: a URL object or a Request is keyed as a
  // request to it would be; a string is the key itself, except that with the default key an absolute
  // http(s) URL that is not a known key stands for its origin (a ky `baseUrl` ends with a slash).
  // Anything else is `undefined`.
  const controlKey = (key: unknown): string | undefined => {
    if (typeof key === 'string') {
      if (resolved.key !== undefined || !httpUrl.test(key) || registry.peek(key) !== undefined) return key;
      try {
        return new URL(key).origin;
      } catch {
        return key;
      }
    }
    return key instanceof URL || asRequest(key) !== undefined ? keyOf(key as URL | Request) : undefined;
  };
  const limiter: HostLimiter = {
    kyOptions: kyOptionsFor((fetch, overrides) => wrap(fetch, overrides)),
    wrap,
    keyOf,
    stats(key) {
      const found = controlKey(key);
      const entry = found === undefined ? undefined : registry.peek(found);
      return entry === undefined ? undefined : hostStats(entry, resolved);
    },
    globalStats() {
      return {
        active: scheduler.active,
        queued: scheduler.queued,
        hosts: registry.size,
        evictedBusy: registry.detachedSize,
      };
    },
    close() {
      scheduler.close();
    },
    get closed() {
      return scheduler.closed;
    },
    pause(host, until) {
      const key = controlKey(host);
      if (key === undefined) {
        throw new HostLimiterOptionsError('pause.key', host, 'expected a key (a string) or a URL');
      }
      if (typeof until !== 'number' || !Number.isFinite(until)) {
        // NaN would clear a pause in force; Infinity would hold the key for good, with no way to lift it.
        throw new HostLimiterOptionsError(
          'pause.until',
          until,
          "expected a finite time in ms on the limiter's clock (e.g. Date.now() + 60_000)",
        );
      }
      const entry = registry.entryFor(key);
      scheduler.pause(entry, until);
    },
    recheck(host) {
      const key = controlKey(host);
      if (key === undefined) {
        throw new HostLimiterOptionsError('recheck.key', host, 'expected a key (a string) or a URL');
      }
      const entry = registry.peek(key);
      if (resolved.beforeWait === undefined || entry === undefined || entry.queue.size === 0) return 0;
      return scheduler.recheck(entry, (waiter) => refusalOf(waiter.input, key));
    },
  };
  return limiter;
}

/**
 * A host limiter as a ky options fragment, for `ky.create(fragment)` or `ky.extend(fragment)`.
 * Shorthand for `createHostLimiter(options).kyOptions`: use {@link createHostLimiter} to read
 * `stats()` or to share one limiter between ky instances.
 *
 * @example
 * const api = ky.create(agent.kyOptions).extend(timeoutPlugin()).extend(hostLimiterPlugin({ concurrency: 5 }));
 */
export function hostLimiterPlugin(options?: HostLimiterOptions): Options {
  return createHostLimiter(options).kyOptions;
}
