import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { startUpstream, type Upstream } from '@ky-resilience/testing';
import {
  isAttemptTimeoutError,
  isBodyIdleTimeoutError,
  isHeadersTimeoutError,
  timeoutPlugin,
} from '@ky-resilience/timeout';
import ky from 'ky';
import { type RetryEvent, retryPlugin } from '../src/index.ts';
import { rejection } from './helpers.ts';

function recTimers() {
  const pending = new Set<NodeJS.Timeout>();
  return {
    pending,
    timers: {
      setTimeout(cb: () => void, ms: number) {
        const h = setTimeout(() => {
          pending.delete(h);
          cb();
        }, ms);
        pending.add(h);
        return h;
      },
      clearTimeout(h: unknown) {
        pending.delete(h as NodeJS.Timeout);
        clearTimeout(h as NodeJS.Timeout);
      },
    },
  };
}

// A POST under the headers, attempt and body-idle tiers; FormData and URLSearchParams bodies sent
// again on a retry.
describe('POST timeouts and resent form bodies', () => {
  let upstream: Upstream;
  before(async () => {
    upstream = await startUpstream();
  });
  after(async () => {
    await upstream.close();
  });

  const stack = (limits: Parameters<typeof timeoutPlugin>[0]) => {
    const rec = recTimers();
    const retries: RetryEvent[] = [];
    const api = ky.extend(timeoutPlugin({ ...limits, timers: rec.timers })).extend(
      retryPlugin({
        backoff: { strategy: 'none', base: 1 },
        budget: false,
        onRetry: (e) => retries.push(e),
      }),
    );
    return { api, rec, retries };
  };

  test('POST: headers timeout, attempt timeout and bodyIdle are not retried; timers cleared', async () => {
    upstream.route('/p-h', { steps: [{ delayHeadersMs: 600_000 }, {}] });
    upstream.route('/p-a', { steps: [{ delayHeadersMs: 600_000 }, {}] });
    upstream.route('/p-b', { steps: [{ stallBody: true, bodyPrefix: '[' }, {}] });
    const s = stack({ headers: 60, attempt: 5_000, bodyIdle: 60 });
    assert.ok(isHeadersTimeoutError(await rejection(s.api.post(`${upstream.url}/p-h`, { body: 'a' }))));
    const s2 = stack({ attempt: 60, bodyIdle: 5_000 });
    assert.ok(isAttemptTimeoutError(await rejection(s2.api.post(`${upstream.url}/p-a`, { body: 'b' }))));
    const e3 = await rejection(s.api.post(`${upstream.url}/p-b`, { body: 'c' }));
    assert.ok(isBodyIdleTimeoutError(e3), String(e3));
    assert.equal(upstream.counters('/p-h').requests, 1);
    assert.equal(upstream.counters('/p-a').requests, 1);
    assert.equal(upstream.counters('/p-b').requests, 1);
    assert.equal(s.rec.pending.size, 0);
    assert.equal(s2.rec.pending.size, 0);
  });

  test('GET 503, 503, 200 through both plugins: no timer left; FormData / URLSearchParams PUT bodies resent', async () => {
    upstream.route('/g', { steps: [{ status: 503 }, { status: 503 }, { body: 'ok' }] });
    const s = stack({ headers: 5_000, attempt: 5_000, bodyIdle: 5_000 });
    assert.equal(await s.api.get(`${upstream.url}/g`).text(), 'ok');
    assert.equal(s.rec.pending.size, 0);
    upstream.route('/fd', { steps: [{ status: 503 }, {}] });
    const form = new FormData();
    form.set('a', '1');
    await s.api.put(`${upstream.url}/fd`, { body: form }).text();
    const bodies = upstream.counters('/fd').bodies;
    assert.equal(bodies.length, 2);
    assert.match(bodies[1] ?? '', /name="a"/);
    upstream.route('/usp', { steps: [{ status: 503 }, {}] });
    await s.api.put(`${upstream.url}/usp`, { body: new URLSearchParams({ q: 'x y' }) }).text();
    assert.deepEqual(upstream.counters('/usp').bodies, ['q=x+y', 'q=x+y']);
    assert.equal(s.rec.pending.size, 0);
  });
});
