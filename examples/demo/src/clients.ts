import ky from 'ky';
import { createClient } from 'ky-resilience';
import type { ClientRecorder } from './recorder.ts';

/** What the workload needs from a client. */
export type DemoClient = {
  /** GET `url` and read the body; rejects when the call fails. */
  get: (url: string) => Promise<void>;
  close: () => Promise<void>;
};

/** ky as it comes: its default retry (2 retries, 0.3 s then 0.6 s), its 10 s timeout, Node's global fetch. */
export function createPlainClient(recorder: ClientRecorder): DemoClient {
  const api = ky.create({ hooks: { beforeRetry: [() => recorder.retry()] } });
  return {
    get: async (url) => {
      await api.get(url).text();
    },
    close: async () => {},
  };
}

/** The resilient client's settings for an incident scaled by `scale` (1 = the real demo). */
export function resilientSettings(scale: number) {
  return {
    agent: { limit: 50, limitPerHost: 10, connectTimeout: 1_000 },
    hostLimiter: { concurrency: 10, maxQueue: 200, queueTimeout: 2_000 },
    circuitBreaker: { halfOpenAfter: Math.max(100, Math.round(2_000 * scale)) },
    timeout: { total: 5_000, attempt: 2_000 },
    retry: {
      limit: 2,
      backoff: { strategy: 'full' as const, base: Math.max(10, Math.round(200 * scale)), cap: 2_000 },
      budget: { ratio: 0.5 },
    },
  };
}

/** The resilient client of the demo: `createClient()` of ky-resilience, events into the recorder. */
export function createResilientClient(recorder: ClientRecorder, scale: number): DemoClient {
  const client = createClient({ name: 'demo', ...resilientSettings(scale) });
  client.on('retry', () => recorder.retry());
  client.on('breakerStateChange', ({ from, to }) => recorder.breakerChange(from, to));
  client.on('breakerRejected', () => recorder.rejected());
  return {
    get: async (url) => {
      await client.get(url).text();
    },
    close: () => client.close(),
  };
}
