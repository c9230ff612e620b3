import { createAgent } from '@ky-resilience/agent';
import { startUpstream } from '@ky-resilience/testing';
import ky from 'ky';

export type RunOptions = { requests: number; hosts: readonly string[]; limit: number; limitPerHost: number };

export type RunReport = {
  requests: number;
  ok: number;
  connections: number;
  peakInFlight: number;
  peakPerHost: Record<string, number>;
  dnsLookups: number;
};

/**
 * Sends `requests` GETs, spread over several host names that all resolve to the loopback upstream, through one
 * shared agent: every ky instance of the application shares the same pool, caps and DNS cache.
 */
export async function run(options: RunOptions): Promise<RunReport> {
  const upstream = await startUpstream({ routes: { '/item': { steps: [{ delayHeadersMs: 2 }] } } });
  try {
    let dnsLookups = 0;
    const agent = createAgent({
      limit: options.limit,
      limitPerHost: options.limitPerHost,
      // Every example host name resolves to the loopback upstream (TTL 30 s).
      resolver: async () => {
        dnsLookups++;
        return [{ address: '127.0.0.1', family: 4, ttl: 30 }];
      },
    });
    try {
      const clients = options.hosts.map((host) =>
        ky.create({ ...agent.kyOptions, baseUrl: `http://${host}:${upstream.port}/`, retry: 0 }),
      );
      const results = await Promise.allSettled(
        Array.from({ length: options.requests }, (_, i) =>
          clients[i % clients.length]!.get(`item?i=${i}`).json<{ ok: boolean }>(),
        ),
      );
      const peakPerHost: Record<string, number> = {};
      for (const host of options.hosts) peakPerHost[host] = upstream.byHost(host).peakInFlight;
      return {
        requests: options.requests,
        ok: results.filter((r) => r.status === 'fulfilled' && r.value.ok).length,
        connections: upstream.connections,
        peakInFlight: upstream.counters().peakInFlight,
        peakPerHost,
        dnsLookups,
      };
    } finally {
      await agent.close();
    }
  } finally {
    // Closed even when the agent failed to start or to close: a listening server keeps the process alive.
    await upstream.close();
  }
}
