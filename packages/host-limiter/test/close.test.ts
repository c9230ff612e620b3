import assert from 'node:assert/strict';
import { test } from 'node:test';
import { startUpstream } from '@ky-resilience/testing';
import ky from 'ky';
import { createHostLimiter, HostLimiterClosedError, isHostLimiterClosedError } from '../src/index.ts';
import { closeAfter, manualTime, rejection, until } from './helpers.ts';

const stall = { routes: { '/stall': { steps: [{ stallBody: true, bodyPrefix: 'x' }] } } };

test('close() rejects every waiter at once and refuses later requests; held slots are released as usual', async (t) => {
  const upstream = closeAfter(t, await startUpstream(stall));
  const limiter = createHostLimiter({ concurrency: 1, queueTimeout: false });
  const api = ky.create({ retry: 0 }).extend(limiter.kyOptions);
  const holder = await api.get(`${upstream.url}/stall`);
  // One waits in the queue; another key is paused, its waiter too (nothing else would end them).
  const queued = rejection(api.get(`${upstream.url}/a`).text());
  limiter.pause('http://paused.test', Date.now() + 3_600_000);
  const paused = rejection(limiter.wrap(async () => new Response('never'))('http://paused.test/x'));
  await until(() => limiter.globalStats().queued === 2);
  assert.equal(limiter.closed, false);
  limiter.close();
  assert.equal(limiter.closed, true);
  for (const [error, key] of [
    [await queued, upstream.origin],
    [await paused, 'http://paused.test'],
  ] as const) {
    assert.ok(error instanceof HostLimiterClosedError && isHostLimiterClosedError(error), String(error));
    assert.equal(error.code, 'ERR_KYR_HOST_LIMITER_CLOSED');
    assert.equal(error.key, key);
    assert.match(error.message, /never sent/);
  }
  assert.equal(limiter.globalStats().queued, 0);
  const later = await rejection(api.get(`${upstream.url}/b`));
  assert.ok(isHostLimiterClosedError(later));
  assert.equal(
    upstream.counters('/a').requests + upstream.counters('/b').requests,
    0,
    'nothing else was sent',
  );
  // The request holding a slot goes on; its slot is released when its body ends.
  assert.equal(limiter.globalStats().active, 1);
  await holder.body?.cancel();
  await until(() => limiter.globalStats().active === 0);
  limiter.close();
});

test('close() also rejects the waiters of a key busy for longer than hostTtl without a lookup', async (t) => {
  const upstream = closeAfter(t, await startUpstream(stall));
  const time = manualTime();
  const limiter = createHostLimiter({
    concurrency: 1,
    queueTimeout: false,
    hostTtl: 1_000,
    clock: time.clock,
    timers: time.timers,
  });
  const api = ky.create({ retry: 0, timeout: false }).extend(limiter.kyOptions);
  const holder = await api.get(`${upstream.url}/stall`);
  const queued = rejection(api.get(`${upstream.url}/a`).text());
  await until(() => limiter.globalStats().queued === 1);
  // The key's time-to-live runs out while its request holds the slot and its waiter waits.
  time.advance(2_000);
  limiter.close();
  let settled = false;
  void queued.then(() => {
    settled = true;
  });
  // At once: before the fix, the waiter stayed queued and was sent once the slot came back.
  await until(() => settled, 40);
  const error = await queued;
  assert.ok(isHostLimiterClosedError(error), String(error));
  assert.equal(error.key, upstream.origin);
  assert.equal(limiter.globalStats().queued, 0);
  await holder.body?.cancel();
  await until(() => limiter.globalStats().active === 0);
  assert.equal(upstream.counters('/a').requests, 0, 'the waiter was never sent');
});
