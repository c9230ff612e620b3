import assert from 'node:assert/strict';
import { test } from 'node:test';
import { startUpstream } from '@ky-resilience/testing';
import ky from 'ky';
import {
  createHostLimiter,
  isHostLimiterError,
  isQueueFullError,
  isQueueTimeoutError,
  QueueFullError,
  QueueTimeoutError,
} from '../src/index.ts';
import { closeAfter, manualTime, rejection, until } from './helpers.ts';

const stall = { routes: { '/stall': { steps: [{ stallBody: true, bodyPrefix: 'x' }] } } };

test('a full queue rejects at once with a QueueFullError; the request is never sent', async (t) => {
  const upstream = closeAfter(t, await startUpstream(stall));
  const limiter = createHostLimiter({ concurrency: 1, maxQueue: 2, queueTimeout: false });
  const api = ky.create({ retry: 0 }).extend(limiter.kyOptions);
  const holder = await api.get(`${upstream.url}/stall`);
  const queued = [api.get(`${upstream.url}/a`).text(), api.get(`${upstream.url}/b`).text()];
  await until(() => limiter.stats(upstream.origin)?.queued === 2);
  const error = await rejection(api.get(`${upstream.url}/c`));
  assert.ok(error instanceof QueueFullError);
  assert.ok(isQueueFullError(error) && isHostLimiterError(error) && !isQueueTimeoutError(error));
  assert.equal(error.code, 'ERR_KYR_QUEUE_FULL');
  assert.equal(error.key, upstream.origin);
  assert.equal(error.limit, 1);
  assert.equal(error.active, 1);
  assert.equal(error.queued, 2);
  assert.equal(error.maxQueue, 2);
  assert.equal(error.bound, 'key');
  assert.equal(error.queuedTotal, 2);
  assert.equal(error.maxQueueTotal, 10_000, 'the default global queue cap');
  assert.equal(error.request?.url, `${upstream.url}/c`);
  assert.match(error.message, /never sent/);
  assert.match(error.message, new RegExp(upstream.origin.replace(/[.:/]/g, '\\$&')));
  assert.equal(upstream.counters().requests, 1, 'neither queued nor rejected requests were sent');
  assert.equal(upstream.counters('/c').requests, 0);
  const stats = limiter.stats(upstream.origin);
  assert.equal(stats?.rejected, 1);
  assert.equal(stats?.rejectedQueueFull, 1);

  await holder.body?.cancel();
  assert.deepEqual(await Promise.all(queued), [
    '{"ok":true,"route":"/a","n":0}',
    '{"ok":true,"route":"/b","n":1}',
  ]);
  assert.equal(upstream.counters().requests, 3);
  assert.equal(limiter.stats(upstream.origin)?.active, 0);
});

test('maxQueue 0: no queue, a request that cannot start is rejected', async (t) => {
  const upstream = closeAfter(t, await startUpstream(stall));
  const limiter = createHostLimiter({ concurrency: 1, maxQueue: 0 });
  const api = ky.create({ retry: 0 }).extend(limiter.kyOptions);
  const holder = await api.get(`${upstream.url}/stall`);
  const error = await rejection(api.get(upstream.url));
  assert.ok(isQueueFullError(error));
  assert.equal((error as QueueFullError).queued, 0);
  assert.equal((error as QueueFullError).bound, 'key');
  await holder.body?.cancel();
  assert.equal(await api.get(upstream.url).text(), '{"ok":true,"route":"/","n":0}');
});

test('a request that waits longer than queueTimeout rejects with a QueueTimeoutError and is never sent', async (t) => {
  const upstream = closeAfter(t, await startUpstream(stall));
  const time = manualTime();
  const limiter = createHostLimiter({
    concurrency: 1,
    queueTimeout: 1_500,
    clock: time.clock,
    timers: time.timers,
  });
  const api = ky.create({ retry: 0 }).extend(limiter.kyOptions);
  const holder = await api.get(`${upstream.url}/stall`);
  assert.equal(time.asked.length, 0, 'a request that starts at once sets no timer');
  const waiting = rejection(api.get(`${upstream.url}/late`));
  await until(() => limiter.stats(upstream.origin)?.queued === 1);
  assert.deepEqual(time.asked, [1_500]);
  assert.equal(time.unrefd, 1, 'the queue timer is unref’d');
  time.advance(1_499);
  assert.equal(limiter.stats(upstream.origin)?.queued, 1);
  time.advance(1);
  const error = await waiting;
  assert.ok(error instanceof QueueTimeoutError);
  assert.ok(isQueueTimeoutError(error) && !isQueueFullError(error));
  assert.equal(error.code, 'ERR_KYR_QUEUE_TIMEOUT');
  assert.equal(error.timeout, 1_500);
  assert.equal(error.key, upstream.origin);
  assert.equal(error.active, 1);
  assert.equal(error.queued, 0);
  assert.equal(error.pausedUntil, undefined);
  assert.match(error.message, /within 1500 ms/);
  assert.match(error.message, /never sent/);
  assert.equal(upstream.counters('/late').requests, 0);
  const stats = limiter.stats(upstream.origin);
  assert.equal(stats?.queued, 0);
  assert.equal(stats?.rejectedQueueTimeout, 1);
  assert.equal(stats?.rejected, 1);
  await holder.body?.cancel();
  assert.equal(time.pending, 0);
});

