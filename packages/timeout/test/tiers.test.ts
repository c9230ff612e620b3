import assert from 'node:assert/strict';
import { test } from 'node:test';
import { blackholeServer, startUpstream } from '@ky-resilience/testing';
import ky, { isTimeoutError } from 'ky';
import {
  isAttemptTimeoutError,
  isBodyIdleTimeoutError,
  isHeadersTimeoutError,
  isTotalTimeoutError,
  timeoutPlugin,
} from '../src/index.ts';
import { closeAfter, recordingTimers, rejection } from './helpers.ts';

test('headers that never come: HeadersTimeoutError with phase, host, attempt, limit and request', async (t) => {
  const hole = closeAfter(t, await blackholeServer());
  const rec = recordingTimers();
  const api = ky
    .create({ retry: 0 })
    .extend(timeoutPlugin({ headers: 100, attempt: 5_000, timers: rec.timers }));
  const error = await rejection(api.get(`${hole.url}/slow`));
  assert.ok(isHeadersTimeoutError(error), String(error));
  assert.equal(error.name, 'HeadersTimeoutError');
  assert.equal(error.phase, 'headers');
  assert.equal(error.host, `127.0.0.1:${hole.port}`);
  assert.equal(error.attempt, 1);
  assert.equal(error.limit, 100);
  assert.equal(error.request?.url, `${hole.url}/slow`);
  assert.equal(error.code, 'ERR_KYR_TIMEOUT');
  assert.equal(hole.connections, 1);
  assert.deepEqual(rec.asked, [100, 5_000]);
  assert.equal(rec.pending, 0, 'every timer cleared');
  assert.equal(rec.unrefd, 2, 'every timer unref’d');
});

test('late headers from a real upstream trip the headers tier; the upstream saw the request', async (t) => {
  const upstream = closeAfter(
    t,
    await startUpstream({ routes: { '/late': { steps: [{ delayHeadersMs: 5_000 }] } } }),
  );
  const rec = recordingTimers();
  const api = ky.create({ retry: 0 }).extend(timeoutPlugin({ headers: 300, timers: rec.timers }));
  const error = await rejection(api.get(`${upstream.url}/late`));
  assert.ok(isHeadersTimeoutError(error), String(error));
  assert.equal(error.limit, 300);
  assert.equal(upstream.counters('/late').requests, 1);
  assert.equal(rec.pending, 0);
});

test('headers then a stalled body: BodyIdleTimeoutError from the body read', async (t) => {
  const upstream = closeAfter(
    t,
    await startUpstream({
      routes: { '/stall': { steps: [{ stallBody: true, bodyPrefix: '{"items":[' }] } },
    }),
  );
  const rec = recordingTimers();
  const api = ky
    .create({ retry: 0 })
    .extend(timeoutPlugin({ bodyIdle: 100, attempt: 10_000, timers: rec.timers }));
  const response = await api.get(`${upstream.url}/stall`);
  assert.equal(response.status, 200);
  assert.equal(response.url, `${upstream.url}/stall`);
  const error = await rejection(response.text());
  assert.ok(isBodyIdleTimeoutError(error), String(error));
  assert.equal(error.phase, 'bodyIdle');
  assert.equal(error.limit, 100);
  assert.equal(error.attempt, 1);
  assert.equal(error.host, `127.0.0.1:${upstream.port}`);
  assert.equal(rec.pending, 0);
});

test('a stalled body also trips bodyIdle through ky’s .json() shortcut', async (t) => {
  const upstream = closeAfter(
    t,
    await startUpstream({ routes: { '/stall': { steps: [{ stallBody: true }] } } }),
  );
  const api = ky.create({ retry: 0 }).extend(timeoutPlugin({ bodyIdle: 80 }));
  const error = await rejection(api.get(`${upstream.url}/stall`).json());
  assert.ok(isBodyIdleTimeoutError(error), String(error));
});

test('a slow but steady body never trips bodyIdle, even when the whole body takes longer than bodyIdle', async (t) => {
  const upstream = closeAfter(
    t,
    await startUpstream({
      routes: { '/drip': { steps: [{ drip: { chunks: 20, intervalMs: 20, chunk: 'ab' } }] } },
    }),
  );
  const rec = recordingTimers();
  // bodyIdle far above the drip interval, but below the whole body's duration (20 × 20 ms).
  const api = ky
    .create({ retry: 0 })
    .extend(timeoutPlugin({ bodyIdle: 300, attempt: 20_000, timers: rec.timers }));
  const text = await api.get(`${upstream.url}/drip`).text();
  assert.equal(text, 'ab'.repeat(20));
  const idleTimers = rec.asked.filter((ms) => ms === 300).length;
  assert.ok(idleTimers >= 2, `one idle timer per read, saw ${idleTimers}`);
  assert.equal(rec.pending, 0);
});

test('attempt timeout: AttemptTimeoutError when headers are off and the head is late', async (t) => {
  const upstream = closeAfter(
    t,
    await startUpstream({ routes: { '/late': { steps: [{ delayHeadersMs: 5_000 }] } } }),
  );
  const rec = recordingTimers();
  const api = ky.create({ retry: 0 }).extend(timeoutPlugin({ attempt: 100, timers: rec.timers }));
  const error = await rejection(api.get(`${upstream.url}/late`));
  assert.ok(isAttemptTimeoutError(error), String(error));
  assert.equal(error.phase, 'attempt');
  assert.equal(error.limit, 100);
  assert.ok(!isTimeoutError(error), 'not ky’s TimeoutError');
  assert.deepEqual(rec.asked, [100]);
  assert.equal(rec.pending, 0);
});

