import { createRequire } from 'node:module';
import type { Dispatcher, Agent as UndiciAgent } from 'undici';
import { AddressGuard } from './address-guard.ts';
import { createConnector } from './connector.ts';
import { DnsCache, type DnsStats, systemResolver } from './dns-cache.ts';
import { AgentClosedError } from './errors.ts';
import { createLeanFetch } from './lean-fetch.ts';
import { LimitedDispatcher } from './limited-dispatcher.ts';
import { type AgentOptions, type NormalizedAgentOptions, normalizeAgentOptions } from './options.ts';
import { originPool } from './origin-pool.ts';

const require = createRequire(import.meta.url);

/** Connections of one origin's pool. */
export type OriginStats = {
  /** Sockets open to the origin. */
  connected: number;
  /** Open sockets with no request on them (idle keep-alive). */
  idle: number;
  /** Requests being processed on the origin's sockets. */
  running: number;
  /**
   * Requests of the origin waiting for one of its `limitPerHost` connections (in the agent's queue for the
   * origin; with `allowH2`, in undici's pool).
   */
  queued: number;
};

export type AgentStats = {
  /** Requests holding a slot of the global `limit` (dispatched, not yet finished). */
  inFlight: number;
  /**
   * Requests waiting in the agent for a connection, the count `maxQueue` bounds: those waiting for a slot of the
   * global `limit`, plus those waiting for one of their origin's `limitPerHost` connections (not counted with
   * `allowH2`: they wait in undici's pool).
   */
  waiting: number;
  /** Requests refused at once with `AgentQueueFullError` because `maxQueue` requests were waiting. */
  queueRefusals: number;
  /** Requests replayed once after a stale keep-alive connection. */
  staleRetries: number;
  /** Per origin (`http://host:port`). */
  origins: Record<string, OriginStats>;
  dns: DnsStats;
  closed: boolean;
};

/** The ky options fragment that routes a ky instance through the agent. */
export type AgentKyOptions = { fetch: typeof globalThis.fetch };

export type ResilientAgent = {
  /** A `fetch` that sends every request through the agent's pool; pass it to ky as `fetch`. */
  readonly fetch: typeof globalThis.fetch;
  /** `{ fetch }`, for `ky.create(agent.kyOptions)` or `ky.extend(agent.kyOptions)`. */
  readonly kyOptions: AgentKyOptions;
  /** The undici dispatcher, for `fetch(url, { dispatcher })` or undici's own APIs. */
  readonly dispatcher: Dispatcher;
  /** The options in force, defaults filled in. */
  readonly options: Readonly<Omit<NormalizedAgentOptions, 'resolver' | 'clock'>>;
  stats(): AgentStats;
  /** Forgets cached DNS answers for one host, or for all. */
  clearDnsCache(hostname?: string): void;
  /** Stops taking requests, lets started and waiting ones finish, then closes every socket. */
  close(): Promise<void>;
  /** Stops at once: waiting requests fail with `AgentClosedError`, running ones are aborted, sockets closed. */
  destroy(): Promise<void>;
  readonly closed: boolean;
  [Symbol.asyncDispose](): Promise<void>;
};

/**
 * Creates the shared transport: one keep-alive pool per origin (undici), a global connection cap, a DNS cache
 * with TTL, a precise connect timeout and an optional SSRF guard. Importing this package changes nothing
 * global: undici is loaded without its entry point, which would install a global dispatcher.
 *
 * @example
 * const agent = createAgent({ limit: 100, limitPerHost: 10 });
 * const api = ky.create({ baseUrl: 'https://api.example.com/', ...agent.kyOptions });
 * await agent.close();
 */
