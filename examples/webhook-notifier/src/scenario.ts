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
  /** What each reachable subscriber received: requests and their Idempotency-Keys, in order. */
  received: Record<'alpha' | 'beta', { requests: number; keys: string[] }>;
  /** Connections that reached the "internal" subscriber's port (the SSRF guard must keep this at 0). */
  internalRequests: number;
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
 * - `down.hooks.test`: nothing listens (connection refused);
 * - `internal.hooks.test`: resolves to 10.1.2.3, a private address: the SSRF guard refuses it
 *   and nothing is sent.
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
      '/hooks/internal': {},
    },
  });
  try {
    const downPort = await closedPort();
    const addresses: Record<string, string> = {
      'alpha.hooks.test': '127.0.0.1',
      'beta.hooks.test': '127.0.0.1',
      'down.hooks.test': '127.0.0.1',
      'internal.hooks.test': '10.1.2.3',
    };
    // Stands in for DNS: the example host names resolve as a user-controlled DNS zone could make them.
    const resolver = async (host: string): Promise<ResolvedAddress[]> => {
      const address = addresses[host];
      if (address === undefined)
        throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${host}`), { code: 'ENOTFOUND' });
      return [{ address, family: 4, ttl: 60 }];
    };
    const client = createNotifierClient({ resolver, allowAddresses: ['127.0.0.1'] });
    const app = await startNotifierApp({ client, logger });
    const urls: Record<SubscriberName, string> = {
      alpha: `http://alpha.hooks.test:${upstream.port}/hooks/alpha`,
      beta: `http://beta.hooks.test:${upstream.port}/hooks/beta`,
      down: `http://down.hooks.test:${downPort}/hooks/down`,
      internal: `http://internal.hooks.test:${upstream.port}/hooks/internal`,
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
      };
    };
    return {
      updates,
      received: { alpha: received('/hooks/alpha'), beta: received('/hooks/beta') },
      internalRequests: upstream.counters('/hooks/internal').requests,
      log,
      clientClosed: client.closed,
    };
  } finally {
    await upstream.close();
  }
}
