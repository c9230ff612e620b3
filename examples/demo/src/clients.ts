import ky from 'ky';
import { type ClientOptions, createClient } from 'ky-resilience';
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

/** The retry budget's `ratio` the demo uses unless told otherwise (`--budget-ratio`). */
export const defaultBudgetRatio = 1.5;

/**
 * The resilient client's settings for an incident scaled by `scale` (1 = the real demo).
 *
 * - Retries: 2, like plain ky, with full-jitter backoff from 200 ms (scaled).
 * - Retry budget `ratio` 1.5: retries go on while fewer than 60% of a host's attempts fail
 *   (`ratio / (1 + ratio)`), so the 50% brownout is retried, and stop after about ten failures in
 *   a row, so the outage is not (the preset's default, 0.5, stops retrying above a third).
 * - Circuit breaker: opens after 15 failed attempts in a row (the upstream's seeded brownout never
 *   has more than 10 in a row), stays open 1 s (scaled), then lets one probe through. The
 *   preset's default policy (half of at least 20 attempts over 30 s) is sized for traffic over
 *   minutes, not for a 34-second incident.
 */
export function resilientSettings(scale: number, budgetRatio: number = defaultBudgetRatio): ClientOptions {
  return {
    agent: { limit: 50, limitPerHost: 10, connectTimeout: 1_000 },
    hostLimiter: { concurrency: 10, maxQueue: 200, queueTimeout: 2_000 },
    circuitBreaker: {
      policy: { kind: 'consecutive', failures: 15 },
      halfOpenAfter: Math.max(100, Math.round(1_000 * scale)),
    },
    timeout: { total: 5_000, attempt: 2_000 },
    retry: {
      limit: 2,
      backoff: { strategy: 'full', base: Math.max(10, Math.round(200 * scale)), cap: 2_000 },
      budget: { ratio: budgetRatio },
    },
  };
}

/** The resilient client of the demo: `createClient()` of ky-resilience, events into the recorder. */
export function createResilientClient(
  recorder: ClientRecorder,
  scale: number,
  budgetRatio: number = defaultBudgetRatio,
): DemoClient {
  const client = createClient({ name: 'demo', ...resilientSettings(scale, budgetRatio) });
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
