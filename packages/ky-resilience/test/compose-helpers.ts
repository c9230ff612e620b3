import { createAgent } from '@ky-resilience/agent';
import ky, { type KyInstance } from 'ky';

type Agent = ReturnType<typeof createAgent>;

import { type CircuitBreakerRegistry, circuitBreakerPlugin } from '@ky-resilience/circuit-breaker';
import { createHostLimiter, type HostLimiter } from '@ky-resilience/host-limiter';
import { type RetryOptions, retryPlugin } from '@ky-resilience/retry';
import { type TimeoutOptions, timeoutPlugin } from '@ky-resilience/timeout';

export type Stack = { api: KyInstance; agent: Agent; breakers: CircuitBreakerRegistry; limiter: HostLimiter };

/** The root README's "Composing plugins by hand" stack, with overridable options. */
export function readmeStack(
  baseUrl: string,
  o: {
    timeout?: TimeoutOptions;
    retry?: RetryOptions;
    breaker?: Parameters<typeof circuitBreakerPlugin>[0];
    limiter?: Parameters<typeof createHostLimiter>[0];
  } = {},
): Stack {
  const agent = createAgent({ limit: 100, limitPerHost: 10, connectTimeout: 2_000 });
  const breakers = circuitBreakerPlugin(o.breaker ?? { policy: { kind: 'consecutive', failures: 5 } });
  const limiter = createHostLimiter(
    o.limiter ?? { concurrency: 10, globalConcurrency: 100, queueTimeout: 5_000 },
  );
  const api = ky
    .create({ ...agent.kyOptions, baseUrl })
    .extend(timeoutPlugin(o.timeout ?? { total: 30_000, attempt: 10_000, connect: 2_000, bodyIdle: 10_000 }))
    .extend(breakers.kyOptions)
    .extend(limiter.kyOptions)
    .extend(retryPlugin(o.retry ?? { limit: 3 }));
  return { api, agent, breakers, limiter };
}

export async function until(cond: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 2000; i += 1) {
    if (cond()) return;
    await new Promise((r) => setTimeout(r, 2));
  }
  throw new Error(`never: ${what}`);
}
