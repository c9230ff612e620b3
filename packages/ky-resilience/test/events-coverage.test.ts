import assert from 'node:assert/strict';
import diagnosticsChannel from 'node:diagnostics_channel';
import { test } from 'node:test';
import { createAgent } from '@ky-resilience/agent';
import { startUpstream } from '@ky-resilience/testing';
import { isTotalTimeoutError } from '@ky-resilience/timeout';
import { type AttemptEvent, createClient, type GiveUpEvent, type TimeoutEvent } from '../src/index.ts';

function captureUncaught(t: { after: (fn: () => void) => void }): unknown[] {
  const uncaught: unknown[] = [];
  process.setUncaughtExceptionCaptureCallback((error) => {
    uncaught.push(error);
  });
  t.after(() => process.setUncaughtExceptionCaptureCallback(null));
  return uncaught;
}

test('T4 total timeout mid-attempt: one timeout(total), one giveUp with the TotalTimeoutError', async (t) => {
  const upstream = await startUpstream({ routes: { '/late': { steps: [{ delayHeadersMs: 3_000 }] } } });
  t.after(() => upstream.close());
  const client = createClient({ timeout: { total: 150, attempt: false } });
  t.after(() => client.close());
  const timeouts: TimeoutEvent[] = [];
  const giveUps: GiveUpEvent[] = [];
  const attempts: AttemptEvent[] = [];
  client.on('timeout', (e) => timeouts.push(e));
  client.on('giveUp', (e) => giveUps.push(e));
  client.on('attempt', (e) => attempts.push(e));
  const error = await client.get(`${upstream.url}/late`).catch((e: unknown) => e);
  await new Promise((r) => setImmediate(r));
  assert.ok(isTotalTimeoutError(error), String(error));
  assert.equal(timeouts.length, 1);
  assert.equal(giveUps.length, 1);
  assert.equal(giveUps[0]?.error, error);
  assert.equal(attempts.length, 1);
  assert.equal(client.stats().inFlight, 0);
});

test('T6 two clients on one agent: events stay separate', async (t) => {
  const upstream = await startUpstream({ routes: { '/down': { steps: [{ status: 503 }] } } });
  t.after(() => upstream.close());
  const agent = createAgent();
  t.after(() => agent.close());
  const a = createClient({ agent, name: 'A', retry: { limit: 1, backoff: { base: 1 }, budget: false } });
  const b = createClient({ agent, name: 'B', retry: { limit: 2, backoff: { base: 1 }, budget: false } });
  t.after(() => Promise.all([a.close(), b.close()]));
  const seenA: string[] = [];
  const seenB: string[] = [];
  for (const [c, seen] of [
    [a, seenA],
    [b, seenB],
  ] as const) {
    c.on('attempt', (e) => seen.push(`attempt:${e.client}`));
    c.on('retry', (e) => seen.push(`retry:${e.client}`));
    c.on('giveUp', (e) => seen.push(`giveUp:${e.client}`));
  }
  await Promise.all([
    a.get(`${upstream.url}/down`).catch(() => {}),
    b.get(`${upstream.url}/down`).catch(() => {}),
  ]);
  assert.deepEqual(seenA.sort(), ['attempt:A', 'attempt:A', 'giveUp:A', 'retry:A']);
  assert.deepEqual(seenB.sort(), ['attempt:B', 'attempt:B', 'attempt:B', 'giveUp:B', 'retry:B', 'retry:B']);
});

test('T7 close() waits for a call queued in the limiter', async (t) => {
  const upstream = await startUpstream({ routes: { '/slow': { steps: [{ delayHeadersMs: 150 }] } } });
  t.after(() => upstream.close());
  const client = createClient({ hostLimiter: { concurrency: 1 }, retry: false });
  const first = client.get(`${upstream.url}/slow`).text();
  const second = client.get(`${upstream.url}/slow`).text();
  for (let i = 0; i < 200 && upstream.counters('/slow').inFlight === 0; i += 1) {
    await new Promise((r) => setTimeout(r, 5));
  }
  assert.equal(client.stats().inFlight, 2);
  await client.close();
  const results = await Promise.allSettled([first, second]);
  assert.deepEqual(
    results.map((r) => r.status),
    ['fulfilled', 'fulfilled'],
  );
  assert.equal(client.stats().inFlight, 0);
  assert.equal(client.agent?.closed, true);
});

test('T9 a channel subscriber that throws does not disturb the call', async (t) => {
  const upstream = await startUpstream();
  t.after(() => upstream.close());
  const uncaught = captureUncaught(t);
  const boom = new Error('subscriber bug');
  const sub = (): void => {
    throw boom;
  };
  diagnosticsChannel.subscribe('ky-resilience:attempt', sub);
  t.after(() => diagnosticsChannel.unsubscribe('ky-resilience:attempt', sub));
  const client = createClient();
  t.after(() => client.close());
  const seen: number[] = [];
  client.on('attempt', (e) => seen.push(e.attempt));
  assert.equal((await client.get(upstream.url).json<{ ok: boolean }>()).ok, true);
  await new Promise((r) => setTimeout(r, 10));
  assert.deepEqual(uncaught, [boom]);
  assert.deepEqual(seen, [1]);
});

test('T10 per-request total override', async (t) => {
  const upstream = await startUpstream({ routes: { '/late': { steps: [{ delayHeadersMs: 3_000 }] } } });
  t.after(() => upstream.close());
  const client = createClient();
  t.after(() => client.close());
  const timeouts: TimeoutEvent[] = [];
  client.on('timeout', (e) => timeouts.push(e));
  const error = await client
    .get(`${upstream.url}/late`, { context: { '@ky-resilience/timeout': { total: 100 } } })
    .catch((e: unknown) => e);
  assert.ok(isTotalTimeoutError(error), String(error));
  assert.equal(error.limit, 100);
  assert.deepEqual(
    timeouts.map((x) => [x.phase, x.limit]),
    [['total', 100]],
  );
});

test('T11 a listener added twice is called twice; off during emit', async (t) => {
  const upstream = await startUpstream();
  t.after(() => upstream.close());
  const seen: string[] = [];
  const l = (e: AttemptEvent): void => {
    seen.push(`l${e.attempt}`);
  };
  const client = createClient({ events: { attempt: l } });
  t.after(() => client.close());
  const off1 = client.on('attempt', l);
  let off2: () => void = () => {};
  off2 = client.on('attempt', () => {
    seen.push('once');
    off2();
  });
  await client.get(upstream.url).text();
  await client.get(upstream.url).text();
  off1();
  await client.get(upstream.url).text();
  assert.deepEqual(seen, ['l1', 'l1', 'once', 'l1', 'l1', 'l1']);
});
