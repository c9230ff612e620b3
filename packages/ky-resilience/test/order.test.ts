import assert from 'node:assert/strict';
import { test } from 'node:test';
import { startUpstream } from '@ky-resilience/testing';
import { isAttemptTimeoutError } from '@ky-resilience/timeout';
import { type AttemptEvent, createClient } from '../src/index.ts';

test('time queued in the host limiter does not count toward the attempt timeout', async (t) => {
  const upstream = await startUpstream({
    routes: { '/hold': { steps: [{ delayHeadersMs: 600 }] }, '/fast': {} },
  });
  t.after(() => upstream.close());
  const client = createClient({
    hostLimiter: { concurrency: 1, queueTimeout: 10_000 },
    timeout: { attempt: 300 },
    retry: { limit: 0 },
  });
  t.after(() => client.close());
  const attempts: AttemptEvent[] = [];
  client.on('attempt', (event) => attempts.push(event));

  // The first call holds the host's only slot for at least 600 ms (its own limit is raised).
  const hold = client
    .get(`${upstream.url}/hold`, { context: { '@ky-resilience/timeout': { attempt: 5_000 } } })
    .json();
  for (let i = 0; i < 200 && upstream.counters('/hold').inFlight === 0; i += 1) {
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  // The second waits in the limiter's queue for those 600 ms, twice its 300 ms attempt limit,
  // and still succeeds: its attempt timer starts when it gets the slot.
  const fast = client.get(`${upstream.url}/fast`).json<{ ok: boolean }>();
  fast.catch(() => {});
  for (let i = 0; i < 200 && client.stats().limiter?.queued === 0; i += 1) {
    await new Promise((resolve) => setTimeout(resolve, 1));
  }
  assert.equal(client.stats().limiter?.queued, 1);
  assert.equal(upstream.counters('/hold').inFlight, 1);

  await hold;
  assert.equal((await fast).ok, true);
  assert.equal(upstream.counters('/fast').requests, 1);
  // The client's attempt observer sits outside the limiter: its duration includes the queue.
  const fastAttempt = attempts.find((a) => a.url.endsWith('/fast'));
  const holdAttempt = attempts.find((a) => a.url.endsWith('/hold'));
  assert.ok(fastAttempt !== undefined && holdAttempt !== undefined);
  assert.equal(fastAttempt.status, 200);
});

test('an attempt that times out inside the limiter frees its slot for the next one', async (t) => {
  const upstream = await startUpstream({
    routes: { '/stuck': { steps: [{ stallBody: true, bodyPrefix: '{' }] }, '/ok': {} },
  });
  t.after(() => upstream.close());
  const client = createClient({
    hostLimiter: { concurrency: 1 },
    timeout: { attempt: 100, bodyIdle: false },
    retry: { limit: 0 },
  });
  t.after(() => client.close());

  const stuck = await client
    .get(`${upstream.url}/stuck`)
    .text()
    .catch((e: unknown) => e);
  assert.ok(isAttemptTimeoutError(stuck), String(stuck));
  assert.equal(client.stats().limiter?.active, 0);
  assert.equal((await client.get(`${upstream.url}/ok`).json<{ ok: boolean }>()).ok, true);
});
