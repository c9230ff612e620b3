import assert from 'node:assert/strict';
import { test } from 'node:test';
import { startUpstream } from '@ky-resilience/testing';
import ky from 'ky';
import { createHostLimiter, type FetchFunction } from '../src/index.ts';
import { closeAfter, tick, until } from './helpers.ts';

/** A fetch whose responses come only when the test says so; records the URLs it was called with. */
function heldFetch(): { fetch: FetchFunction; started: string[]; finish(url?: string): void } {
  const started: string[] = [];
  const pending: Array<{ url: string; resolve: (r: Response) => void }> = [];
  return {
    started,
    fetch(input) {
      const url = input instanceof Request ? input.url : String(input);
      started.push(url);
      return new Promise((resolve) => pending.push({ url, resolve }));
    },
    finish(url) {
      const index = url === undefined ? 0 : pending.findIndex((p) => p.url.startsWith(url));
      const [item] = pending.splice(index, 1);
      item?.resolve(new Response(null, { status: 204 }));
    },
  };
}

test('free global slots go round-robin to the hosts with waiters, not to the longest queue', async () => {
  const held = heldFetch();
  const limiter = createHostLimiter({ concurrency: 2, globalConcurrency: 2, queueTimeout: false });
  const fetch = limiter.wrap(held.fetch);
  const calls: Promise<Response>[] = [];
  for (let i = 0; i < 6; i += 1) calls.push(fetch(`http://a.test/${i}`));
  for (let i = 0; i < 2; i += 1) calls.push(fetch(`http://b.test/${i}`));
  calls.push(fetch('http://c.test/0'));
  await tick();
  assert.deepEqual(held.started, ['http://a.test/0', 'http://a.test/1']);
  for (let i = 0; i < 7; i += 1) {
    held.finish('http://a.test');
    await tick();
  }
  for (let i = 0; i < 2; i += 1) {
    held.finish();
    await tick();
  }
  await Promise.all(calls);
  assert.deepEqual(held.started.slice(2), [
    'http://b.test/0',
    'http://c.test/0',
    'http://a.test/2',
    'http://b.test/1',
    'http://a.test/3',
    'http://a.test/4',
    'http://a.test/5',
  ]);
  assert.equal(limiter.globalStats().active, 0);
});

test('a slow host cannot take every global slot: the per-host cap leaves room for the others', async (t) => {
  const slow = closeAfter(t, await startUpstream({ routes: { '*': { steps: [{ stallBody: true }] } } }));
  const fast = closeAfter(t, await startUpstream());
  const limiter = createHostLimiter({ concurrency: 3, globalConcurrency: 4, queueTimeout: false });
  const api = ky.create({ retry: 0 }).extend(limiter.kyOptions);
  const stuck = Array.from({ length: 10 }, () => api.get(slow.url));
  await until(() => limiter.stats(slow.origin)?.queued === 7);
  assert.equal(limiter.stats(slow.origin)?.active, 3);
  for (let i = 0; i < 20; i += 1) assert.match(await api.get(fast.url).text(), /"ok":true/);
  assert.equal(fast.counters().requests, 20);
  assert.equal(slow.counters().requests, 3);
  const responses = await Promise.all(stuck.slice(0, 3));
  for (const response of responses) await response.body?.cancel();
  await until(() => slow.counters().requests === 6);
  await slow.close();
  await Promise.allSettled(stuck);
});

test('with only globalConcurrency given, a hanging host still leaves a slot to the others', async (t) => {
  const hanging = closeAfter(t, await startUpstream({ routes: { '*': { steps: [{ stallBody: true }] } } }));
  const healthy = closeAfter(t, await startUpstream());
  const limiter = createHostLimiter({ globalConcurrency: 3, queueTimeout: false });
  const api = ky.create({ retry: 0 }).extend(limiter.kyOptions);
  const stuck = Array.from({ length: 5 }, () => api.get(hanging.url));
  await until(() => limiter.stats(hanging.origin)?.queued === 3);
  assert.equal(
    limiter.stats(hanging.origin)?.active,
    2,
    'the default per-host cap is one below the global cap',
  );
  for (let i = 0; i < 5; i += 1) assert.match(await api.get(healthy.url).text(), /"ok":true/);
  assert.equal(healthy.counters().requests, 5);
  await hanging.close();
  await Promise.allSettled(stuck);
});
