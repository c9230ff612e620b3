import assert from 'node:assert/strict';
import { test } from 'node:test';
import { startUpstream } from '@ky-resilience/testing';
import ky from 'ky';
import { createHostLimiter, isQueueTimeoutError } from '../src/index.ts';
import { closeAfter, manualTime, rejection, until } from './helpers.ts';

test('rate limit: a burst starts at once, the rest wait in FIFO order for tokens', async (t) => {
  const upstream = closeAfter(t, await startUpstream());
  const time = manualTime();
  const limiter = createHostLimiter({
    rate: 4,
    burst: 2,
    queueTimeout: false,
    clock: time.clock,
    timers: time.timers,
  });
  const api = ky.create({ retry: 0 }).extend(limiter.kyOptions);
  const order: number[] = [];
  const calls = Array.from({ length: 5 }, (_, i) =>
    api
      .get(`${upstream.url}/r/${i}`)
      .text()
      .then(() => order.push(i)),
  );
  await until(() => upstream.counters().requests === 2 && limiter.stats(upstream.origin)?.queued === 3);
  assert.deepEqual(time.asked, [250], 'the next token is due in 1000 / rate ms');
  time.advance(250);
  await until(() => upstream.counters().requests === 3);
  assert.equal(limiter.stats(upstream.origin)?.queued, 2);
  time.advance(250);
  await until(() => upstream.counters().requests === 4);
  time.advance(250);
  await Promise.all(calls);
  assert.deepEqual(order.slice(2), [2, 3, 4]);
  assert.deepEqual(time.asked, [250, 250, 250]);
  assert.equal(time.pending, 0);
});

test('rate limit: tokens refill while idle up to the burst', async (t) => {
  const upstream = closeAfter(t, await startUpstream());
  const time = manualTime();
  const limiter = createHostLimiter({
    rate: 1,
    burst: 3,
    queueTimeout: false,
    clock: time.clock,
    timers: time.timers,
  });
  const api = ky.create({ retry: 0 }).extend(limiter.kyOptions);
  for (let i = 0; i < 3; i += 1) await api.get(upstream.url).text();
  time.advance(60_000);
  for (let i = 0; i < 3; i += 1) await api.get(upstream.url).text();
  assert.equal(time.asked.length, 0, 'a full bucket after an idle minute: nobody waited');
  const fourth = api.get(upstream.url).text();
  await until(() => limiter.stats(upstream.origin)?.queued === 1);
  assert.deepEqual(time.asked, [1_000]);
  time.advance(1_000);
  assert.match(await fourth, /"ok":true/);
});

test('rate limit: the wait for a token is bounded by the queue timeout', async (t) => {
  const upstream = closeAfter(t, await startUpstream());
  const time = manualTime();
  const limiter = createHostLimiter({
    rate: 0.5,
    burst: 1,
    queueTimeout: 500,
    clock: time.clock,
    timers: time.timers,
  });
  const api = ky.create({ retry: 0 }).extend(limiter.kyOptions);
  await api.get(upstream.url).text();
  const second = rejection(api.get(upstream.url));
  await until(() => limiter.stats(upstream.origin)?.queued === 1);
  time.advance(500);
  assert.ok(isQueueTimeoutError(await second));
  assert.equal(upstream.counters().requests, 1);
  assert.equal(time.pending, 0);
});

test('rate limits are per key', async (t) => {
  const a = closeAfter(t, await startUpstream());
  const b = closeAfter(t, await startUpstream());
  const time = manualTime();
  const limiter = createHostLimiter({ rate: 1, burst: 1, clock: time.clock, timers: time.timers });
  const api = ky.create({ retry: 0 }).extend(limiter.kyOptions);
  await api.get(a.url).text();
  await api.get(b.url).text();
  assert.equal(time.asked.length, 0);
});
