import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createAgent } from '@ky-resilience/agent';
import { circuitBreakerPlugin } from '@ky-resilience/circuit-breaker';
import { createHostLimiter } from '@ky-resilience/host-limiter';
import { retryPlugin } from '@ky-resilience/retry';
import { startUpstream } from '@ky-resilience/testing';
import { isAttemptTimeoutError, timeoutPlugin } from '@ky-resilience/timeout';
import ky from 'ky';
import { until } from './compose-helpers.ts';

test('limiter = agent caps of 1: timed-out attempts hand their slot to queued calls, nothing leaks', async (t) => {
  const up = await startUpstream({ routes: { '/hang': { steps: [{ delayHeadersMs: 3_000 }] }, '/ok': {} } });
  t.after(() => up.close());
  const agent = createAgent({ limit: 1, limitPerHost: 1, connectTimeout: 2_000 });
  t.after(() => agent.destroy());
  const breakers = circuitBreakerPlugin({ policy: { kind: 'consecutive', failures: 100 } });
  const limiter = createHostLimiter({ concurrency: 1, globalConcurrency: 1, queueTimeout: 5_000 });
  const api = ky
    .create({ ...agent.kyOptions, baseUrl: `${up.url}/` })
    .extend(timeoutPlugin({ total: 30_000, attempt: 150 }))
    .extend(breakers.kyOptions)
    .extend(limiter.kyOptions)
    .extend(retryPlugin({ limit: 0 }));
  const calls: Promise<unknown>[] = [];
  for (let i = 0; i < 4; i += 1) {
    calls.push(
      api
        .get('hang')
        .text()
        .catch((e: unknown) => e),
    );
    calls.push(
      api
        .get('ok')
        .text()
        .catch((e: unknown) => e),
    );
  }
  const out = await Promise.all(calls);
  for (let i = 0; i < out.length; i += 2) {
    assert.ok(isAttemptTimeoutError(out[i]), `hang ${i}: ${String(out[i])}`);
    assert.equal(typeof out[i + 1], 'string', `ok ${i}: ${String(out[i + 1])}`);
  }
  await until(() => agent.stats().inFlight === 0, 'agent idle');
  assert.equal(limiter.stats(up.origin)?.active, 0);
  assert.equal(agent.stats().waiting, 0);
});
