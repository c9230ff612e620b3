import type { AgentOptions, ResilientAgent } from '@ky-resilience/agent';
import type { CircuitBreakerOptions } from '@ky-resilience/circuit-breaker';
import type { HostLimiter, HostLimiterOptions } from '@ky-resilience/host-limiter';
import type { RetryOptions } from '@ky-resilience/retry';
import type { TimeoutOptions } from '@ky-resilience/timeout';
import type { Options } from 'ky';
import type { ClientEventListeners } from './events.ts';

/** ky options the client owns: giving them under `ky` is an error (the message names the tier to use). */
export const kyOwnedOptions: Readonly<Record<string, string>> = Object.freeze({
  fetch: 'the client sends through its agent: pass `agent` (options, a shared agent, or false)',
  timeout: 'set `timeout.attempt` (the timeout tier replaces ky\u2019s own per-attempt timeout)',
  totalTimeout: 'set `timeout.total`',
  retry: 'set `retry` (the retry tier owns ky\u2019s retry option)',
});

/** The ky options accepted under `ky`: everything but the options the tiers own. */
export type ClientKyOptions = Omit<Options, 'fetch' | 'timeout' | 'totalTimeout' | 'retry'>;

/**
 * The tiers the client composes, each switched off with `false`. A request overrides any tier
 * through its plugin's context key (see the README).
 */
export type ClientTierOptions = {
  /**
   * The transport: options for a new agent (created, drained and closed by the client), a shared
   * `ResilientAgent` from `createAgent()` (used, never closed by the client), or `false` for
   * Node's global `fetch`. Unset: a new agent with the defaults of `@ky-resilience/agent`
   * (100 connections, 10 per host, keep-alive 4 s, DNS cache 5 min). Its connect timeout is
   * `agent.connectTimeout` when given (at most the effective `timeout.attempt` and
   * `timeout.headers`), else `timeout.connect`, else half the smallest of `timeout.attempt`,
   * `timeout.headers` and `timeout.total` that are on, at most 10 000 (5 000 with the defaults), so
   * that a hanging connect fails as a `ConnectTimeoutError` before the attempt times out. A shared
   * agent keeps its own.
   * @default {}
   * @example { agent: { limit: 200, limitPerHost: 20, connectTimeout: 2_000 } }
   */
  agent?: AgentOptions | ResilientAgent | false;
  /**
   * The per-host concurrency limit with a bounded queue (`@ky-resilience/host-limiter`): options
   * for a limiter of the client's own, or a shared `HostLimiter` from `createHostLimiter()`
   * (share one between clients that share an agent, so that together they stay within the
   * agent's caps). `concurrency` and `globalConcurrency` default to the agent's `limitPerHost`
   * and `limit`, so requests wait in the limiter's queue (outside the attempt timeout), not in
   * the agent's pool.
   * @default { concurrency: agent.limitPerHost (10), globalConcurrency: agent.limit (100), maxQueue: 1_000, queueTimeout: 10_000 }
   * @example { hostLimiter: { concurrency: 4, queueTimeout: 2_000 } }
   */
  hostLimiter?: HostLimiterOptions | HostLimiter | false;
  /**
   * Per-host circuit breakers (`@ky-resilience/circuit-breaker`), inside the limiter and outside
   * the attempt timeouts, so a timed-out attempt counts as a failure and a request queued in the
   * limiter cannot hold a half-open probe. The preset's trip policy is a time window (the
   * plugin's own default is 5 consecutive failures): see "Why these defaults" in the README.
   * @default { policy: { kind: 'window', threshold: 0.5, windowMs: max(30_000, 2 × timeout.attempt), minimumCalls: 20 } } and the plugin's other defaults (open 5 s, doubling to 60 s; one half-open probe)
   * @example { circuitBreaker: { policy: { kind: 'consecutive', failures: 3 }, halfOpenAfter: 10_000 } }
   */
  circuitBreaker?: CircuitBreakerOptions | false;
  /**
   * The timeout tiers (`@ky-resilience/timeout`). `false`: no timeout at all but the agent's
   * connect timeout (ky's own `timeout` is turned off too).
   * @default { total: 30_000, attempt: 10_000, bodyIdle: 10_000, headers: false, connect: the agent's connectTimeout }
   * @example { timeout: { total: 10_000, attempt: 3_000, headers: 1_000 } }
   */
  timeout?: TimeoutOptions | false;
  /**
   * Retry with jittered exponential backoff and a per-host budget (`@ky-resilience/retry`).
   * `false`: one attempt per call (ky's retry is turned off too).
   * @default { limit: 3, backoff: { strategy: 'decorrelated-v2', base: 200, factor: 2, cap: 10_000 }, budget: true } and the plugin's other defaults
   * @example { retry: { limit: 2, backoff: { strategy: 'full', base: 200 } } }
   */
  retry?: RetryOptions | false;
};

