import type { ResolvedAddress } from '@ky-resilience/agent';
import { closedPort, startUpstream } from '@ky-resilience/testing';
import ky from 'ky';
import { type Delivery, startNotifierApp } from './app.ts';
import { createNotifierClient } from './client.ts';

/** The subscribers of the scenario, by name. */
export const subscriberNames = ['alpha', 'beta', 'down', 'internal'] as const;
export type SubscriberName = (typeof subscriberNames)[number];

export type ScenarioReport = {
  /** The app's answer to each task update. */
  updates: Array<{ taskId: string; version: number; deliveries: Array<Delivery & { name: SubscriberName }> }>;
  /** What each reachable subscriber received: requests, their Idempotency-Keys and bodies, in order. */
  received: Record<'alpha' | 'beta', { requests: number; keys: string[]; bodies: string[] }>;
  /**
   * The down subscriber's attempts, in order: `'sent'` (a connection was tried, and refused) or
   * `'circuit-open'` (its breaker refused the attempt, nothing was sent).
   */
  downAttempts: Array<'sent' | 'circuit-open'>;
  /** Requests and TCP connections that reached the "internal" subscriber (the SSRF guard keeps both at 0). */
  internal: { requests: number; connections: number };
  /** The service's log lines. */
  log: string[];
  /** Whether the shared client was closed by the app's shutdown. */
  clientClosed: boolean;
};

/**
 * Starts webhook subscribers on loopback (the testing upstream), the task app with its shared
 * client, registers four subscribers and sends `updates` task updates through the app's HTTP API:
 * - `alpha.hooks.test`: healthy;
 * - `beta.hooks.test`: its first request is processed, then the connection is reset before the
 *   answer: the client retries with the same Idempotency-Key;
 * - `down.hooks.test`: nothing listens (connection refused): after 5 failed attempts in a row its
 *   circuit opens, and the next deliveries fail at once, without a connection attempt;
 * - `internal.hooks.test`: resolves to ::1, a loopback address the client does not allow (only
 *   127.0.0.1 is): the SSRF guard refuses it and nothing is sent. A second upstream really listens
 *   there, so a guard that let it through would be counted (and would stay on this machine).
 * Then shuts the app down.
 */
export async function runScenario(options: {
  updates: number;
  log?: (line: string) => void;
}): Promise<ScenarioReport> {
  const log: string[] = [];
  const logger = {
    error: (line: string) => {
      log.push(line);
      options.log?.(line);
    },
  };
  const upstream = await startUpstream({
    routes: {
      '/hooks/alpha': {},
      '/hooks/beta': { steps: [{ reset: 'before-headers' }, {}] },
    },
  });
  const internalUpstream = await startUpstream({ host: '::1', routes: { '/hooks/internal': {} } }).catch(
    async (error: unknown) => {
      await upstream.close();
      throw new Error('the scenario needs the IPv6 loopback address ::1', { cause: error });
    },
  );
  try {
    const downPort = await closedPort();
    const addresses: Record<string, ResolvedAddress> = {
      'alpha.hooks.test': { address: '127.0.0.1', family: 4, ttl: 60 },
      'beta.hooks.test': { address: '127.0.0.1', family: 4, ttl: 60 },
      'down.hooks.test': { address: '127.0.0.1', family: 4, ttl: 60 },
      'internal.hooks.test': { address: '::1', family: 6, ttl: 60 },
    };
    // Stands in for DNS: the example host names resolve as a user-controlled DNS zone could make them.
    const resolver = async (host: string): Promise<ResolvedAddress[]> => {
      const address = addresses[host];
      if (address === undefined)
        throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${host}`), { code: 'ENOTFOUND' });
      return [address];
    };
    // The breakers' clock stands still: the run is shorter than an open period anyway, and this way
    // a slow machine cannot let a probe through and change the counts.
    const startedAt = Date.now();
    const client = createNotifierClient({
      resolver,
      allowAddresses: ['127.0.0.1'],
      breakerClock: () => startedAt,
    });
    const downAttempts: ScenarioReport['downAttempts'] = [];
    client.on('attempt', (event) => {
      if (!event.host.startsWith('down.hooks.test:')) return;
      downAttempts.push(
        event.error instanceof Error && event.error.name === 'CircuitOpenError' ? 'circuit-open' : 'sent',
      );
    });
    const app = await startNotifierApp({ client, logger });
    const urls: Record<SubscriberName, string> = {
      alpha: `http://alpha.hooks.test:${upstream.port}/hooks/alpha`,
      beta: `http://beta.hooks.test:${upstream.port}/hooks/beta`,
      down: `http://down.hooks.test:${downPort}/hooks/down`,
      internal: `http://internal.hooks.test:${internalUpstream.port}/hooks/internal`,
    };
    const nameOf = (url: string): SubscriberName =>
      subscriberNames.find((name) => urls[name] === url) ?? ('unknown' as SubscriberName);
    const api = ky.create({ baseUrl: app.url, retry: 0 });
    const updates: ScenarioReport['updates'] = [];
    try {
      for (const name of subscriberNames) await api.post('subscriptions', { json: { url: urls[name] } });
      for (let i = 1; i <= options.updates; i++) {
        const answer = await api
          .put(`tasks/task-${i % 2}`, { json: { userId: 42, title: `Write the report (step ${i})` } })
          .json<{ taskId: string; version: number; deliveries: Delivery[] }>();
        updates.push({
          ...answer,
          deliveries: answer.deliveries.map((d) => ({ ...d, name: nameOf(d.url) })),
        });
      }
    } finally {
      await app.close();
    }
    const received = (route: string) => {
      const counters = upstream.counters(route);
      return {
        requests: counters.requests,
        keys: counters.headers.map((h) => String(h['idempotency-key'])),
        bodies: counters.bodies,
      };
    };
    return {
      updates,
      received: { alpha: received('/hooks/alpha'), beta: received('/hooks/beta') },
      downAttempts,
      internal: { requests: internalUpstream.counters().requests, connections: internalUpstream.connections },
      log,
      clientClosed: client.closed,
    };
  } finally {
    await Promise.all([upstream.close(), internalUpstream.close()]);
  }
}
