import { type AgentStats, createAgent, type ResilientAgent } from '@ky-resilience/agent';
import { CircuitBreakerRegistry, type CircuitBreakerStats } from '@ky-resilience/circuit-breaker';
import {
  createHostLimiter,
  type HostLimiter,
  type HostLimiterOptions,
  type LimiterStats,
} from '@ky-resilience/host-limiter';
import { retryPlugin } from '@ky-resilience/retry';
import { timeoutPlugin } from '@ky-resilience/timeout';
import ky, { type InitHook, type KyInstance, type Options } from 'ky';
import { attemptObserver, hostOfKey } from './attempts.ts';
import { ClientCloseTimeoutError, ClientOptionsError } from './errors.ts';
import { EventHub } from './event-hub.ts';
import { type ClientEventMap, type ClientEventName, clientEventNames, isClientEventName } from './events.ts';
import { type ClientOptions, isHostLimiter } from './options.ts';
import { pluginError } from './plugin-error.ts';
import { checkConnectOverride, resolveClientOptions, tierContextKeys } from './resolve.ts';

/** Options of `client.close()`. */
export type ClientCloseOptions = {
  /**
   * The longest wait for the attempts in flight, in ms (a finite number ≥ 0); unbounded when
   * absent. See {@link ClientExtras.close}.
   */
  timeout?: number;
};

/** What `client.stats()` returns: each tier's own figures, `undefined` for a tier switched off. */
export type ClientStats = {
  /** The client's name. */
  readonly name: string;
  /** Attempts of this client in flight now (started, not yet settled). */
  readonly inFlight: number;
  /** True once `close()` was called. */
  readonly closed: boolean;
  /** The agent's `stats()` (a shared agent's figures include its other users'). */
  readonly agent: AgentStats | undefined;
  /** The circuit breakers' `stats()` (breakers by state, rejections); per host: `client.breakers.describe(origin)`. */
  readonly breakers: CircuitBreakerStats | undefined;
  /** The host limiter's `globalStats()`; per host: `client.limiter.stats(origin)`. */
  readonly limiter: LimiterStats | undefined;
};

/** What a client adds to the ky instance it is. */
export type ClientExtras = {
  /** The client's name (the `client` field of every event). */
  readonly name: string;
  /** Adds a listener; returns the function that removes it. */
  on<K extends ClientEventName>(name: K, listener: (event: ClientEventMap[K]) => void): () => void;
  /** Each tier's figures. */
  stats(): ClientStats;
  /** The agent in use (created by the client or shared), or `undefined` with `agent: false`. */
  readonly agent: ResilientAgent | undefined;
  /** The circuit breakers, or `undefined` with `circuitBreaker: false`. */
  readonly breakers: CircuitBreakerRegistry | undefined;
  /** The host limiter (created by the client or shared), or `undefined` with `hostLimiter: false`. */
  readonly limiter: HostLimiter | undefined;
  /**
   * Stops taking calls (a new call, or a further attempt of a call in progress, fails with
   * `ClientClosedError`), waits for the attempts in flight, then closes the agent when the client
   * created it (which lets bodies being read finish). A shared agent is left open. Idempotent:
   * a later call returns the first call's promise (and its `timeout`).
   *
   * With `timeout` (ms), the whole wait is bounded: when it runs out, an agent the client created
   * is destroyed (its requests in flight fail, attempts and bodies being read alike) and `close()`
   * resolves once their attempts have ended; with a shared agent or `agent: false`, which the
   * client cannot stop, it rejects with `ClientCloseTimeoutError` (how many attempts were still in
   * flight; bodies being read on a shared agent are not waited for in any case).
   *
   * @throws {ClientOptionsError} (as a rejection) when `timeout` is not a number ≥ 0.
   */
  close(options?: ClientCloseOptions): Promise<void>;
  /** True once `close()` was called. */
  readonly closed: boolean;
  /** `close()`, for `await using client = createClient()`. */
  [Symbol.asyncDispose](): Promise<void>;
};

/** A ky instance with every tier in place, plus {@link ClientExtras}. */
export type ResilientClient = KyInstance & ClientExtras;

