import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isHostLimiterClosedError } from '@ky-resilience/host-limiter';
import { startUpstream } from '@ky-resilience/testing';
import { createClient } from '../src/index.ts';

// close({ timeout }) bounds the whole wait, also for an attempt waiting in the client's own host limiter
// (which destroying the agent would not end): the limiter is closed too, and the attempt fails, never sent.
test('close({ timeout }) is bounded even when an attempt waits in the host limiter (host paused by a 429)', async (t) => {
  const upstream = await startUpstream({
    routes: { '/limited': { steps: [{ status: 429, retryAfter: 60 }, {}] } },
  });
  t.after(() => upstream.close());
  const client = createClient({ retry: false, timeout: false, hostLimiter: { queueTimeout: false } });

  // The 429 pauses the host for 60 s (Retry-After, within maxPause).
  await client.get(`${upstream.url}/limited`).catch(() => {});
  const controller = new AbortController();
  t.after(() => controller.abort());
  const queued = client
    .get(`${upstream.url}/limited`, { signal: controller.signal })
    .catch((e: unknown) => e);
  for (let i = 0; i < 200 && client.stats().limiter?.queued !== 1; i += 1) {
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  assert.equal(client.stats().limiter?.queued, 1, 'the second call waits for the pause');
  assert.equal(client.stats().inFlight, 1);

  let settled = false;
  const closing = client.close({ timeout: 20 }).then(
    () => {
      settled = true;
    },
    () => {
      settled = true;
    },
  );
  // Wait until the grace period has run out and the agent has been destroyed...
  for (let i = 0; i < 400 && client.agent?.closed !== true; i += 1) {
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  assert.equal(client.agent?.closed, true, 'the grace period ran out and the agent was destroyed');
  // ... then give the destroyed agent's failures time to propagate.
  for (let i = 0; i < 20 && !settled; i += 1) await new Promise((resolve) => setTimeout(resolve, 10));
  const state = { settled, inFlight: client.stats().inFlight, queued: client.stats().limiter?.queued };
  controller.abort();
  await closing;
  assert.deepEqual(state, { settled: true, inFlight: 0, queued: 0 }, 'close({ timeout: 20 }) resolved');
  const error = await queued;
  assert.ok(isHostLimiterClosedError(error), `the waiting call fails, never sent: ${String(error)}`);
  assert.equal(upstream.counters('/limited').requests, 1);
});
