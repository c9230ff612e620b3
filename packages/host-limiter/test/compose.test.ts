import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createAgent } from '@ky-resilience/agent';
import { startUpstream } from '@ky-resilience/testing';
import { isAttemptTimeoutError, timeoutPlugin } from '@ky-resilience/timeout';
import ky from 'ky';
import { createHostLimiter } from '../src/index.ts';
import { closeAfter, manualTime, rejection, until } from './helpers.ts';

const stall = { routes: { '/stall': { steps: [{ stallBody: true, bodyPrefix: 'x' }] } } };

test('queue wait does not count toward the attempt timeout (limiter extended after the timeout plugin)', async (t) => {
  const upstream = closeAfter(t, await startUpstream(stall));
  const attemptTime = manualTime();
  const limiter = createHostLimiter({ concurrency: 1, queueTimeout: false });
  const api = ky
    .create({ retry: 0 })
    .extend(timeoutPlugin({ total: false, attempt: 5_000, bodyIdle: false, timers: attemptTime.timers }))
    .extend(limiter.kyOptions);
  const holder = await api.get(`${upstream.url}/stall`);
  assert.deepEqual(attemptTime.asked, [5_000]);
  const queued = api.get(`${upstream.url}/queued`).text();
  await until(() => limiter.stats(upstream.origin)?.queued === 1);
  assert.deepEqual(attemptTime.asked, [5_000], 'no attempt timer runs while the request waits in the queue');
  await holder.body?.cancel();
  assert.match(await queued, /"ok":true/);
  assert.deepEqual(attemptTime.asked, [5_000, 5_000], 'the attempt timer started when the slot was granted');
});

test('an inner attempt timeout on a body nobody reads frees the slot for the queue', async (t) => {
  const upstream = closeAfter(t, await startUpstream(stall));
  const attemptTime = manualTime();
  const limiter = createHostLimiter({ concurrency: 1, queueTimeout: false });
  const api = ky
    .create({ retry: 0 })
    .extend(timeoutPlugin({ total: false, attempt: 1_000, bodyIdle: false, timers: attemptTime.timers }))
    .extend(limiter.kyOptions);
  const holder = await api.get(`${upstream.url}/stall`);
  const queued = api.get(`${upstream.url}/queued`).text();
  await until(() => limiter.stats(upstream.origin)?.queued === 1);
  attemptTime.advance(1_000); // the holder's attempt runs out while its body is unread
  assert.match(await queued, /"ok":true/);
  assert.ok(isAttemptTimeoutError(await rejection(holder.text())));
  assert.equal(limiter.stats(upstream.origin)?.active, 0);
});

test('through the agent: 200 calls over a pool of 10 with a limiter of 4 per host', async (t) => {
  const upstream = closeAfter(
    t,
    await startUpstream({ routes: { '*': { steps: [{ delayHeadersMs: 2 }] } } }),
  );
  const agent = createAgent({ limitPerHost: 10 });
  t.after(() => agent.close());
  const limiter = createHostLimiter({ concurrency: 4, maxQueue: 200, queueTimeout: false });
  const api = ky
    .create({ ...agent.kyOptions, retry: 0 })
    .extend(timeoutPlugin())
    .extend(limiter.kyOptions);
  const results = await Promise.all(
    Array.from({ length: 200 }, () => api.get(upstream.url).json<{ ok: boolean }>()),
  );
  assert.equal(results.filter((r) => r.ok).length, 200);
  assert.equal(upstream.counters().peakInFlight, 4);
  assert.ok(upstream.counters().connections <= 4, `connections ${upstream.counters().connections}`);
  assert.deepEqual(limiter.globalStats(), { active: 0, queued: 0, hosts: 1, evictedBusy: 0 });
});

test('the same kyOptions installed twice on a ky chain limits each attempt once (no second slot, no deadlock)', async (t) => {
  const upstream = closeAfter(
    t,
    await startUpstream({ routes: { '/slow': { steps: [{ delayHeadersMs: 30 }] } } }),
  );
  for (const between of [false, true]) {
    upstream.reset();
    const limiter = createHostLimiter({ concurrency: 2, queueTimeout: 5_000 });
    const base = ky.create({ retry: 0 }).extend(limiter.kyOptions);
    // A child instance extended with the same fragment again, right after it or with another plugin between.
    const api = (between ? base.extend(timeoutPlugin()) : base).extend(limiter.kyOptions);
    const texts = await Promise.all(Array.from({ length: 6 }, () => api.get(`${upstream.url}/slow`).text()));
    assert.equal(texts.length, 6);
    const counters = upstream.counters('/slow');
    assert.equal(counters.requests, 6);
    assert.ok(counters.peakInFlight <= 2, 'at most two slots per key, one per attempt');
    assert.equal(limiter.stats(upstream.origin)?.rejected, 0);
    assert.equal(limiter.globalStats().active, 0);
  }
});