/** The options of {@link createClient}. */
export type ClientOptions = ClientTierOptions & {
  /**
   * ky options merged into the instance (`baseUrl`, `headers`, `hooks`, `context`...). `fetch`,
   * `timeout`, `totalTimeout` and `retry` belong to the tiers and are errors here. Hooks run
   * around the tiers' own: `init` hooks given here run first, so they can set per-request
   * overrides in `context`; the other hooks run after the tiers' (as with `client.extend()`), so
   * a `beforeError` hook sees the error the call rejects with (a `TotalTimeoutError`, say).
   * @default {}
   * @example { ky: { baseUrl: 'https://api.example/', headers: { 'user-agent': 'svc/1.0' } } }
   */
  ky?: ClientKyOptions;
  /**
   * Listeners, by event name (the same as `client.on(name, listener)`). A listener for a tier
   * that is switched off is an error.
   * @default {}
   * @example { events: { retry: ({ host, attempt, delay }) => log.warn({ host, attempt, delay }) } }
   */
  events?: Partial<ClientEventListeners>;
  /**
   * The client's name, carried by every event and channel message as `client`.
   * @default 'ky-resilience#<n>', n counting the clients created in the process from 1
   * @example { name: 'payments-api' }
   */
  name?: string;
  /**
   * The monotonic clock (ms) that measures `durationMs` of `attempt` events.
   * @default performance.now, looked up on each call
   * @example { clock: () => fakeNow }
   */
  clock?: () => number;
};

/** The preset's defaults, where they differ from the plugins' own. */
export const clientDefaults: {
  readonly retry: Readonly<RetryOptions>;
  readonly breakerPolicy: {
    readonly kind: 'window';
    readonly threshold: number;
    readonly windowMs: number;
    readonly minimumCalls: number;
  };
  readonly connectTimeout: number;
} = Object.freeze({
  retry: Object.freeze({
    limit: 3,
    backoff: Object.freeze({ strategy: 'decorrelated-v2', base: 200, factor: 2, cap: 10_000 }),
  }) as Readonly<RetryOptions>,
  breakerPolicy: Object.freeze({
    kind: 'window',
    threshold: 0.5,
    windowMs: 30_000,
    minimumCalls: 20,
  } as const),
  connectTimeout: 10_000,
});

/** The circuit breaker's own default window length, used when a `window` policy gives none. */
export const breakerWindowDefaultMs = 60_000;

export function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null) return false;
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

/** True for a limiter made by `createHostLimiter()` (duck-typed). */
export function isHostLimiter(value: unknown): value is HostLimiter {
  if (typeof value !== 'object' || value === null) return false;
  const limiter = value as Partial<Record<keyof HostLimiter, unknown>>;
  return (
    typeof limiter.wrap === 'function' &&
    typeof limiter.globalStats === 'function' &&
    typeof limiter.stats === 'function' &&
    typeof limiter.kyOptions === 'object' &&
    limiter.kyOptions !== null
  );
}

/** True for an agent made by `createAgent()` (duck-typed, so another copy of the package works too). */
export function isResilientAgent(value: unknown): value is ResilientAgent {
  if (typeof value !== 'object' || value === null) return false;
  const agent = value as Partial<Record<keyof ResilientAgent, unknown>>;
  return (
    typeof agent.fetch === 'function' &&
    typeof agent.stats === 'function' &&
    typeof agent.close === 'function' &&
    typeof agent.options === 'object' &&
    agent.options !== null
  );
}