test('the attempt tier also bounds the body read: a steady body longer than `attempt` fails', async (t) => {
  const upstream = closeAfter(
    t,
    await startUpstream({
      routes: { '/drip': { steps: [{ drip: { chunks: 50, intervalMs: 20 } }] } },
    }),
  );
  const rec = recordingTimers();
  const api = ky
    .create({ retry: 0 })
    .extend(timeoutPlugin({ attempt: 150, bodyIdle: false, timers: rec.timers }));
  const response = await api.get(`${upstream.url}/drip`);
  const error = await rejection(response.text());
  assert.ok(isAttemptTimeoutError(error), String(error));
  assert.equal(rec.pending, 0);
});

test('total timeout across retries: TotalTimeoutError (ky’s TimeoutError as its cause)', async (t) => {
  const upstream = closeAfter(t, await startUpstream({ routes: { '/down': { steps: [{ status: 503 }] } } }));
  const api = ky
    .create({ retry: { limit: 1_000, delay: () => 20, jitter: false } })
    .extend(timeoutPlugin({ total: 600, attempt: 500 }));
  const error = await rejection(api.get(`${upstream.url}/down`));
  assert.ok(isTotalTimeoutError(error), String(error));
  assert.equal(error.phase, 'total');
  assert.equal(error.limit, 600);
  assert.equal(error.host, `127.0.0.1:${upstream.port}`);
  assert.ok(isTimeoutError(error.cause), 'cause is ky’s TimeoutError');
  const requests = upstream.counters('/down').requests;
  assert.ok(requests >= 2, `retried before the total ran out (${requests} requests)`);
  assert.ok(error.attempt >= 2 && error.attempt <= requests + 1, `attempt ${error.attempt}`);
});

test('total timeout while the head is pending (attempt tier off) is a TotalTimeoutError', async (t) => {
  const hole = closeAfter(t, await blackholeServer());
  const rec = recordingTimers();
  const api = ky
    .create({ retry: 0 })
    .extend(timeoutPlugin({ total: 100, attempt: false, timers: rec.timers }));
  const error = await rejection(api.get(hole.url));
  assert.ok(isTotalTimeoutError(error), String(error));
  assert.equal(error.attempt, 1);
  assert.equal(hole.connections, 1);
  assert.equal(rec.pending, 0);
});

test('ky’s own `timeout` is replaced: a per-request `timeout` does not bring ky’s TimeoutError back', async (t) => {
  const upstream = closeAfter(
    t,
    await startUpstream({ routes: { '/late': { steps: [{ delayHeadersMs: 5_000 }] } } }),
  );
  const api = ky.create({ retry: 0 }).extend(timeoutPlugin({ attempt: 100, total: false }));
  const error = await rejection(api.get(`${upstream.url}/late`, { timeout: 20 }));
  assert.ok(isAttemptTimeoutError(error), String(error));
});

test('success: the response is intact and no timer is left', async (t) => {
  const upstream = closeAfter(
    t,
    await startUpstream({
      routes: { '/ok': { steps: [{ status: 201, headers: { 'x-a': '1' }, body: 'hello' }] } },
    }),
  );
  const rec = recordingTimers();
  const api = ky
    .create({ retry: 0 })
    .extend(timeoutPlugin({ headers: 5_000, bodyIdle: 7_000, timers: rec.timers }));
  const response = await api.get(`${upstream.url}/ok`);
  assert.equal(response.status, 201);
  assert.equal(response.headers.get('x-a'), '1');
  assert.equal(response.url, `${upstream.url}/ok`);
  assert.equal(
    rec.pending,
    1,
    'the headers timer is cleared at the head; the attempt timer runs until the body is read',
  );
  assert.equal(await response.text(), 'hello');
  assert.equal(rec.pending, 0);
  assert.deepEqual(rec.asked.slice(0, 2), [5_000, 10_000]);
  const idle = rec.asked.slice(2);
  assert.ok(idle.length >= 2 && idle.every((ms) => ms === 7_000), `one idle timer per read: ${idle}`);
});

test('a response without a body ends the attempt at the head', async (t) => {
  const upstream = closeAfter(t, await startUpstream({ routes: { '/none': { steps: [{ status: 204 }] } } }));
  const rec = recordingTimers();
  const api = ky.create({ retry: 0 }).extend(timeoutPlugin({ timers: rec.timers }));
  const response = await api.head(`${upstream.url}/none`);
  assert.equal(response.status, 204);
  assert.equal(rec.pending, 0);
});

test('cancelling the body ends the attempt and clears its timers', async (t) => {
  const upstream = closeAfter(
    t,
    await startUpstream({
      routes: { '/stall': { steps: [{ stallBody: true, bodyPrefix: 'x' }] } },
    }),
  );
  const rec = recordingTimers();
  const api = ky.create({ retry: 0 }).extend(timeoutPlugin({ timers: rec.timers }));
  const response = await api.get(`${upstream.url}/stall`);
  assert.equal(rec.pending, 1);
  await response.body?.cancel();
  assert.equal(rec.pending, 0);
});
