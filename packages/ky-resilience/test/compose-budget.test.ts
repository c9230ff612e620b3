import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createAgent } from '@ky-resilience/agent';
import { circuitBreakerPlugin } from '@ky-resilience/circuit-breaker';
import { createHostLimiter } from '@ky-resilience/host-limiter';
import { createRetryBudget, isRetryBudgetExhaustedError, retryPlugin } from '@ky-resilience/retry';
import { startUpstream } from '@ky-resilience/testing';
import { timeoutPlugin } from '@ky-resilience/timeout';
import ky from 'ky';

test('a budget shared by two hand-built ky instances counts both, and refuses both once drained', async (t) => {
  const up = await startUpstream({ routes: { '*': { steps: [{ status: 503 }] } } });
  t.after(() => up.close());
  const agent = createAgent();
  t.after(() => agent.close());
  const now = 0;
  const budget = createRetryBudget({ capacity: 10, ratio: 0.5, minRetriesPerSecond: 0, clock: () => now });
  const breakers = circuitBreakerPlugin({ policy: { kind: 'consecutive', failures: 1000 } });
  const limiter = createHostLimiter();
  const make = (limit: number) =>
    ky
      .create({ ...agent.kyOptions, baseUrl: `${up.url}/` })
      .extend(timeoutPlugin())
      .extend(breakers.kyOptions)
      .extend(limiter.kyOptions)
      .extend(retryPlugin({ limit, budget, backoff: { strategy: 'none', base: 1 } }));
  const a = make(1);
  const b = make(1);
  // a: 2 attempts (10 -> 8); b: 2 attempts (8 -> 6)... refused once at or below 5.
  await a.get('x').catch(() => {});
  assert.equal(budget.state(new URL(up.url).host).tokens, 8);
  await b.get('x').catch(() => {});
  assert.equal(budget.state(new URL(up.url).host).tokens, 6);
  // 6 -> 5: the retry is refused (5 is not > 5)
  const e = await a.get('x').catch((x: unknown) => x);
  assert.ok(isRetryBudgetExhaustedError(e), String(e));
  const e2 = await b.get('x').catch((x: unknown) => x);
  assert.ok(isRetryBudgetExhaustedError(e2), String(e2));
  assert.equal(up.counters().requests, 6);
});
