import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createAgent } from '@ky-resilience/agent';
import { hangingListener, startUpstream } from '@ky-resilience/testing';
import { isAttemptTimeoutError, timeoutPlugin } from '@ky-resilience/timeout';
import ky from 'ky';
import { getRetryDecision, type RetryEvent, retryPlugin } from '../src/index.ts';
import { rejection } from './helpers.ts';

function stackOn(agent: ReturnType<typeof createAgent>) {
  const retries: RetryEvent[] = [];
  const api = ky
    .create(agent.kyOptions)
    .extend(timeoutPlugin({ attempt: 60 }))
    .extend(
      retryPlugin({
        limit: 2,
        backoff: { strategy: 'none', base: 1 },
        budget: false,
        onRetry: (e) => retries.push(e),
      }),
    );
  return { api, retries };
}

test('a POST whose attempt timed out before the agent wrote it (connect pending) is retried', async (t) => {
  const hang = await hangingListener();
  const agent = createAgent({ connectTimeout: 60_000 });
  t.after(async () => {
    await agent.destroy();
    await hang.close();
  });
  const { api, retries } = stackOn(agent);
  const error = await rejection(api.post(`${hang.url}/orders`, { json: { n: 1 } }));
  assert.ok(isAttemptTimeoutError(error), String(error));
  assert.equal(error.sent, false);
  assert.equal(retries.length, 2, 'both retries made');
  assert.deepEqual(
    retries.map((e) => e.reason),
    ['timeout:attempt', 'timeout:attempt'],
  );
  assert.equal(getRetryDecision(error)?.reason, 'limit-reached');
});

test('a POST whose attempt timed out after the agent wrote it is not retried', async (t) => {
  const upstream = await startUpstream({
    routes: { '/orders': { steps: [{ delayHeadersMs: 60_000 }, {}] } },
  });
  const agent = createAgent();
  t.after(async () => {
    await agent.destroy();
    await upstream.close();
  });
  const { api, retries } = stackOn(agent);
  const error = await rejection(api.post(`${upstream.url}/orders`, { json: { n: 1 } }));
  assert.ok(isAttemptTimeoutError(error), String(error));
  assert.equal(error.sent, true);
  assert.equal(retries.length, 0);
  assert.equal(getRetryDecision(error)?.reason, 'not-idempotent');
  assert.equal(upstream.counters('/orders').requests, 1);
});
