import { closedPort, startUpstream, type Upstream } from '@ky-resilience/testing';
import { createClient } from 'ky-resilience';
import { fetchAll } from './fetch-all.ts';
import type { FetchOutcome } from './outcome.ts';

/** Requests in flight per host at most (the client's host limiter). */
export const perHostLimit = 4;
/** The agent's connections per host: above the limiter's, so that the limiter is what holds the limit. */
export const agentPerHostCap = 16;

export type ScenarioReport = {
  outcomes: Array<FetchOutcome<{ ok: boolean; route: string }>>;
  /** The most requests each host's upstream saw at once. */
  peakPerHost: Record<string, number>;
  /** Requests each host's upstream received (retries included). */
  requestsPerHost: Record<string, number>;
};

/**
 * Three hosts on loopback (the testing upstream), named through an injected resolver:
 * `users.test` (healthy, 50 ms), `orders.test` (30% of requests get a 503: retried), `reports.test`
 * (`/reports/7` never answers in time, `/reports/13` is a 404), plus `gone.test`, where nothing
 * listens. Fetches `perHost` URLs of each of the first three hosts and one of `gone.test`.
 */
export async function runScenario(options: {
  perHost: number;
  onProgress?: (progress: { done: number; failed: number; total: number }) => void;
}): Promise<ScenarioReport> {
  const upstreams: Record<string, Upstream> = {};
  try {
    // 50 ms per answer: long enough that the limiter's 4 are all in flight together.
    upstreams['users.test'] = await startUpstream({ routes: { '*': { steps: [{ delayHeadersMs: 50 }] } } });
    upstreams['orders.test'] = await startUpstream({
      seed: 3,
      routes: { '*': { steps: [{ delayHeadersMs: 15 }], schedule: { kind: 'brownout', errorRate: 0.3 } } },
    });
    upstreams['reports.test'] = await startUpstream({
      routes: {
        '*': { steps: [{ delayHeadersMs: 15 }] },
        '/reports/7': { steps: [{ delayHeadersMs: 10_000 }] },
        '/reports/13': { steps: [{ status: 404 }] },
      },
    });
    const gonePort = await closedPort();
    const client = createClient({
      name: 'fan-out',
      agent: {
        limitPerHost: agentPerHostCap,
        // Stands in for DNS: every example host is on 127.0.0.1.
        resolver: async () => [{ address: '127.0.0.1', family: 4, ttl: 60 }],
      },
      hostLimiter: { concurrency: perHostLimit, maxQueue: 1_000, queueTimeout: 10_000 },
      // 1 s per attempt: far above a healthy answer (15 to 50 ms) even on a loaded machine; /reports/7
      // (10 s) uses its 3 attempts well within the total.
      timeout: { total: 8_000, attempt: 1_000 },
      retry: { limit: 2, backoff: { strategy: 'full', base: 20, cap: 200 } },
    });
    try {
      const urls: string[] = [];
      for (let i = 1; i <= options.perHost; i++) {
        urls.push(`http://users.test:${upstreams['users.test'].port}/users/${i}`);
        urls.push(`http://orders.test:${upstreams['orders.test'].port}/orders/${i}`);
        urls.push(`http://reports.test:${upstreams['reports.test'].port}/reports/${i}`);
      }
      urls.push(`http://gone.test:${gonePort}/anything`);
      const outcomes = await fetchAll<{ ok: boolean; route: string }>(
        client,
        urls,
        options.onProgress === undefined ? {} : { onProgress: options.onProgress },
      );
      const peakPerHost: Record<string, number> = {};
      const requestsPerHost: Record<string, number> = {};
      for (const [host, upstream] of Object.entries(upstreams)) {
        peakPerHost[host] = upstream.counters().peakInFlight;
        requestsPerHost[host] = upstream.counters().requests;
      }
      return { outcomes, peakPerHost, requestsPerHost };
    } finally {
      await client.close();
    }
  } finally {
    for (const upstream of Object.values(upstreams)) await upstream.close();
  }
}
