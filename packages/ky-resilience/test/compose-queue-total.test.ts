import assert from 'node:assert/strict';
import { test } from 'node:test';
import { startUpstream } from '@ky-resilience/testing';
import { isTotalTimeoutError } from '@ky-resilience/timeout';
import { readmeStack, until } from './compose-helpers.ts';

test('the total timeout covers queue time: a waiter leaves the queue at once, the breaker is untouched', async (t) => {
  const up = await startUpstream({ routes: { '/hold': { steps: [{ delayHeadersMs: 800 }] }, '/x': {} } });
  t.after(() => up.close());
  const s = readmeStack(`${up.url}/`, {
    limiter: { concurrency: 1, queueTimeout: 10_000 },
    breaker: { policy: { kind: 'consecutive', failures: 1 } },
  });
  t.after(() => s.agent.close());
  const hold = s.api.get('hold').text();
  await until(() => up.counters('/hold').inFlight === 1, 'hold');
  const e = await s.api
    .get('x', { context: { '@ky-resilience/timeout': { total: 150 } } })
    .text()
    .catch((x: unknown) => x);
  assert.ok(isTotalTimeoutError(e), String(e));
  assert.equal(s.limiter.stats(up.origin)?.queued, 0);
  assert.equal(s.breakers.state(up.origin), 'closed');
  await hold;
  assert.equal(up.counters('/x').requests, 0);
});
