import assert from 'node:assert/strict';
import { test } from 'node:test';
import { startUpstream } from '@ky-resilience/testing';
import ky from 'ky';
import { createHostLimiter } from '../src/index.ts';
import { closeAfter, manualTime, until } from './helpers.ts';

const key = '@ky-resilience/host-limiter';
const stall = { routes: { '/stall': { steps: [{ stallBody: true, bodyPrefix: 'x' }] } } };

test('10 000 distinct host keys keep the registry at its bound', async (t) => {
  const upstream = closeAfter(t, await startUpstream());
  const limiter = createHostLimiter({
    maxHosts: 500,
    concurrency: 2,
    globalConcurrency: 64,
    queueTimeout: false,
  });
  const api = ky.create({ retry: 0 }).extend(limiter.kyOptions);
  let peakHosts = 0;
  let peakEvicted = 0;
  const total = 10_000;
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < total) {
      const i = next;
      next += 1;
      await api.get(upstream.url, { context: { [key]: { key: `host-${i}.test` } } }).text();
      const stats = limiter.globalStats();
      peakHosts = Math.max(peakHosts, stats.hosts);
      peakEvicted = Math.max(peakEvicted, stats.evictedBusy);
    }
  };
  await Promise.all(Array.from({ length: 64 }, worker));
  assert.equal(upstream.counters().requests, total);
  const stats = limiter.globalStats();
  assert.equal(stats.hosts, 500);
  assert.ok(peakHosts <= 500, `peak ${peakHosts}`);
  assert.ok(
    peakEvicted <= 64,
    `busy entries kept aside are bounded by the requests in flight: ${peakEvicted}`,
  );
  assert.equal(stats.evictedBusy, 0);
  assert.equal(stats.active, 0);
  assert.equal(limiter.stats('host-0.test'), undefined, 'the oldest keys were forgotten');
  assert.equal(limiter.stats(`host-${total - 1}.test`)?.active, 0);
});

test('an entry evicted with requests in flight and queued keeps its accounting and its limit', async (t) => {
  const upstream = closeAfter(t, await startUpstream(stall));
  const limiter = createHostLimiter({ maxHosts: 2, concurrency: 1, queueTimeout: false });
  const api = ky.create({ retry: 0 }).extend(limiter.kyOptions);
  const asKey = (k: string) => ({ context: { [key]: { key: k } } });
  const holder = await api.get(`${upstream.url}/stall`, asKey('a'));
  const queued = api.get(`${upstream.url}/a-queued`, asKey('a')).text();
  await until(() => limiter.stats('a')?.queued === 1);
  for (const other of ['b', 'c', 'd']) await api.get(upstream.url, asKey(other)).text();
  assert.deepEqual(limiter.globalStats(), { active: 1, queued: 1, hosts: 2, evictedBusy: 1 });
  assert.equal(limiter.stats('a')?.active, 1, 'still known while busy');
  assert.equal(limiter.stats('a')?.queued, 1);

  // A new request for the evicted key joins the same entry: the limit of 1 still holds.
  const another = api.get(`${upstream.url}/a-another`, asKey('a')).text();
  await until(() => limiter.stats('a')?.queued === 2);
  assert.equal(upstream.counters('/a-queued').requests, 0);
  assert.equal(upstream.counters('/a-another').requests, 0);

  await holder.body?.cancel();
  await Promise.all([queued, another]);
  assert.deepEqual(limiter.globalStats(), { active: 0, queued: 0, hosts: 2, evictedBusy: 0 });
  assert.equal(limiter.stats('a')?.active, 0, 'back in the LRU when idle');
});

test('a key evicted while paused comes back with its pause when its work is done', async (t) => {
  const upstream = closeAfter(t, await startUpstream(stall));
  const time = manualTime();
  const limiter = createHostLimiter({ maxHosts: 1, clock: time.clock, timers: time.timers });
  const api = ky.create({ retry: 0 }).extend(limiter.kyOptions);
  const holder = await api.get(`${upstream.url}/stall`, { context: { [key]: { key: 'a' } } });
  limiter.pause('a', time.clock() + 10_000);
  await api.get(upstream.url, { context: { [key]: { key: 'b' } } }).text();
  assert.equal(limiter.globalStats().evictedBusy, 1);
  await holder.body?.cancel();
  await until(() => limiter.globalStats().evictedBusy === 0);
  assert.equal(limiter.stats('a')?.pausedUntil, time.clock() + 10_000);
  assert.equal(limiter.stats('b'), undefined, 'b made room for the returning entry');
});

