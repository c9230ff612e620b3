import assert from 'node:assert/strict';
import { test } from 'node:test';
import { startUpstream } from '@ky-resilience/testing';
import ky from 'ky';
import { createHostLimiter } from '../src/index.ts';
import { closeAfter, until } from './helpers.ts';

test('500 parallel calls with a per-host limit of 5: the upstream never sees more than 5 in flight', async (t) => {
  const upstream = closeAfter(
    t,
    await startUpstream({ routes: { '*': { steps: [{ delayHeadersMs: 2 }] } } }),
  );
  const limiter = createHostLimiter({ concurrency: 5, maxQueue: 500, queueTimeout: false });
  const api = ky.create({ retry: 0 }).extend(limiter.kyOptions);
  let peakActive = 0;
  const calls = Array.from({ length: 500 }, async (_, i) => {
    const body = await api.get(`${upstream.url}/n/${i}`).json<{ ok: boolean }>();
    peakActive = Math.max(peakActive, limiter.stats(upstream.origin)?.active ?? 0);
    return body.ok;
  });
  await until(() => limiter.globalStats().queued + limiter.globalStats().active === 500);
  const stats = limiter.stats(upstream.origin);
  assert.equal(stats?.active, 5);
  assert.equal(stats?.queued, 495);
  const results = await Promise.all(calls);
  assert.equal(results.filter(Boolean).length, 500);
  const counters = upstream.counters();
  assert.equal(counters.requests, 500);
  assert.ok(counters.peakInFlight <= 5, `peak in flight ${counters.peakInFlight}`);
  assert.equal(counters.peakInFlight, 5, 'the limit is used in full');
  assert.ok(peakActive <= 5);
  assert.deepEqual(limiter.globalStats(), { active: 0, queued: 0, hosts: 1, evictedBusy: 0 });
  assert.equal(limiter.stats(upstream.origin)?.rejected, 0);
});

test('the global limit caps the sum across keys, the per-key limit each key', async (t) => {
  const upstream = closeAfter(
    t,
    await startUpstream({ routes: { '*': { steps: [{ delayHeadersMs: 3 }] } } }),
  );
  const limiter = createHostLimiter({ concurrency: 2, globalConcurrency: 3, queueTimeout: false });
  const api = ky.create({ retry: 0 }).extend(limiter.kyOptions);
  const calls = [];
  for (let i = 0; i < 60; i += 1) {
    const key = ['a', 'b', 'c'][i % 3] as string;
    calls.push(
      api.get(`${upstream.url}/${key}`, { context: { '@ky-resilience/host-limiter': { key } } }).text(),
    );
  }
  await until(() => limiter.globalStats().queued === 57);
  assert.equal(limiter.globalStats().active, 3);
  await Promise.all(calls);
  assert.ok(upstream.counters().peakInFlight <= 3, `total peak ${upstream.counters().peakInFlight}`);
  assert.equal(upstream.counters().peakInFlight, 3);
  for (const key of ['/a', '/b', '/c']) {
    assert.ok(upstream.counters(key).peakInFlight <= 2, `${key} peak ${upstream.counters(key).peakInFlight}`);
    assert.equal(upstream.counters(key).requests, 20);
  }
});

test('one limiter shared by two ky instances shares its slots', async (t) => {
  const upstream = closeAfter(
    t,
    await startUpstream({ routes: { '*': { steps: [{ delayHeadersMs: 3 }] } } }),
  );
  const limiter = createHostLimiter({ concurrency: 3, queueTimeout: false });
  const one = ky.create({ retry: 0 }).extend(limiter.kyOptions);
  const two = ky.create({ retry: 0, headers: { 'x-client': 'two' } }).extend(limiter.kyOptions);
  const calls = [];
  for (let i = 0; i < 40; i += 1) calls.push((i % 2 === 0 ? one : two).get(upstream.url).text());
  await until(() => limiter.globalStats().queued === 37);
  assert.equal(limiter.stats(upstream.origin)?.active, 3);
  assert.equal(limiter.stats(upstream.origin)?.queued, 37);
  await Promise.all(calls);
  assert.equal(upstream.counters().peakInFlight, 3);
});

test('each attempt of a retried call takes a slot of its own', async (t) => {
  const upstream = closeAfter(
    t,
    await startUpstream({
      routes: { '/flaky': { steps: [{ status: 500 }, { status: 500 }, { status: 200 }] } },
    }),
  );
  const limiter = createHostLimiter({ concurrency: 1 });
  const api = ky.create({ retry: { limit: 2, delay: () => 0 } }).extend(limiter.kyOptions);
  const body = await api.get(`${upstream.url}/flaky`).json<{ n: number }>();
  assert.equal(body.n, 2);
  assert.equal(upstream.counters('/flaky').requests, 3);
  assert.equal(limiter.stats(upstream.origin)?.active, 0);
});
