import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createAgent } from '@ky-resilience/agent';
import { closedPort, hangingListener, startUpstream } from '@ky-resilience/testing';
import { isAttemptTimeoutError, isConnectTimeoutError, timeoutPlugin } from '@ky-resilience/timeout';
import ky from 'ky';
import { getRetryDecision, type RetryEvent, retryPlugin } from '../src/index.ts';
import { rejection } from './helpers.ts';

function stackOn(agent: ReturnType<typeof createAgent>, limits: { attempt: number } = { attempt: 60 }) {
  const retries: RetryEvent[] = [];
  const api = ky
    .create(agent.kyOptions)
    .extend(timeoutPlugin(limits))
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

test('a POST the server read before redirecting is not sent again when the next hop’s connect fails', async (t) => {
  const hang = await hangingListener();
  const port = await closedPort();
  const upstream = await startUpstream({
    routes: {
      '/to-hang': { steps: [{ status: 307, headers: { location: `${hang.url}/x` } }] },
      '/to-closed': { steps: [{ status: 303, headers: { location: `http://127.0.0.1:${port}/x` } }] },
    },
  });
  const agent = createAgent({ connectTimeout: 100 });
  t.after(async () => {
    await agent.destroy();
    await upstream.close();
    await hang.close();
  });
  const { api, retries } = stackOn(agent, { attempt: 2_000 });
  // The 307's next hop never connects: a connect timeout, but the first hop was written.
  const timedOut = await rejection(api.post(`${upstream.url}/to-hang`, { json: { n: 1 } }));
  assert.ok(isConnectTimeoutError(timedOut), String(timedOut));
  assert.equal(timedOut.sent, true);
  assert.equal(getRetryDecision(timedOut)?.reason, 'not-idempotent');
  // The 303's next hop is refused: ECONNREFUSED, after a request of the call reached the server.
  const refused = await rejection(api.post(`${upstream.url}/to-closed`, { json: { n: 2 } }));
  assert.equal(getRetryDecision(refused)?.reason, 'not-idempotent');
  assert.equal(retries.length, 0);
  assert.equal(upstream.counters('/to-hang').requests, 1);
  assert.equal(upstream.counters('/to-closed').requests, 1);
});
