import { createRequire } from 'node:module';

/**
 * HTTP clients under test. Each one is built in its own worker process, and each factory imports only what it
 * needs, lazily: importing npm undici installs its Agent as the process's global dispatcher when none is set yet,
 * which would silently turn "Node's default fetch" into "fetch over npm undici".
 */
export type ClientName =
  | 'ky-default-fetch'
  | 'ky-agent'
  | 'node-fetch'
  | 'agent-fetch'
  | 'undici-fetch'
  | 'undici-request'
  | 'preset'
  | 'ky-retry'
  | 'got'
  | 'axios'
  | 'ofetch'
  | 'p-retry'
  | 'opossum'
  | 'cockatiel'
  | 'ky-agent-host-limiter'
  | 'ky-agent-breaker'
  | 'ky-agent-timeout'
  | 'ky-agent-retry'
  | 'ky-agent-host-limiter-wrap'
  | 'ky-agent-breaker-wrap'
  | 'ky-agent-p-limit'
  | 'ky-agent-bulkhead'
  | 'ky-agent-cockatiel-breaker'
  | 'ky-agent-opossum';

export type ClientOptions = {
  /** `limitPerHost` of `createAgent` (agent clients and the preset); `undefined` keeps the agent's default. */
  limitPerHost?: number;
  /** Options of the preset's `createClient` (the preset only), merged over `limitPerHost`. */
  preset?: Record<string, unknown>;
  /** ky options for `ky-default-fetch` (e.g. a tuned timeout); ky's defaults otherwise. */
  ky?: Record<string, unknown>;
  /** got options merged over its defaults (e.g. `timeout.response` and `retry.backoffLimit` for a deadline). */
  got?: Record<string, unknown>;
  /** cockatiel's README policy with a per-attempt `timeout()` inside the retry, and the backoff's first delay. */
  cockatiel?: { attemptTimeoutMs: number; initialDelayMs: number };
  /** Map every host name to 127.0.0.1 with this DNS TTL in ms (agent clients and the preset only). */
  loopbackResolver?: { ttl: number };
  /** `keepAliveTimeout` of `createAgent` (agent clients and the preset); `undefined` keeps the agent's default. */
  keepAliveTimeout?: number;
};

/** Per-call extras: the benchmark's abort signal and headers (e.g. a call id the upstream records). */
export type CallInit = { signal?: AbortSignal; headers?: Record<string, string> };

export type Client = {
  /** Sends one GET and reads the whole body as text; rejects when the call failed (status ≥ 400 included). */
  get(url: string, init?: CallInit): Promise<unknown>;
  /** Facts about the client's process, read after the runs (e.g. which dispatcher the global fetch used). */
  inspect(): Promise<Record<string, unknown>>;
  close(): Promise<void>;
};

export const clientNames: readonly ClientName[] = [
  'ky-default-fetch',
  'ky-agent',
  'node-fetch',
  'agent-fetch',
  'undici-fetch',
  'undici-request',
  'preset',
  'ky-retry',
  'got',
  'axios',
  'ofetch',
  'p-retry',
  'opossum',
  'cockatiel',
  'ky-agent-host-limiter',
  'ky-agent-breaker',
  'ky-agent-timeout',
  'ky-agent-retry',
  'ky-agent-host-limiter-wrap',
  'ky-agent-breaker-wrap',
  'ky-agent-p-limit',
  'ky-agent-bulkhead',
  'ky-agent-cockatiel-breaker',
  'ky-agent-opossum',
];

const require = createRequire(import.meta.url);

/** npm undici modules loaded into this process so far (undici is CommonJS, so each lands in `require.cache`). */
function npmUndiciModules(): string[] {
  return Object.keys(require.cache).filter((path) =>
    /[/\\]undici@[^/\\]+[/\\]node_modules[/\\]undici[/\\]/.test(path),
  );
}

/**
 * Which dispatcher Node's global fetch used: set lazily by Node's embedded undici on the first fetch, unless
 * npm undici was imported first. Checked after the runs; loading npm undici's Agent class by path does not run
 * its global side effect.
 */