test('idle keys expire after hostTtl on the limiter’s clock; busy ones stay accounted', async (t) => {
  const upstream = closeAfter(t, await startUpstream(stall));
  const time = manualTime();
  const limiter = createHostLimiter({
    hostTtl: 1_000,
    concurrency: 1,
    queueTimeout: false,
    clock: time.clock,
    timers: time.timers,
  });
  const api = ky.create({ retry: 0 }).extend(limiter.kyOptions);
  await api.get(upstream.url, { context: { [key]: { key: 'idle' } } }).text();
  const holder = await api.get(`${upstream.url}/stall`, { context: { [key]: { key: 'busy' } } });
  time.advance(1_001);
  assert.equal(limiter.stats('idle'), undefined);
  assert.equal(limiter.stats('busy')?.active, 1, 'an expired key with work in flight is still reported');
  // The busy key expired too, but a lookup finds it aside with its slot still taken.
  const queued = api.get(upstream.url, { context: { [key]: { key: 'busy' } } }).text();
  await until(() => limiter.stats('busy')?.queued === 1);
  assert.equal(limiter.stats('busy')?.active, 1);
  await holder.body?.cancel();
  await queued;
  assert.equal(limiter.stats('busy')?.active, 0);
  assert.equal(time.asked.length, 0, 'no timers for idle expiry');
});

test('stats, pause and recheck take the host as a URL too: a URL string with a path or a trailing slash, a URL object, a Request', async (t) => {
  const upstream = closeAfter(t, await startUpstream(stall));
  const time = manualTime(Date.now());
  const limiter = createHostLimiter({ concurrency: 1, clock: time.clock, timers: time.timers });
  const api = ky.create({ retry: 0 }).extend(limiter.kyOptions);
  const held = await api.get(`${upstream.url}/stall`);
  const forms = [
    upstream.origin,
    `${upstream.origin}/`,
    `${upstream.origin}/stall?x=1`,
    upstream.origin.replace('http:', 'HTTP:'),
    new URL(upstream.origin),
    new Request(`${upstream.url}/other`),
  ];
  for (const form of forms) {
    assert.equal(limiter.stats(form)?.key, upstream.origin, String(form));
    assert.equal(limiter.stats(form)?.active, 1, String(form));
  }
  // pause() of a URL with a trailing slash (a ky baseUrl) pauses the host's own key.
  const until = time.clock() + 10_000;
  limiter.pause(`${upstream.origin}/`, until);
  assert.equal(limiter.globalStats().hosts, 1);
  assert.equal(limiter.stats(upstream.origin)?.pausedUntil, until);
  assert.equal(limiter.recheck(new URL(`${upstream.origin}/x`)), 0);
  await held.body?.cancel();
  // A key that is not a URL, and a URL that is a per-request key of its own, are taken as they are.
  limiter.pause('tenant-a', until);
  assert.equal(limiter.stats('tenant-a')?.pausedUntil, until);
  const v2 = `${upstream.origin}/v2`;
  const own = await api.get(`${upstream.url}/stall`, { context: { [key]: { key: v2 } } });
  assert.equal(limiter.stats(v2)?.key, v2);
  assert.equal(limiter.stats(v2)?.active, 1);
  assert.equal(limiter.stats(upstream.origin)?.active, 0);
  await own.body?.cancel();
  assert.equal(limiter.globalStats().hosts, 3);
});

test('with a key option, a string is the key itself and a URL is keyed by key(request)', () => {
  const limiter = createHostLimiter({ key: (request) => new URL(request.url).hostname });
  const until = Date.now() + 10_000;
  limiter.pause(new URL('https://api.example/items'), until);
  assert.equal(limiter.stats('api.example')?.pausedUntil, until);
  assert.equal(limiter.stats('https://api.example/'), undefined);
  limiter.pause('https://api.example/', until);
  assert.equal(limiter.stats('https://api.example/')?.pausedUntil, until);
  assert.equal(limiter.globalStats().hosts, 2);
});