/** `close()`'s `timeout`, validated: `undefined` when absent. */
function closeTimeoutOf(options: ClientCloseOptions | undefined): number | undefined {
  if (options === undefined) return undefined;
  if (typeof options !== 'object' || options === null) {
    throw new ClientOptionsError('close', options, 'expected an object ({ timeout })');
  }
  for (const key of Object.keys(options)) {
    if (key !== 'timeout')
      throw new ClientOptionsError(
        `close.${key}`,
        (options as Record<string, unknown>)[key],
        'unknown option (known: timeout)',
      );
  }
  const { timeout } = options;
  if (timeout === undefined) return undefined;
  if (typeof timeout !== 'number' || !Number.isFinite(timeout) || timeout < 0) {
    throw new ClientOptionsError('close.timeout', timeout, 'expected a finite number of ms ≥ 0');
  }
  return timeout;
}

let clientCount = 0;

/**
 * Calls a tier callback given in the options, as the breaker calls its listeners: an exception is
 * rethrown from a microtask (an uncaught exception) and does not stop the client's own event.
 */
function callAside<E>(callback: ((event: E) => void) | undefined, event: E): void {
  if (callback === undefined) return;
  try {
    callback(event);
  } catch (error) {
    queueMicrotask(() => {
      throw error;
    });
  }
}

/**
 * The limiter's options with a `beforeWait` that asks the breakers first (after the user's own, if any): a
 * call that finds its host's slots taken, while the host's circuit is open, isolated or has every half-open
 * probe out, gets the breaker's `CircuitOpenError` at once rather than after waiting for a slot.
 */
function withBreakerCheck(
  options: HostLimiterOptions,
  breakers: () => CircuitBreakerRegistry | undefined,
): HostLimiterOptions {
  const own = options.beforeWait;
  return {
    ...options,
    beforeWait: (input, key) => {
      // Any value but undefined is a refusal, as the limiter reads it.
      const refusal = own?.(input, key);
      return refusal !== undefined ? refusal : breakers()?.rejection(input);
    },
  };
}

/**
 * `instance` extended with the tiers' ky fragments, their init hooks folded into one hook that runs
 * them in the same order (an init hook that throws stops the ones after it, as in ky). ky copies
 * an instance's hook arrays and merges its options on every call, and runs each init hook: one
 * hook costs less per call than a hook per tier. The tiers' other options and hooks are ky's own
 * (each tier's options merged by ky as a layer of its own; `beforeError` hooks, which are awaited
 * and whose results chain, in the same order).
 */
function extendWithTiers(instance: KyInstance, tiers: readonly Options[]): KyInstance {
  const inits: InitHook[] = [];
  const hooks: Record<string, unknown[]> = {};
  let extended = instance;
  for (const { hooks: tierHooks, ...options } of tiers) {
    if (Object.keys(options).length > 0) extended = extended.extend(options);
    for (const [type, list] of Object.entries(tierHooks ?? {})) {
      if (list === undefined) continue;
      if (type === 'init') inits.push(...(list as InitHook[]));
      else hooks[type] = [...(hooks[type] ?? []), ...(list as unknown[])];
    }
  }
  const init: InitHook = (callOptions) => {
    for (const hook of inits) hook(callOptions);
  };
  return extended.extend({ hooks: { ...hooks, init: [init] } });
}

function build<T>(tier: string, create: () => T): T {
  try {
    return create();
  } catch (error) {
    throw pluginError(tier, error);
  }
}

/**
 * Creates a ky instance with the whole resilience stack, composed in this order (outermost
 * first): ky's total timeout and retry decision (the retry tier, with jittered backoff and a
 * per-host budget), then for each attempt the client's attempt observer, the retry tier's body
 * buffering, the host limiter, the circuit breaker, the attempt timeouts, and the agent's fetch. Every tier can be configured or
 * switched off (`false`), and overridden per request through its plugin's `context` key.
 *
 * @example
 * await using client = createClient({ ky: { baseUrl: 'https://api.example/' } }); // Node 24+
 * const user = await client.get('users/1').json();
 *
 * @example
 * const client = createClient({ retry: { limit: 2 }, timeout: { total: 10_000, attempt: 3_000 } });
 * client.on('retry', ({ host, attempt, delay, reason }) => log.warn({ host, attempt, delay, reason }));
 * try { await client.get(url).json(); } finally { await client.close(); }
 */
