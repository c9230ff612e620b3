import assert from 'node:assert/strict';
import diagnosticsChannel from 'node:diagnostics_channel';
import { test } from 'node:test';
import { startUpstream } from '@ky-resilience/testing';
import { channelNames, clientEventNames, createClient } from '../src/index.ts';

/** Subscribes to every channel; returns the messages by channel name and an unsubscribe function. */
function record(): { messages: Map<string, unknown[]>; stop: () => void } {
  const messages = new Map<string, unknown[]>();
  const handlers: [string, (message: unknown) => void][] = [];
  for (const name of Object.values(channelNames)) {
    const handler = (message: unknown): void => {
      const list = messages.get(name) ?? [];
      list.push(message);
      messages.set(name, list);
    };
    diagnosticsChannel.subscribe(name, handler);
    handlers.push([name, handler]);
  }
  return {
    messages,
    stop: () => {
      for (const [name, handler] of handlers) diagnosticsChannel.unsubscribe(name, handler);
    },
  };
}

test('the channel names are documented and stable', () => {
  assert.deepEqual(channelNames, {
    attempt: 'ky-resilience:attempt',
    retry: 'ky-resilience:retry',
    giveUp: 'ky-resilience:give-up',
    breakerStateChange: 'ky-resilience:breaker:state-change',
    breakerRejected: 'ky-resilience:breaker:rejected',
    limiterRejected: 'ky-resilience:limiter:rejected',
    timeout: 'ky-resilience:timeout',
  });
  assert.deepEqual(clientEventNames, Object.keys(channelNames));
});

test('events reach diagnostics_channel subscribers with the client name, without any listener', async (t) => {
  const upstream = await startUpstream({
    routes: {
      '/flaky': { steps: [{ status: 503 }, { status: 200 }] },
      '/down': { steps: [{ status: 500 }] },
      '/late': { steps: [{ delayHeadersMs: 1_000 }] },
    },
  });
  t.after(() => upstream.close());
  const { messages, stop } = record();
  t.after(stop);
  const client = createClient({
    name: 'orders',
    retry: { limit: 1, backoff: { strategy: 'none', base: 2 }, budget: false },
  });
  t.after(() => client.close());
  const host = new URL(upstream.url).host;

  await client.get(`${upstream.url}/flaky`).text();
  await client.get(`${upstream.url}/down`).catch(() => {});
  await client
    .get(`${upstream.url}/late`, {
      context: { '@ky-resilience/retry': { limit: 0 }, '@ky-resilience/timeout': { attempt: 50 } },
    })
    .catch(() => {});

  const attempts = messages.get('ky-resilience:attempt') as Record<string, unknown>[];
  assert.deepEqual(
    attempts.map(({ client: name, url, attempt, status, method, host: h }) => ({
      name,
      path: new URL(url as string).pathname,
      attempt,
      status,
      method,
      h,
    })),
    [
      { name: 'orders', path: '/flaky', attempt: 1, status: 503, method: 'GET', h: host },
      { name: 'orders', path: '/flaky', attempt: 2, status: 200, method: 'GET', h: host },
      { name: 'orders', path: '/down', attempt: 1, status: 500, method: 'GET', h: host },
      { name: 'orders', path: '/down', attempt: 2, status: 500, method: 'GET', h: host },
      { name: 'orders', path: '/late', attempt: 1, status: undefined, method: 'GET', h: host },
    ],
  );
  assert.ok(Object.isFrozen(attempts[0]));
  assert.ok(attempts.every((a) => typeof a.durationMs === 'number'));
  assert.ok((attempts[4] as { error?: unknown }).error instanceof Error);

  const retries = messages.get('ky-resilience:retry') as Record<string, unknown>[];
  assert.deepEqual(
    retries.map(({ client: name, host: h, attempt, delay, reason, delaySource }) => ({
      name,
      h,
      attempt,
      delay,
      reason,
      delaySource,
    })),
    [
      { name: 'orders', h: host, attempt: 2, delay: 2, reason: 'status 503', delaySource: 'backoff' },
      { name: 'orders', h: host, attempt: 2, delay: 2, reason: 'status 500', delaySource: 'backoff' },
    ],
  );
  const giveUps = messages.get('ky-resilience:give-up') as Record<string, unknown>[];
  assert.deepEqual(
    giveUps.map(({ client: name, host: h, attempts: n, reason }) => ({ name, h, n, reason })),
    [
      { name: 'orders', h: host, n: 2, reason: 'limit-reached' },
      { name: 'orders', h: host, n: 1, reason: 'limit-reached' },
    ],
  );
  assert.deepEqual(messages.get('ky-resilience:timeout'), [
    { client: 'orders', host, phase: 'attempt', attempt: 1, limit: 50, sent: true },
  ]);
  assert.equal(messages.get('ky-resilience:limiter:rejected'), undefined);
});

test('a total timeout is published once, with the attempt it interrupted', async (t) => {
  const upstream = await startUpstream({ routes: { '/late': { steps: [{ delayHeadersMs: 2_000 }] } } });
  t.after(() => upstream.close());
  const { messages, stop } = record();
  t.after(stop);
  const client = createClient({
    name: 'total',
    timeout: { total: 100, attempt: false },
    retry: { limit: 0 },
  });
  t.after(() => client.close());

  await client.get(`${upstream.url}/late`).catch(() => {});

  const timeouts = messages.get('ky-resilience:timeout') as Record<string, unknown>[];
  assert.equal(timeouts.length, 1);
  const [timeout] = timeouts;
  assert.equal(timeout?.client, 'total');
  assert.equal(timeout?.phase, 'total');
  assert.equal(timeout?.attempt, 1);
  assert.equal(timeout?.limit, 100);
});

test('a listener that throws does not disturb the call; removing it stops it', async (t) => {
  const upstream = await startUpstream();
  t.after(() => upstream.close());
  const client = createClient();
  t.after(() => client.close());
  const seen: number[] = [];
  const off = client.on('attempt', (event) => {
    seen.push(event.attempt);
  });
  const uncaught: unknown[] = [];
  // The listener's exception is rethrown from a microtask: capture it instead of the runner.
  process.setUncaughtExceptionCaptureCallback((error) => {
    uncaught.push(error);
  });
  t.after(() => process.setUncaughtExceptionCaptureCallback(null));
  const boom = new Error('listener bug');
  const offBoom = client.on('attempt', () => {
    throw boom;
  });

  assert.equal((await client.get(upstream.url).json<{ ok: boolean }>()).ok, true);
  await new Promise((resolve) => setImmediate(resolve));
  assert.deepEqual(uncaught, [boom]);
  offBoom();
  off();
  await client.get(upstream.url).text();
  assert.deepEqual(seen, [1]);
});