function globalDispatcherFacts(): Record<string, unknown> {
  const loadedBefore = npmUndiciModules().length;
  const dispatcher = (globalThis as Record<symbol, unknown>)[Symbol.for('undici.globalDispatcher.1')];
  const NpmAgent = require('undici/lib/dispatcher/agent.js') as new (...args: never[]) => object;
  return {
    embeddedUndici: process.versions.undici,
    npmUndiciModulesLoadedDuringRuns: loadedBefore,
    globalDispatcherSet: dispatcher !== undefined,
    globalDispatcherIsNpmUndiciAgent: dispatcher instanceof NpmAgent,
  };
}

/** A client on Node's default fetch: nothing to close; its account is which dispatcher the global fetch used. */
function onNodeFetch(get: Client['get']): Client {
  return { get, inspect: async () => globalDispatcherFacts(), close: async () => {} };
}

function npmUndiciVersion(): string {
  return (require('undici/package.json') as { version: string }).version;
}

async function kyInstance(
  fetch?: typeof globalThis.fetch,
  options: Record<string, unknown> = {},
): Promise<import('ky').KyInstance> {
  const { default: ky } = await import('ky');
  // ky's defaults, identical for every ky variant; only the fetch differs (and options a suite asks for).
  return ky.create({ ...options, ...(fetch === undefined ? {} : { fetch }) } as import('ky').Options);
}

/** Agent options from the client options: `limitPerHost` and the loopback resolver. */
function agentOptions(options: ClientOptions): import('@ky-resilience/agent').AgentOptions {
  const agent: import('@ky-resilience/agent').AgentOptions = {};
  if (options.limitPerHost !== undefined) agent.limitPerHost = options.limitPerHost;
  if (options.keepAliveTimeout !== undefined) agent.keepAliveTimeout = options.keepAliveTimeout;
  if (options.loopbackResolver !== undefined) {
    const answer = [{ address: '127.0.0.1', family: 4 as const, ttl: options.loopbackResolver.ttl }];
    agent.resolver = async () => answer;
  }
  return agent;
}

async function agentOf(options: ClientOptions): Promise<import('@ky-resilience/agent').ResilientAgent> {
  const { createAgent } = await import('@ky-resilience/agent');
  return createAgent(agentOptions(options));
}

/** A failed status as an error, for the clients that resolve on any status (fetch). */
class StatusError extends Error {
  readonly status: number;
  constructor(status: number) {
    super(`status ${status}`);
    this.name = 'StatusError';
    this.status = status;
  }
}

/** Node's default fetch that rejects on a failed status (after discarding its body), for the wrappers. */
async function fetchText(url: string, init: CallInit | undefined): Promise<string> {
  const response = await fetch(url, init);
  if (!response.ok) {
    await response.body?.cancel();
    throw new StatusError(response.status);
  }
  return response.text();
}

/** Fetch options from a call's extras, without `undefined` members. */
function fetchInit(init: CallInit | undefined, signal?: AbortSignal): RequestInit {
  const out: RequestInit = {};
  const signals = [signal, init?.signal].filter((s): s is AbortSignal => s !== undefined);
  if (signals.length === 1) out.signal = signals[0]!;
  else if (signals.length > 1) out.signal = AbortSignal.any(signals);
  if (init?.headers !== undefined) out.headers = init.headers;
  return out;
}

function agentFacts(agent: import('@ky-resilience/agent').ResilientAgent): Record<string, unknown> {
  const stats = agent.stats();
  return {
    limitPerHost: agent.options.limitPerHost,
    limit: agent.options.limit,
    keepAliveTimeout: agent.options.keepAliveTimeout,
    staleRetries: stats.staleRetries,
    npmUndiciModulesLoaded: npmUndiciModules().length,
  };
}

type AgentFetch = (input: Request | string | URL, init?: RequestInit) => Promise<Response>;

/** The signal of ky's `fetch(request, init)` call, for wrappers that honour aborts. */
function signalOf(input: Request | string | URL, init: RequestInit | undefined): AbortSignal | undefined {
  return init?.signal ?? (input instanceof Request ? input.signal : undefined);
}

/**
 * ky on the agent with one plugin alone (`plugin`: a ky options fragment, applied with `extend` as the
 * packages' READMEs do) or with the agent's fetch wrapped by a peer (`fetch`). The per-host limit of the
 * limiters (the host limiter, p-limit, cockatiel's bulkhead) is the agent's `limitPerHost`, as in the preset.
 */