test('a request granted before its queue timeout clears the timer', async (t) => {
  const upstream = closeAfter(t, await startUpstream(stall));
  const time = manualTime();
  const limiter = createHostLimiter({
    concurrency: 1,
    queueTimeout: 1_000,
    clock: time.clock,
    timers: time.timers,
  });
  const api = ky.create({ retry: 0 }).extend(limiter.kyOptions);
  const holder = await api.get(`${upstream.url}/stall`);
  const next = api.get(`${upstream.url}/next`).text();
  await until(() => time.pending === 1);
  await holder.body?.cancel();
  assert.equal(time.pending, 0, 'timer cleared when the slot was granted');
  assert.match(await next, /"ok":true/);
  time.advance(5_000);
  assert.equal(limiter.stats(upstream.origin)?.rejected, 0);
});

test('the queue timeout can be set per request through the context', async (t) => {
  const upstream = closeAfter(t, await startUpstream(stall));
  const time = manualTime();
  const limiter = createHostLimiter({
    concurrency: 1,
    queueTimeout: 1_000,
    clock: time.clock,
    timers: time.timers,
  });
  const api = ky.create({ retry: 0 }).extend(limiter.kyOptions);
  const holder = await api.get(`${upstream.url}/stall`);
  const short = rejection(
    api.get(upstream.url, { context: { '@ky-resilience/host-limiter': { queueTimeout: 50 } } }),
  );
  const forever = api
    .get(upstream.url, { context: { '@ky-resilience/host-limiter': { queueTimeout: false } } })
    .text();
  await until(() => limiter.stats(upstream.origin)?.queued === 2);
  assert.deepEqual(time.asked, [50]);
  time.advance(50);
  assert.ok(isQueueTimeoutError(await short));
  assert.equal(((await short) as QueueTimeoutError).timeout, 50);
  await holder.body?.cancel();
  assert.match(await forever, /"ok":true/);
});

test('waiters of one key are served in FIFO order', async (t) => {
  const upstream = closeAfter(t, await startUpstream(stall));
  const limiter = createHostLimiter({ concurrency: 1, queueTimeout: false });
  const api = ky.create({ retry: 0 }).extend(limiter.kyOptions);
  const holder = await api.get(`${upstream.url}/stall`);
  const order: number[] = [];
  const calls = [];
  for (let i = 0; i < 8; i += 1) {
    calls.push(
      api
        .get(`${upstream.url}/q/${i}`)
        .text()
        .then(() => order.push(i)),
    );
    await until(() => limiter.stats(upstream.origin)?.queued === i + 1);
  }
  await holder.body?.cancel();
  await Promise.all(calls);
  assert.deepEqual(order, [0, 1, 2, 3, 4, 5, 6, 7]);
  assert.equal(upstream.counters().requests, 9);
});

test('one timer per key serves waiters with different queue timeouts, each rejected at its own deadline', async (t) => {
  const upstream = closeAfter(t, await startUpstream(stall));
  const time = manualTime();
  const limiter = createHostLimiter({
    concurrency: 1,
    queueTimeout: 1_000,
    clock: time.clock,
    timers: time.timers,
  });
  const api = ky.create({ retry: 0 }).extend(limiter.kyOptions);
  const holder = await api.get(`${upstream.url}/stall`);
  const within = (ms: number) => ({ context: { '@ky-resilience/host-limiter': { queueTimeout: ms } } });
  const settled: string[] = [];
  const track = (name: string, call: Promise<unknown>) =>
    call.then(
      () => settled.push(`${name} ok`),
      (error: unknown) =>
        settled.push(`${name} ${isQueueTimeoutError(error) ? (error as QueueTimeoutError).timeout : error}`),
    );
  const a = track('a', api.get(upstream.url, within(300)).text());
  await until(() => limiter.stats(upstream.origin)?.queued === 1);
  const b = track('b', api.get(upstream.url).text());
  await until(() => limiter.stats(upstream.origin)?.queued === 2);
  const c = track('c', api.get(upstream.url, within(100)).text());
  await until(() => limiter.stats(upstream.origin)?.queued === 3);
  assert.deepEqual(time.asked, [300, 100], 're-armed for an earlier deadline only');
  time.advance(100);
  await c;
  assert.deepEqual(time.asked, [300, 100, 200]);
  time.advance(200);
  await a;
  assert.deepEqual(time.asked, [300, 100, 200, 700]);
  assert.equal(limiter.stats(upstream.origin)?.queued, 1);
  time.advance(699);
  assert.equal(limiter.stats(upstream.origin)?.queued, 1);
  time.advance(1);
  await b;
  assert.deepEqual(settled, ['c 100', 'a 300', 'b 1000']);
  assert.equal(limiter.stats(upstream.origin)?.rejectedQueueTimeout, 3);
  assert.equal(upstream.counters().requests, 1);
  assert.equal(time.pending, 0);
  await holder.body?.cancel();
});
