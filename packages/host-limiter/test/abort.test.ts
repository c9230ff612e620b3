import assert from 'node:assert/strict';
import { test } from 'node:test';
import { startUpstream } from '@ky-resilience/testing';
import ky, { isTimeoutError } from 'ky';
import { createHostLimiter } from '../src/index.ts';
import { closeAfter, manualTime, rejection, tick, until } from './helpers.ts';

const stall = { routes: { '/stall': { steps: [{ stallBody: true, bodyPrefix: 'x' }] } } };

test('a caller’s abort while queued removes the waiter at once and rejects with the caller’s reason', async (t) => {
  const upstream = closeAfter(t, await startUpstream(stall));
  const time = manualTime();
  const limiter = createHostLimiter({
    concurrency: 1,
    queueTimeout: 5_000,
    clock: time.clock,
    timers: time.timers,
  });
  const api = ky.create({ retry: 0 }).extend(limiter.kyOptions);
  const holder = await api.get(`${upstream.url}/stall`);
  const controller = new AbortController();
  const reason = new Error('caller gave up');
  const aborted = rejection(api.get(`${upstream.url}/aborted`, { signal: controller.signal }));
  const other = api.get(`${upstream.url}/other`).text();
  await until(() => limiter.stats(upstream.origin)?.queued === 2);
  assert.deepEqual(time.asked, [5_000], 'one queue timer per key, for the earliest deadline');
  controller.abort(reason);
  assert.equal(limiter.stats(upstream.origin)?.queued, 1, 'the waiter left the queue synchronously');
  assert.equal(await aborted, reason);

  await holder.body?.cancel();
  assert.match(await other, /"ok":true/);
  assert.equal(time.pending, 0, 'the queue timer is cleared once the queue is empty');
  assert.equal(upstream.counters('/aborted').requests, 0, 'the aborted request was never sent');
  assert.equal(limiter.stats(upstream.origin)?.active, 0, 'no slot leaked');
  assert.equal(limiter.stats(upstream.origin)?.rejected, 0, 'an abort is not a rejection');
  time.advance(10_000);
  assert.equal(time.pending, 0);
});

test('an aborted waiter causes no stray rejection or grant later', async (t) => {
  const upstream = closeAfter(t, await startUpstream(stall));
  const limiter = createHostLimiter({ concurrency: 1, queueTimeout: 20 });
  const stray: unknown[] = [];
  const onUnhandled = (error: unknown): void => {
    stray.push(error);
  };
  process.on('unhandledRejection', onUnhandled);
  t.after(() => process.off('unhandledRejection', onUnhandled));
  const api = ky.create({ retry: 0 }).extend(limiter.kyOptions);
  const holder = await api.get(`${upstream.url}/stall`);
  const controllers = Array.from({ length: 20 }, () => new AbortController());
  const calls = controllers.map((c) => rejection(api.get(upstream.url, { signal: c.signal })));
  await until(() => limiter.stats(upstream.origin)?.queued === 20);
  for (const c of controllers) c.abort();
  const errors = await Promise.all(calls);
  assert.ok(errors.every((e) => (e as Error).name === 'AbortError'));
  assert.equal(limiter.stats(upstream.origin)?.queued, 0);
  // Past the queue timeout: a timer left behind would reject or count now.
  await new Promise((resolve) => setTimeout(resolve, 60));
  await holder.body?.cancel();
  await tick();
  assert.deepEqual(stray, []);
  assert.equal(limiter.stats(upstream.origin)?.rejected, 0);
  assert.equal(limiter.stats(upstream.origin)?.active, 0);
  assert.equal(upstream.counters().requests, 1);
});

test('a signal aborted before the call rejects at once and takes no slot', async (t) => {
  const upstream = closeAfter(t, await startUpstream());
  const limiter = createHostLimiter({ concurrency: 1 });
  const api = ky.create({ retry: 0 }).extend(limiter.kyOptions);
  const reason = new Error('already aborted');
  assert.equal(await rejection(api.get(upstream.url, { signal: AbortSignal.abort(reason) })), reason);
  assert.equal(upstream.counters().requests, 0);
  assert.equal(limiter.stats(upstream.origin)?.active ?? 0, 0);
});

test('an abort right after the grant releases the slot', async (t) => {
  const upstream = closeAfter(t, await startUpstream(stall));
  const limiter = createHostLimiter({ concurrency: 1, queueTimeout: false });
  const api = ky.create({ retry: 0 }).extend(limiter.kyOptions);
  const holder = await api.get(`${upstream.url}/stall`);
  const controller = new AbortController();
  const pending = rejection(api.get(upstream.url, { signal: controller.signal }));
  await until(() => limiter.stats(upstream.origin)?.queued === 1);
  await holder.body?.cancel(); // grants the waiter
  controller.abort();
  assert.equal(((await pending) as Error).name, 'AbortError');
  await until(() => limiter.stats(upstream.origin)?.active === 0);
  assert.equal(limiter.globalStats().active, 0);
});

test('a caller’s abort while the body is read releases the slot', async (t) => {
  const upstream = closeAfter(t, await startUpstream(stall));
  const limiter = createHostLimiter({ concurrency: 1 });
  const api = ky.create({ retry: 0 }).extend(limiter.kyOptions);
  const controller = new AbortController();
  const response = await api.get(`${upstream.url}/stall`, { signal: controller.signal });
  const text = rejection(response.text());
  assert.equal(limiter.stats(upstream.origin)?.active, 1, 'the slot is held while the body is read');
  controller.abort(new Error('stop'));
  assert.equal(((await text) as Error).message, 'stop');
  await until(() => limiter.stats(upstream.origin)?.active === 0);
});

test('a caller’s abort after the head releases the slot even when nobody reads the body', async (t) => {
  const upstream = closeAfter(t, await startUpstream(stall));
  const limiter = createHostLimiter({ concurrency: 1 });
  const api = ky.create({ retry: 0 }).extend(limiter.kyOptions);
  const controller = new AbortController();
  await api.get(`${upstream.url}/stall`, { signal: controller.signal });
  assert.equal(limiter.stats(upstream.origin)?.active, 1);
  controller.abort();
  await until(() => limiter.stats(upstream.origin)?.active === 0);
});

test('ky’s totalTimeout counts the queue wait: it ends the wait and the waiter leaves the queue', async (t) => {
  const upstream = closeAfter(t, await startUpstream(stall));
  const limiter = createHostLimiter({ concurrency: 1, queueTimeout: false });
  const api = ky.create({ retry: 0, timeout: false }).extend(limiter.kyOptions);
  const holder = await api.get(`${upstream.url}/stall`);
  const error = await rejection(api.get(`${upstream.url}/late`, { totalTimeout: 50 }));
  assert.ok(isTimeoutError(error), String(error));
  await until(() => limiter.stats(upstream.origin)?.queued === 0);
  assert.equal(upstream.counters('/late').requests, 0);
  await holder.body?.cancel();
  assert.equal(limiter.stats(upstream.origin)?.active, 0);
});