async function kyAgentWith(
  options: ClientOptions,
  build: (agent: import('@ky-resilience/agent').ResilientAgent) => Promise<{
    plugin?: import('ky').Options;
    fetch?: AgentFetch;
    facts?: () => Record<string, unknown>;
  }>,
): Promise<Client> {
  const agent = await agentOf(options);
  const { plugin, fetch, facts } = await build(agent);
  const base = await kyInstance((fetch ?? agent.fetch) as typeof globalThis.fetch);
  const api = plugin === undefined ? base : base.extend(plugin);
  return {
    get: (url, init) => api.get(url, init).text(),
    inspect: async () => ({ ...agentFacts(agent), ...facts?.() }),
    close: () => agent.close(),
  };
}

/** Builds the named client in this process. */
export async function createClient(name: ClientName, options: ClientOptions = {}): Promise<Client> {
  switch (name) {
    case 'ky-agent-host-limiter':
      // The host limiter with its defaults but `concurrency` = the agent's `limitPerHost`.
      return kyAgentWith(options, async (agent) => {
        const { createHostLimiter } = await import('@ky-resilience/host-limiter');
        const limiter = createHostLimiter({ concurrency: agent.options.limitPerHost });
        return { plugin: limiter.kyOptions, facts: () => ({ limiter: limiter.globalStats() }) };
      });
    case 'ky-agent-breaker':
      // The circuit breaker registry with its defaults (consecutive 5, open 5 s, per origin).
      return kyAgentWith(options, async () => {
        const { circuitBreakerPlugin } = await import('@ky-resilience/circuit-breaker');
        const breakers = circuitBreakerPlugin();
        return { plugin: breakers.kyOptions, facts: () => ({ breakers: breakers.stats() }) };
      });
    case 'ky-agent-timeout':
      // The timeout tiers with their defaults (total 30 s, attempt 10 s, body idle 10 s; ky's own timeout off).
      return kyAgentWith(options, async () => {
        const { timeoutPlugin } = await import('@ky-resilience/timeout');
        return { plugin: timeoutPlugin() };
      });
    case 'ky-agent-retry':
      // The retry plugin with its defaults (limit 2, full jitter, per-host budget, body buffered in the attempt).
      return kyAgentWith(options, async () => {
        const { retryPlugin } = await import('@ky-resilience/retry');
        return { plugin: retryPlugin() };
      });
    case 'ky-agent-host-limiter-wrap':
      // The host limiter around the agent's fetch, as the peers below are (`limiter.wrap(fetch)`): no ky hook,
      // so no per-request overrides from `context`; concurrency = the agent's `limitPerHost`.
      return kyAgentWith(options, async (agent) => {
        const { createHostLimiter } = await import('@ky-resilience/host-limiter');
        const limiter = createHostLimiter({ concurrency: agent.options.limitPerHost });
        return { fetch: limiter.wrap(agent.fetch), facts: () => ({ limiter: limiter.globalStats() }) };
      });
    case 'ky-agent-breaker-wrap':
      // The circuit breaker registry around the agent's fetch, as the peers below are (`breakers.wrapFetch(fetch)`):
      // no ky hook, so no per-request overrides from `context`; its defaults otherwise.
      return kyAgentWith(options, async (agent) => {
        const { circuitBreakerPlugin } = await import('@ky-resilience/circuit-breaker');
        const breakers = circuitBreakerPlugin();
        return { fetch: breakers.wrapFetch(agent.fetch), facts: () => ({ breakers: breakers.stats() }) };
      });
    case 'ky-agent-p-limit':
      // p-limit(limitPerHost) around the agent's fetch: the slot is held until the response head.
      return kyAgentWith(options, async (agent) => {
        const { default: pLimit } = await import('p-limit');
        const limit = pLimit(agent.options.limitPerHost);
        return { fetch: (input, init) => limit(() => agent.fetch(input, init)) };
      });
    case 'ky-agent-bulkhead':
      // cockatiel's bulkhead(limitPerHost, 1000) around the agent's fetch (the host limiter's default queue
      // bound); the slot is held until the response head.
      return kyAgentWith(options, async (agent) => {
        const { bulkhead } = await import('cockatiel');
        const policy = bulkhead(agent.options.limitPerHost, 1_000);
        return {
          fetch: (input, init) => policy.execute(() => agent.fetch(input, init), signalOf(input, init)),
        };
      });
    case 'ky-agent-cockatiel-breaker':
      // One cockatiel circuit breaker around the agent's fetch, the plugin's default policy: ConsecutiveBreaker(5),
      // half-open after 5 s; it handles every error (a status is not a failure: fetch resolves).
      return kyAgentWith(options, async (agent) => {
        const c = await import('cockatiel');
        const policy = c.circuitBreaker(c.handleAll, {
          halfOpenAfter: 5_000,
          breaker: new c.ConsecutiveBreaker(5),
        });
        return {
          fetch: (input, init) => policy.execute(() => agent.fetch(input, init), signalOf(input, init)),
        };
      });
    case 'ky-agent-opossum':
      // One opossum breaker around the agent's fetch with opossum's defaults (50 % errors in a 10 s window,
      // half-open after 30 s, a 10 s timeout: one timer per call).
      return kyAgentWith(options, async (agent) => {
        const { default: CircuitBreaker } = await import('opossum');
        const breaker = new CircuitBreaker((input: Request | string | URL, init?: RequestInit) =>
          agent.fetch(input, init),
        );
        return {
          fetch: (input, init) => breaker.fire(input, init),
          facts: () => ({ opened: breaker.opened, failures: breaker.stats.failures }),
        };
      });
    case 'ky-default-fetch': {
      const api = await kyInstance(undefined, options.ky);
      return onNodeFetch((url, init) => api.get(url, init).text());
    }
    case 'node-fetch':
      return onNodeFetch((url, init) => fetchText(url, init));
    case 'ky-agent': {
      const agent = await agentOf(options);
      const api = await kyInstance(agent.kyOptions.fetch);
      return {
        get: (url, init) => api.get(url, init).text(),
        inspect: async () => agentFacts(agent),
        close: () => agent.close(),
      };
    }
    case 'agent-fetch': {
      const agent = await agentOf(options);
      return {
        get: async (url, init) => (await agent.fetch(url, fetchInit(init))).text(),
        inspect: async () => agentFacts(agent),
        close: () => agent.close(),
      };
    }
    case 'undici-fetch': {
      const undici = await import('undici');
      const dispatcher = new undici.Agent();
      return {
        get: async (url) => (await undici.fetch(url, { dispatcher })).text(),
        inspect: async () => ({ npmUndici: npmUndiciVersion() }),
        close: () => dispatcher.close(),
      };
    }
    case 'undici-request': {
      const undici = await import('undici');
      const dispatcher = new undici.Agent();
      return {
        get: async (url) => (await undici.request(url, { dispatcher })).body.text(),
        inspect: async () => ({ npmUndici: npmUndiciVersion() }),
        close: () => dispatcher.close(),
      };
    }
    case 'preset': {
      const { createClient: createPreset } = await import('ky-resilience');
      const agent = agentOptions(options);
      const preset = { ...(Object.keys(agent).length > 0 ? { agent } : {}), ...options.preset };
      const client = createPreset(preset as import('ky-resilience').ClientOptions);
      let lastUrl: string | undefined;
      // The caps that decide queueing behind a slow host: the agent's resolved options, the limiter's per-key limit.
      const caps = () => ({
        agentPerHost: client.agent?.options.limitPerHost,
        agentLimit: client.agent?.options.limit,
        limiterPerHost:
          lastUrl === undefined ? undefined : client.limiter?.stats(new URL(lastUrl).origin)?.limit,
      });
      return {
        get: (url, init) => {
          lastUrl = url;
          return client.get(url, init).text();
        },
        inspect: async () => ({
          ...client.stats(),
          caps: caps(),
          npmUndiciModulesLoaded: npmUndiciModules().length,
        }),
        close: () => client.close(),
      };
    }
    case 'ky-retry': {
      // ky on Node's default fetch with the retry plugin's defaults (limit 2, full jitter, per-host budget).
      const { retryPlugin } = await import('@ky-resilience/retry');
      const api = (await kyInstance()).extend(retryPlugin());
      return onNodeFetch((url, init) => api.get(url, init).text());
    }
    case 'got': {
      // got's defaults: retry limit 2 on GET for 408/413/429/500/502/503/504/521/522/524 and network errors,
      // delay 2^(n-1) s + up to 100 ms noise, Retry-After honoured; no timeout; Node's global http agent.
      const { default: got } = await import('got');
      const api = options.got === undefined ? got : got.extend(options.got);
      return {
        get: (url, init) =>
          api
            .get(url, {
              ...(init?.headers === undefined ? {} : { headers: init.headers }),
              ...(init?.signal === undefined ? {} : { signal: init.signal }),
            })
            .text(),
        inspect: async () => ({}),
        close: async () => {},
      };
    }
    case 'axios': {
      // axios with axios-retry's defaults: 3 retries at once (no delay) on network errors and 5xx for idempotent methods.
      const { default: axios } = await import('axios');
      const { default: axiosRetry } = await import('axios-retry');
      const instance = axios.create({ responseType: 'text' });
      axiosRetry(instance);
      return {
        get: async (url, init) => {
          const config: import('axios').AxiosRequestConfig = {};
          if (init?.headers !== undefined) config.headers = init.headers;
          if (init?.signal !== undefined) config.signal = init.signal;
          return (await instance.get<string>(url, config)).data;
        },
        inspect: async () => ({}),
        close: async () => {},
      };
    }
    case 'ofetch': {
      // ofetch's defaults on Node's fetch: one retry for GET at once (retryDelay 0) on 408/409/425/429/5xx.
      const { ofetch } = await import('ofetch');
      return onNodeFetch((url, init) =>
        ofetch(url, {
          responseType: 'text',
          ...(init?.signal === undefined ? {} : { signal: init.signal }),
          ...(init?.headers === undefined ? {} : { headers: init.headers }),
        }),
      );
    }
    case 'p-retry': {
      // p-retry's defaults around Node's fetch: 10 retries, 1 s × 2ⁿ⁻¹ (n = 1 for the first retry), no randomisation.
      const { default: pRetry } = await import('p-retry');
      return onNodeFetch((url, init) =>
        pRetry(() => fetchText(url, init), init?.signal === undefined ? {} : { signal: init.signal }),
      );
    }
    case 'opossum': {
      // opossum's defaults around Node's fetch: opens at 50 % errors in a 10 s window, half-open after 30 s,
      // 10 s timeout; no retry.
      const { default: CircuitBreaker } = await import('opossum');
      const breaker = new CircuitBreaker(fetchText);
      return {
        get: (url, init) => breaker.fire(url, init),
        inspect: async () => ({ opened: breaker.opened, stats: breaker.stats.failures }),
        close: async () => breaker.shutdown(),
      };
    }
    case 'cockatiel': {
      // cockatiel's README composition: retry (3 attempts, ExponentialBackoff: 128 ms decorrelated jitter) around
      // a ConsecutiveBreaker(5) that half-opens after 10 s, both handling every error.
      // With `options.cockatiel`: a timeout() per attempt (aggressive: it aborts the attempt) inside the breaker,
      // and the backoff's first delay set.
      const c = await import('cockatiel');
      const tuned = options.cockatiel;
      const backoff = new c.ExponentialBackoff(
        tuned === undefined ? undefined : { initialDelay: tuned.initialDelayMs },
      );
      const retry = c.retry(c.handleAll, { maxAttempts: 3, backoff });
      const breaker = c.circuitBreaker(c.handleAll, {
        halfOpenAfter: 10_000,
        breaker: new c.ConsecutiveBreaker(5),
      });
      const policy =
        tuned === undefined
          ? c.wrap(retry, breaker)
          : c.wrap(retry, breaker, c.timeout(tuned.attemptTimeoutMs, c.TimeoutStrategy.Aggressive));
      return onNodeFetch((url, init) =>
        policy.execute(({ signal }) => fetchText(url, { ...init, signal }), init?.signal),
      );
    }
    default:
      throw new TypeError(`unknown client: ${String(name)}`);
  }
}