export function createAgent(options?: AgentOptions): ResilientAgent {
  const o = normalizeAgentOptions(options);
  const guard = new AddressGuard(o);
  const dns = new DnsCache({
    resolver: o.resolver ?? systemResolver,
    ttl: o.dnsTtl,
    negativeTtl: o.dnsNegativeTtl,
    max: o.dnsCacheSize,
    clock: o.clock,
  });
  const Agent = require('undici/lib/dispatcher/agent.js') as typeof UndiciAgent;
  const sockets = new Map<string, number>();
  // undici's Agent forgets an origin's pool, and closes it gracefully, when its last connection closes (a
  // server's `Connection: close`) or a connect fails, even while requests are still on their way in it (another
  // connection of the pool being opened): `destroy()` must reach such a pool too. Pools done are dropped.
  const originPools = new Set<Dispatcher>();
  const isDestroyed = (d: Dispatcher): boolean => (d as unknown as { destroyed: boolean }).destroyed;
  // Destroyed pools are dropped when the set has doubled since the last sweep: constant work per pool made,
  // where a sweep on every new pool cost a pass over every live one (thousands of hosts).
  let sweepAt = 64;
  const trackedPool = (origin: string | URL, poolOptions: object): Dispatcher => {
    if (originPools.size >= sweepAt) {
      for (const d of originPools) if (isDestroyed(d)) originPools.delete(d);
      sweepAt = Math.max(64, originPools.size * 2);
    }
    const d = originPool(origin, poolOptions);
    originPools.add(d);
    return d;
  };
  const pool = new Agent({
    connections: o.limitPerHost === 0 ? null : o.limitPerHost,
    pipelining: 1,
    keepAliveTimeout: o.keepAliveTimeout,
    keepAliveMaxTimeout: o.keepAliveMaxTimeout,
    allowH2: o.allowH2,
    connect: createConnector({
      timeout: o.connectTimeout,
      dns,
      guard,
      allowH2: o.allowH2,
      tls: o.tls,
      sockets,
    }),
    factory: trackedPool,
  });
  const dispatcher = new LimitedDispatcher(pool, {
    limit: o.limit,
    limitPerHost: o.limitPerHost,
    maxQueue: o.maxQueue,
    allowH2: o.allowH2,
    retryStale: o.retryStaleConnections,
    sockets,
    forgotten: () => {
      const alive = [...originPools].filter((d) => !isDestroyed(d));
      originPools.clear();
      return alive;
    },
  });
  const baseFetch = globalThis.fetch;
  let closing: Promise<void> | undefined;
  const withDispatcher = { dispatcher } as unknown as RequestInit;

  // Node's own fetch over the agent's dispatcher: the path of the calls the lean fetch leaves to it.
  const fallbackFetch = (input: Request | string | URL, init?: RequestInit): Promise<Response> => {
    if (init === undefined || init === null) return baseFetch(input, withDispatcher);
    return baseFetch(input, { ...init, dispatcher } as unknown as RequestInit);
  };
  const leanFetch = createLeanFetch(dispatcher, fallbackFetch);

  const agentFetch = ((input: Request | string | URL, init?: RequestInit) => {
    if (dispatcher.closed) return Promise.reject(new AgentClosedError());
    return leanFetch(input, init);
  }) as typeof globalThis.fetch;

  const { resolver: _r, clock: _c, ...shown } = o;
  const agent: ResilientAgent = {
    fetch: agentFetch,
    kyOptions: { fetch: agentFetch },
    dispatcher,
    options: Object.freeze(shown),
    stats(): AgentStats {
      const counters = dispatcher.counters();
      const origins: Record<string, OriginStats> = {};
      const poolStats = (pool as unknown as { stats: Record<string, Record<string, number | boolean>> })
        .stats;
      for (const [origin, raw] of Object.entries(poolStats)) {
        // An origin with one connection is an undici Client, whose stats say `connected` as a boolean and
        // have no `free`: its connection is idle when it is connected and runs nothing.
        const s = raw as Record<string, number | undefined>;
        const single = typeof raw.connected === 'boolean';
        const connected = single ? (raw.connected ? 1 : 0) : (s.connected ?? 0);
        const running = s.running ?? 0;
        origins[origin] = {
          connected,
          idle: single ? (connected === 1 && running === 0 ? 1 : 0) : (s.free ?? 0),
          running,
          queued: (s.queued ?? s.pending ?? 0) + dispatcher.waitingFor(origin),
        };
      }
      // An origin whose pool undici has not made yet, or has closed, while requests wait for it.
      for (const origin of dispatcher.origins()) {
        const queued = dispatcher.waitingFor(origin);
        if (origins[origin] === undefined && queued > 0) {
          origins[origin] = { connected: 0, idle: 0, running: 0, queued };
        }
      }
      return {
        inFlight: counters.active,
        waiting: counters.waiting,
        queueRefusals: counters.queueRefusals,
        staleRetries: counters.staleRetries,
        origins,
        dns: dns.stats(),
        closed: dispatcher.closed,
      };
    },
    clearDnsCache(hostname?: string): void {
      dns.invalidate(hostname);
    },
    close(): Promise<void> {
      closing ??= dispatcher.close();
      return closing;
    },
    destroy(): Promise<void> {
      // The dispatcher's destroy() also reaches the pools undici's Agent has forgotten (see `originPools`).
      closing = dispatcher.destroy();
      return closing;
    },
    get closed(): boolean {
      return dispatcher.closed;
    },
    [Symbol.asyncDispose](): Promise<void> {
      return agent.close();
    },
  };
  return agent;
}