export function createClient(options?: ClientOptions): ResilientClient {
  const plan = resolveClientOptions(options);
  clientCount += 1;
  const name = plan.name ?? `ky-resilience#${clientCount}`;
  const hub = new EventHub();
  for (const event of clientEventNames) {
    const listener = plan.events[event];
    if (listener !== undefined) hub.on(event, listener as (e: ClientEventMap[typeof event]) => void);
  }

  // The tiers. Each plugin validates its own options here; the agent comes last, so that a bad
  // option anywhere leaves nothing to close.
  const timeout =
    plan.timeout === undefined ? undefined : build('timeout', () => timeoutPlugin(plan.timeout));
  const ownsLimiter = plan.hostLimiter !== undefined && !isHostLimiter(plan.hostLimiter);
  const limiter =
    plan.hostLimiter === undefined
      ? undefined
      : isHostLimiter(plan.hostLimiter)
        ? plan.hostLimiter
        : build('hostLimiter', () =>
            createHostLimiter(
              // A call that would wait for a slot of a host whose breaker turns calls away fails at once instead.
              plan.circuitBreaker === undefined
                ? (plan.hostLimiter as HostLimiterOptions)
                : withBreakerCheck(plan.hostLimiter as HostLimiterOptions, () => breakers),
            ),
          );
  const breakerOptions = plan.circuitBreaker;
  const breakers =
    breakerOptions === undefined
      ? undefined
      : build(
          'circuitBreaker',
          () =>
            new CircuitBreakerRegistry({
              ...breakerOptions,
              onStateChange: (event) => {
                // Calls already waiting for a slot of a host whose circuit just opened fail now, as later
                // ones do (the limiter's beforeWait asks the breakers).
                if (ownsLimiter && (event.to === 'open' || event.to === 'isolated'))
                  limiter?.recheck(event.host);
                callAside(breakerOptions.onStateChange, event);
                hub.emit('breakerStateChange', () => ({
                  client: name,
                  host: hostOfKey(event.host),
                  key: event.host,
                  from: event.from,
                  to: event.to,
                  reason: event.reason,
                  nextProbeAt: event.nextProbeAt,
                }));
              },
              onRejected: (event) => {
                callAside(breakerOptions.onRejected, event);
                hub.emit('breakerRejected', () => ({
                  client: name,
                  host: hostOfKey(event.host),
                  key: event.host,
                  state: event.state,
                }));
              },
            }),
        );
  const retryOptions = plan.retry;
  const retry =
    retryOptions === undefined
      ? undefined
      : build('retry', () =>
          retryPlugin({
            ...retryOptions,
            onRetry: (event) => {
              retryOptions.onRetry?.(event);
              hub.emit('retry', () => ({
                client: name,
                host: event.host,
                attempt: event.attempt,
                delay: event.delay,
                reason: event.reason,
                delaySource: event.delaySource,
                error: event.error,
              }));
            },
            onGiveUp: (event) => {
              retryOptions.onGiveUp?.(event);
              hub.emit('giveUp', () => ({
                client: name,
                host: event.host,
                attempts: event.attempts,
                error: event.error,
                reason: event.decision.reason,
              }));
            },
          }),
        );
  const ownsAgent = plan.agent.kind === 'own';
  const agent =
    plan.agent.kind === 'own'
      ? build('agent', () =>
          createAgent((plan.agent as { options: Parameters<typeof createAgent>[0] }).options),
        )
      : plan.agent.kind === 'shared'
        ? plan.agent.agent
        : undefined;

  // In-flight attempts, for close().
  let closed = false;
  let inFlight = 0;
  let drained: (() => void) | undefined;
  let closing: Promise<void> | undefined;
  const clockOption = plan.clock;
  const observer = attemptObserver({
    name,
    hub,
    clock: clockOption ?? (() => performance.now()),
    isClosed: () => closed,
    started: () => {
      inFlight += 1;
    },
    settled: () => {
      inFlight -= 1;
      if (inFlight === 0 && drained !== undefined) {
        const resolve = drained;
        drained = undefined;
        resolve();
      }
    },
  });

  // A request may not override a tier that is switched off, nor the agent's connect timer: the
  // timeout tier's `connect` only labels the agent's error, so a per-request value other than the
  // agent's connect timeout would be accepted and do nothing (the rule `timeout.connect` follows
  // at creation). This runs after the caller's `init` hooks, which may set the overrides.
  const offContextKeys = plan.offContextKeys;
  const timeoutKey = tierContextKeys.timeout;
  const checkConnect = timeout !== undefined;
  const agentConnect = agent?.options.connectTimeout;
  const guard: InitHook = (callOptions) => {
    const context = callOptions.context;
    if (context === undefined) return;
    for (const [key, tier] of offContextKeys) {
      if (context[key] !== undefined) {
        throw new ClientOptionsError(
          `context['${key}']`,
          context[key],
          `the ${tier} tier is switched off (${tier}: false)`,
        );
      }
    }
    if (checkConnect) {
      const override = context[timeoutKey];
      if (typeof override === 'object' && override !== null && 'connect' in override) {
        checkConnectOverride((override as { connect?: unknown }).connect, agentConnect);
      }
    }
  };

  // The base: the agent's fetch and the tiers' ownership of ky's timeout and retry, then the user's
  // ky options (their init hooks run before the guard and the tiers', so they can set overrides).
  const base: Options = {
    ...(agent === undefined ? {} : { fetch: agent.fetch }),
    ...(timeout === undefined ? { timeout: false, totalTimeout: false } : {}),
    ...(retry === undefined ? { retry: 0 } : {}),
  };
  // The guard first; then, per attempt, the init hook that runs last wraps outermost: timeouts
  // (innermost), the breaker, the limiter, retry (body buffering, headers), then the observer.
  const tiers: Options[] = [{ hooks: { init: [guard] } }];
  if (timeout !== undefined) tiers.push(timeout);
  if (breakers !== undefined) tiers.push(breakers.kyOptions);
  if (limiter !== undefined) tiers.push(limiter.kyOptions);
  if (retry !== undefined) tiers.push(retry);
  tiers.push({ hooks: { init: [observer.init], beforeError: [observer.beforeError] } });
  // The caller's `init` hooks run before the tiers' (to set per-request overrides in `context`); their
  // other hooks after the tiers', as hooks added with `client.extend()` do: a `beforeError` hook sees
  // the error the call rejects with (a `TotalTimeoutError`, a retry decision), not ky's raw one.
  const { hooks: kyHooks, ...kyOptions } = plan.ky;
  const { init: kyInit, ...kyLater } = kyHooks ?? {};
  const later = Object.fromEntries(Object.entries(kyLater).filter(([, list]) => list !== undefined));
  let instance = extendWithTiers(
    ky.create(base).extend(kyInit === undefined ? kyOptions : { ...kyOptions, hooks: { init: kyInit } }),
    tiers,
  );
  if (Object.keys(later).length > 0) instance = instance.extend({ hooks: later });

  const settledAll = (): Promise<void> =>
    inFlight === 0
      ? Promise.resolve()
      : new Promise<void>((resolve) => {
          drained = resolve;
        });

  const close = (options?: ClientCloseOptions): Promise<void> => {
    if (closing !== undefined) return closing;
    let timeout: number | undefined;
    try {
      timeout = closeTimeoutOf(options);
    } catch (error) {
      return Promise.reject(error);
    }
    closing = (async () => {
      closed = true;
      const owned = ownsAgent ? agent : undefined;
      // The attempts in flight, then (an agent of its own) the agent, which waits for bodies being read.
      const finished = settledAll().then(() => owned?.close());
      if (timeout === undefined) return finished;
      let timer: ReturnType<typeof setTimeout> | undefined;
      let expired: boolean;
      try {
        expired = await Promise.race([
          finished.then(() => false),
          new Promise<boolean>((resolve) => {
            timer = setTimeout(() => resolve(true), timeout);
          }),
        ]);
      } finally {
        // Also when closing the agent failed: no timer is left behind.
        clearTimeout(timer);
      }
      if (!expired) return;
      if (owned === undefined) throw new ClientCloseTimeoutError(name, inFlight, timeout);
      // The agent is the client's own: stop its requests (attempts and bodies); they then end. Attempts
      // waiting in a limiter of its own never reached the agent: the limiter refuses them (never sent).
      if (ownsLimiter) limiter?.close();
      await owned.destroy();
      await finished;
    })();
    return closing;
  };

  const extras: ClientExtras = {
    name,
    on(event, listener) {
      if (!isClientEventName(event)) {
        throw new ClientOptionsError('event', event, `unknown event (known: ${clientEventNames.join(', ')})`);
      }
      const tier = plan.offEvents.get(event);
      if (tier !== undefined) {
        throw new ClientOptionsError(
          `on('${event}')`,
          listener,
          `the ${tier} tier is switched off (${tier}: false): this event never fires`,
        );
      }
      if (typeof listener !== 'function') {
        throw new ClientOptionsError(`on('${event}')`, listener, 'expected a function');
      }
      return hub.on(event, listener);
    },
    stats() {
      return {
        name,
        inFlight,
        closed,
        agent: agent?.stats(),
        breakers: breakers?.stats(),
        limiter: limiter?.globalStats(),
      };
    },
    agent,
    breakers,
    limiter,
    close,
    get closed() {
      return closed;
    },
    [Symbol.asyncDispose]: close,
  };
  return Object.defineProperties(instance, Object.getOwnPropertyDescriptors(extras)) as ResilientClient;
}
