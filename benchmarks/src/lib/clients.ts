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
  | 'undici-request';

export type ClientOptions = {
  /** `limitPerHost` of `createAgent` (agent clients only); `undefined` keeps the agent's default. */
  limitPerHost?: number;
};

export type Client = {
  /** Sends one GET and reads the whole body as text. */
  get(url: string): Promise<unknown>;
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

function npmUndiciVersion(): string {
  return (require('undici/package.json') as { version: string }).version;
}

async function kyInstance(fetch?: typeof globalThis.fetch): Promise<import('ky').KyInstance> {
  const { default: ky } = await import('ky');
  // ky's defaults, identical for every ky variant; only the fetch differs.
  return ky.create(fetch === undefined ? {} : { fetch });
}

async function agentOf(options: ClientOptions): Promise<import('@ky-resilience/agent').ResilientAgent> {
  const { createAgent } = await import('@ky-resilience/agent');
  return createAgent(options.limitPerHost === undefined ? {} : { limitPerHost: options.limitPerHost });
}

function agentFacts(agent: import('@ky-resilience/agent').ResilientAgent): Record<string, unknown> {
  const stats = agent.stats();
  return {
    limitPerHost: agent.options.limitPerHost,
    limit: agent.options.limit,
    staleRetries: stats.staleRetries,
    npmUndiciModulesLoaded: npmUndiciModules().length,
  };
}

/** Builds the named client in this process. */
export async function createClient(name: ClientName, options: ClientOptions = {}): Promise<Client> {
  switch (name) {
    case 'ky-default-fetch': {
      const api = await kyInstance();
      return {
        get: (url) => api.get(url).text(),
        inspect: async () => globalDispatcherFacts(),
        close: async () => {},
      };
    }
    case 'node-fetch':
      return {
        get: async (url) => (await fetch(url)).text(),
        inspect: async () => globalDispatcherFacts(),
        close: async () => {},
      };
    case 'ky-agent': {
      const agent = await agentOf(options);
      const api = await kyInstance(agent.kyOptions.fetch);
      return {
        get: (url) => api.get(url).text(),
        inspect: async () => agentFacts(agent),
        close: () => agent.close(),
      };
    }
    case 'agent-fetch': {
      const agent = await agentOf(options);
      return {
        get: async (url) => (await agent.fetch(url)).text(),
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
    default:
      throw new TypeError(`unknown client: ${String(name)}`);
  }
}
