import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createAgent } from '@ky-resilience/agent';
import { CircuitBreakerRegistry } from '@ky-resilience/circuit-breaker';
import { createHostLimiter } from '@ky-resilience/host-limiter';
import { retryPlugin } from '@ky-resilience/retry';
import { startUpstream } from '@ky-resilience/testing';
import { isBodyIdleTimeoutError, timeoutPlugin } from '@ky-resilience/timeout';
import ky, { type Options } from 'ky';
import { createClient, type ResilientClient, type RetryEvent } from '../src/index.ts';

// The tiers below the retry tier (host limiter, attempt timeouts) leave their body work to it: the
// body is read once, inside the attempt, for all of them. These tests hold the preset to what each
// tier promised with a body wrapper of its own.

const LONG_BODY = JSON.stringify({ items: Array.from({ length: 200 }, (_, i) => ({ id: i })) });

function active(client: ResilientClient, origin: string): number | undefined {
  return client.limiter?.stats(origin)?.active;
}

async function until(condition: () => boolean, tries = 400): Promise<void> {
  for (let i = 0; i < tries; i += 1) {
    if (condition()) return;
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  throw new Error('condition not met in time');
}

/** One slot per host and a short queue timeout: an attempt that kept its slot makes the next one fail. */
function oneSlot(extra: Parameters<typeof createClient>[0] = {}): ResilientClient {
  return createClient({
    hostLimiter: { concurrency: 1, queueTimeout: 2_000 },
    retry: { backoff: { strategy: 'none', base: 1 }, budget: false },
    ...extra,
  });
}

test('every call’s slot is released once its body is read, whatever the outcome', async (t) => {
  const upstream = await startUpstream({ routes: { '/missing': { steps: [{ status: 404 }] } } });
  t.after(() => upstream.close());
  const client = oneSlot();
  t.after(() => client.close());
  for (let i = 0; i < 5; i += 1) {
    assert.deepEqual(await client.get(`${upstream.url}/ok`).json(), { ok: true, route: '/ok', n: i });
    assert.equal(active(client, upstream.origin), 0);
    const error = await client.get(`${upstream.url}/missing`).catch((e: unknown) => e);
    assert.equal((error as Error).name, 'HTTPError');
    assert.equal(active(client, upstream.origin), 0);
  }
  assert.deepEqual(client.stats().limiter, { active: 0, queued: 0, hosts: 1, evictedBusy: 0 });
});

test('a body reset mid-way is a failed attempt: its slot is released and the retry gets the whole body', async (t) => {
  const upstream = await startUpstream({
    routes: { '/reset': { steps: [{ reset: 'mid-body', body: LONG_BODY }, { body: LONG_BODY }] } },
  });
  t.after(() => upstream.close());
  const client = oneSlot();
  t.after(() => client.close());
  const retries: RetryEvent[] = [];
  client.on('retry', (event) => retries.push(event));
  assert.equal(await client.get(`${upstream.url}/reset`).text(), LONG_BODY);
  assert.equal(upstream.counters('/reset').requests, 2);
  assert.equal(retries.length, 1);
  assert.equal(active(client, upstream.origin), 0);
});

test('a stalled body trips bodyIdle inside the attempt, which is retried with the slot released', async (t) => {
  const upstream = await startUpstream({
    routes: { '/stall': { steps: [{ stallBody: true, bodyPrefix: '{"items":[' }, { body: LONG_BODY }] } },
  });
  t.after(() => upstream.close());
  const client = oneSlot({ timeout: { bodyIdle: 100 } });
  t.after(() => client.close());
  const retries: RetryEvent[] = [];
  client.on('retry', (event) => retries.push(event));
  assert.equal(await client.get(`${upstream.url}/stall`).text(), LONG_BODY);
  assert.deepEqual(
    retries.map((event) => event.reason),
    ['timeout:bodyIdle'],
  );
  assert.equal(active(client, upstream.origin), 0);
});

test('a body that stalls on every attempt fails with BodyIdleTimeoutError and holds no slot', async (t) => {
  const upstream = await startUpstream({
    routes: { '/stall': { steps: [{ stallBody: true, bodyPrefix: '[' }] } },
  });
  t.after(() => upstream.close());
  const client = oneSlot({
    timeout: { bodyIdle: 50 },
    retry: { limit: 1, backoff: { base: 1 }, budget: false },
  });
  t.after(() => client.close());
  const error = await client.get(`${upstream.url}/stall`).catch((e: unknown) => e);
  assert.ok(isBodyIdleTimeoutError(error), String(error));
  assert.equal(upstream.counters('/stall').requests, 2);
  assert.equal(active(client, upstream.origin), 0);
});

test('a streamed response (not buffered) keeps the slot until its body ends or is cancelled', async (t) => {
  const upstream = await startUpstream({
    routes: {
      '/events': {
        steps: [
          { stallBody: true, bodyPrefix: 'data: 1\n\n', headers: { 'content-type': 'text/event-stream' } },
        ],
      },
      '/drip': {
        steps: [
          {
            drip: { chunks: 4, intervalMs: 5, chunk: 'ab' },
            headers: { 'content-type': 'text/event-stream' },
          },
        ],
      },
    },
  });
  t.after(() => upstream.close());
  const client = oneSlot({ timeout: { bodyIdle: 5_000 } });
  t.after(() => client.close());

  const events = await client.get(`${upstream.url}/events`);
  assert.equal(events.url, `${upstream.url}/events`);
  const reader = events.body!.getReader();
  assert.equal(new TextDecoder().decode((await reader.read()).value), 'data: 1\n\n');
  assert.equal(active(client, upstream.origin), 1);
  await reader.cancel();
  await reader.cancel();
  assert.equal(active(client, upstream.origin), 0);

  const drip = await client.get(`${upstream.url}/drip`);
  assert.equal(active(client, upstream.origin), 1);
  assert.equal(await drip.text(), 'abababab');
  assert.equal(active(client, upstream.origin), 0);
});

test('a streamed response whose body stalls errors with BodyIdleTimeoutError and releases the slot', async (t) => {
  const upstream = await startUpstream({
    routes: {
      '/events': {
        steps: [
          { stallBody: true, bodyPrefix: 'data: 1\n\n', headers: { 'content-type': 'text/event-stream' } },
        ],
      },
    },
  });
  t.after(() => upstream.close());
  const client = oneSlot({ timeout: { bodyIdle: 80 } });
  t.after(() => client.close());
  const response = await client.get(`${upstream.url}/events`);
  const error = await response.text().catch((e: unknown) => e);
  assert.ok(isBodyIdleTimeoutError(error), String(error));
  assert.equal(active(client, upstream.origin), 0);
});

test('a streamed response reset while nobody reads it releases the slot', async (t) => {
  const upstream = await startUpstream({
    routes: {
      '/events': {
        steps: [
          {
            reset: 'mid-body',
            body: 'data: 1\n\ndata: 2\n\n',
            headers: { 'content-type': 'text/event-stream' },
          },
        ],
      },
    },
  });
  t.after(() => upstream.close());
  const client = oneSlot();
  t.after(() => client.close());
  const response = await client.get(`${upstream.url}/events`);
  assert.equal(response.status, 200);
  await until(() => active(client, upstream.origin) === 0);
  await response.body?.cancel().catch(() => {});
});

test('without body buffering, the body is read through one wrapper for every tier', async (t) => {
  const upstream = await startUpstream({
    routes: { '/stall': { steps: [{ stallBody: true, bodyPrefix: '[' }] } },
  });
  t.after(() => upstream.close());
  const client = oneSlot({
    timeout: { bodyIdle: 80 },
    retry: { bufferBody: false, backoff: { base: 1 }, budget: false },
  });
  t.after(() => client.close());
  const ok = await client.get(`${upstream.url}/ok`);
  assert.equal(active(client, upstream.origin), 1);
  assert.match(await ok.text(), /"ok":true/);
  assert.equal(active(client, upstream.origin), 0);
  const stalled = await client.get(`${upstream.url}/stall`);
  const error = await stalled.text().catch((e: unknown) => e);
  assert.ok(isBodyIdleTimeoutError(error), String(error));
  assert.equal(active(client, upstream.origin), 0);
});

test('a chunked body over maxBufferSize streams on through the tiers and releases the slot at its end', async (t) => {
  const upstream = await startUpstream({
    routes: { '/chunked': { steps: [{ drip: { chunks: 5, intervalMs: 5, chunk: 'abcd' } }] } },
  });
  t.after(() => upstream.close());
  const client = oneSlot({ retry: { maxBufferSize: 6, backoff: { base: 1 }, budget: false } });
  t.after(() => client.close());
  const response = await client.get(`${upstream.url}/chunked`);
  assert.equal(await response.text(), 'abcd'.repeat(5));
  assert.equal(active(client, upstream.origin), 0);
});

test('a wrapper between the retry tier and the others that replaces the response: each tier wraps its own body', async (t) => {
  const upstream = await startUpstream({
    routes: { '/drip': { steps: [{ drip: { chunks: 3, intervalMs: 5, chunk: 'xy' } }] } },
  });
  t.after(() => upstream.close());
  const agent = createAgent();
  t.after(() => agent.close());
  const limiter = createHostLimiter({ concurrency: 1, queueTimeout: 2_000 });
  const seen: Response[] = [];
  const replacing: Options = {
    hooks: {
      init: [
        (options) => {
          const inner = options.fetch as NonNullable<Options['fetch']>;
          options.fetch = async (input, init) => {
            const response = await inner(input, init);
            seen.push(response);
            return new Response(response.body, response);
          };
        },
      ],
    },
  };
  const api = ky
    .create(agent.kyOptions)
    .extend(timeoutPlugin({ bodyIdle: 5_000 }))
    .extend(new CircuitBreakerRegistry().kyOptions)
    .extend(limiter.kyOptions)
    .extend(replacing)
    .extend(retryPlugin({ budget: false }));
  assert.equal(await api.get(`${upstream.url}/drip`).text(), 'xyxyxy');
  assert.equal(seen.length, 1);
  assert.ok(
    Object.getOwnPropertyDescriptor(seen[0], 'url') !== undefined,
    'the limiter handed up a wrapper of its own (the hand-off was not addressed to it)',
  );
  assert.equal(limiter.stats(upstream.origin)?.active, 0);
});
