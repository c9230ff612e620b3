import assert from 'node:assert/strict';
import { test } from 'node:test';
import { blackholeServer, startUpstream } from '@ky-resilience/testing';
import ky from 'ky';
import { isResilienceTimeoutError, timeoutPlugin } from '../src/index.ts';
import { closeAfter, recordingTimers, rejection, until } from './helpers.ts';

test('a caller’s abort while waiting for the head rejects with the caller’s reason', async (t) => {
  const hole = closeAfter(t, await blackholeServer());
  const rec = recordingTimers();
  const api = ky.create({ retry: 0 }).extend(timeoutPlugin({ headers: 5_000, timers: rec.timers }));
  const controller = new AbortController();
  const reason = new Error('caller gave up');
  const pending = api.get(hole.url, { signal: controller.signal });
  await until(() => hole.connections === 1);
  controller.abort(reason);
  const error = await rejection(pending);
  assert.equal(error, reason);
  assert.ok(!isResilienceTimeoutError(error));
  assert.equal(rec.pending, 0, 'timers cleared on abort');
});

test('a caller’s abort without a reason rejects with the AbortError, never a timeout error', async (t) => {
  const hole = closeAfter(t, await blackholeServer());
  const api = ky.create({ retry: 0 }).extend(timeoutPlugin({ attempt: 5_000 }));
  const controller = new AbortController();
  const pending = api.get(hole.url, { signal: controller.signal });
  await until(() => hole.connections === 1);
  controller.abort();
  const error = await rejection(pending);
  assert.equal(error, controller.signal.reason);
  assert.equal((error as Error).name, 'AbortError');
});

test('a caller’s abort while reading the body errors the body with the caller’s reason', async (t) => {
  const upstream = closeAfter(
    t,
    await startUpstream({
      routes: { '/stall': { steps: [{ stallBody: true, bodyPrefix: 'a' }] } },
    }),
  );
  const rec = recordingTimers();
  const api = ky.create({ retry: 0 }).extend(timeoutPlugin({ bodyIdle: 5_000, timers: rec.timers }));
  const controller = new AbortController();
  const reason = new Error('caller gave up mid-body');
  const response = await api.get(`${upstream.url}/stall`, { signal: controller.signal });
  const text = response.text();
  await until(() => rec.pending === 2); // attempt + an idle timer for the pending read
  controller.abort(reason);
  const error = await rejection(text);
  assert.equal(error, reason);
  assert.equal(rec.pending, 0);
});

test('a caller’s abort after the head clears the timers even when nobody reads the body', async (t) => {
  const upstream = closeAfter(
    t,
    await startUpstream({ routes: { '/stall': { steps: [{ stallBody: true }] } } }),
  );
  const rec = recordingTimers();
  const api = ky.create({ retry: 0 }).extend(timeoutPlugin({ timers: rec.timers }));
  const controller = new AbortController();
  await api.get(`${upstream.url}/stall`, { signal: controller.signal });
  assert.equal(rec.pending, 1, 'the attempt timer bounds the unread body');
  controller.abort();
  assert.equal(rec.pending, 0);
});

test('a signal aborted before the call rejects at once with its reason and starts no timer', async (t) => {
  const upstream = closeAfter(t, await startUpstream());
  const rec = recordingTimers();
  const api = ky.create({ retry: 0 }).extend(timeoutPlugin({ timers: rec.timers }));
  const reason = new Error('already aborted');
  const error = await rejection(api.get(upstream.url, { signal: AbortSignal.abort(reason) }));
  assert.equal(error, reason);
  assert.equal(rec.asked.length, 0);
  assert.equal(upstream.counters().requests, 0);
});

test('a caller’s abort during ky’s backoff sleep rejects with the caller’s reason', async (t) => {
  const upstream = closeAfter(t, await startUpstream({ routes: { '/down': { steps: [{ status: 503 }] } } }));
  const rec = recordingTimers();
  const api = ky
    .create({ retry: { limit: 3, delay: () => 10_000, jitter: false } })
    .extend(timeoutPlugin({ total: false, timers: rec.timers }));
  const controller = new AbortController();
  const reason = new Error('stop waiting');
  const pending = api.get(`${upstream.url}/down`, { signal: controller.signal });
  await until(() => upstream.counters('/down').requests === 1 && rec.pending === 0);
  controller.abort(reason);
  assert.equal(await rejection(pending), reason);
  assert.equal(upstream.counters('/down').requests, 1);
});

test('with the body phase unbounded, a caller’s abort while reading the body still errors it with the caller’s reason', async (t) => {
  const upstream = closeAfter(
    t,
    await startUpstream({ routes: { '/stall': { steps: [{ stallBody: true, bodyPrefix: 'a' }] } } }),
  );
  const rec = recordingTimers();
  const api = ky
    .create({ retry: 0 })
    .extend(timeoutPlugin({ attempt: false, bodyIdle: false, headers: 5_000, timers: rec.timers }));
  const controller = new AbortController();
  const reason = new Error('caller gave up mid-body');
  const response = await api.get(`${upstream.url}/stall`, { signal: controller.signal });
  assert.equal(rec.pending, 0, 'no timer bounds the body');
  const text = response.text();
  controller.abort(reason);
  assert.equal(await rejection(text), reason);
});
