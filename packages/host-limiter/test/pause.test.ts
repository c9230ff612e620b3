import assert from 'node:assert/strict';
import { test } from 'node:test';
import { startUpstream } from '@ky-resilience/testing';
import ky, { type KyInstance } from 'ky';
import {
  createHostLimiter,
  type HostLimiter,
  isHostLimiterOptionsError,
  isQueueTimeoutError,
  type QueueTimeoutError,
} from '../src/index.ts';
import { closeAfter, manualTime, rejection, until } from './helpers.ts';

const key = '@ky-resilience/host-limiter';

/** For each path, one call through a fresh limiter (manual clock): the host's pause ends `expected` ms later. */
async function assertPauses(
  upstream: { url: string; origin: string },
  cases: readonly (readonly [path: string, expected: number])[],
): Promise<void> {
  for (const [path, expected] of cases) {
    const time = manualTime();
    const limiter = createHostLimiter({ clock: time.clock, timers: time.timers });
    const api = ky.create({ retry: 0, throwHttpErrors: false }).extend(limiter.kyOptions);
    await (await api.get(`${upstream.url}${path}`)).text();
    assert.equal(limiter.stats(upstream.origin)?.pausedUntil, time.clock() + expected, path);
  }
}

/** One call per path through `api` (extended with `limiter`): none of them pauses the host. */
async function assertNoPause(
  api: KyInstance,
  limiter: HostLimiter,
  upstream: { url: string; origin: string },
  paths: readonly string[],
): Promise<void> {
  for (const path of paths) {
    await (await api.get(`${upstream.url}${path}`)).text();
    assert.equal(limiter.stats(upstream.origin)?.pausedUntil, undefined, path);
  }
}

test('a 429 with Retry-After pauses the host: the fleet’s calls wait in the queue until then', async (t) => {
  const upstream = closeAfter(
    t,
    await startUpstream({
      routes: { '/limited': { steps: [{ status: 429, retryAfter: 2 }, { status: 200 }] } },
    }),
  );
  const time = manualTime();
  const limiter = createHostLimiter({
    concurrency: 4,
    queueTimeout: false,
    clock: time.clock,
    timers: time.timers,
  });
  const api = ky.create({ retry: 0, throwHttpErrors: false }).extend(limiter.kyOptions);
  const first = await api.get(`${upstream.url}/limited`);
  assert.equal(first.status, 429);
  await first.body?.cancel();
  const start = time.clock();
  assert.equal(limiter.stats(upstream.origin)?.pausedUntil, start + 2_000);

  const fleet = Array.from({ length: 5 }, (_, i) => api.get(`${upstream.url}/limited?i=${i}`).text());
  await until(() => limiter.stats(upstream.origin)?.queued === 5);
  assert.deepEqual(time.asked, [2_000], 'one wake-up timer for the end of the pause');
  time.advance(1_999);
  assert.equal(limiter.stats(upstream.origin)?.queued, 5);
  assert.equal(upstream.counters('/limited').requests, 1, 'nothing sent during the pause');
  time.advance(1);
  await Promise.all(fleet);
  assert.equal(upstream.counters('/limited').requests, 6);
  assert.equal(upstream.counters('/limited').peakInFlight <= 4, true);
  assert.equal(limiter.stats(upstream.origin)?.pausedUntil, undefined);
  assert.equal(time.pending, 0);
});

test('a 503 with an HTTP-date pauses until that date; the cap is maxPause', async (t) => {
  const upstream = closeAfter(
    t,
    await startUpstream({
      routes: {
        '/date': { steps: [{ status: 503, retryAfter: 'Thu, 01 Jan 2099 00:00:00 GMT' }] },
        '/soon': { steps: [{ status: 503, retryAfter: 'Thu, 01 Jan 2026 00:00:05 GMT' }] },
      },
    }),
  );
  const time = manualTime(Date.parse('Thu, 01 Jan 2026 00:00:00 GMT'));
  const limiter = createHostLimiter({ maxPause: 30_000, clock: time.clock, timers: time.timers });
  const api = ky.create({ retry: 0, throwHttpErrors: false }).extend(limiter.kyOptions);
  await (await api.get(`${upstream.url}/soon`)).text();
  assert.equal(limiter.stats(upstream.origin)?.pausedUntil, time.clock() + 5_000);
  time.advance(5_000);
  await (await api.get(`${upstream.url}/date`)).text();
  assert.equal(limiter.stats(upstream.origin)?.pausedUntil, time.clock() + 30_000, 'capped by maxPause');
});

test('huge, garbage, zero and past Retry-After values do not pause, or pause at most maxPause', async (t) => {
  const upstream = closeAfter(
    t,
    await startUpstream({
      routes: {
        '/garbage': { steps: [{ status: 429, retryAfter: 'soon-ish' }] },
        '/zero': { steps: [{ status: 429, retryAfter: 0 }] },
        '/past': { steps: [{ status: 429, retryAfterDate: -60_000 }] },
        '/none': { steps: [{ status: 429 }] },
        '/huge': { steps: [{ status: 429, retryAfter: '99999999999999999999999' }] },
      },
    }),
  );
  const time = manualTime(Date.now());
  const limiter = createHostLimiter({ clock: time.clock, timers: time.timers });
  const api = ky.create({ retry: 0, throwHttpErrors: false }).extend(limiter.kyOptions);
  for (const path of ['/garbage', '/zero', '/past', '/none']) {
    await (await api.get(`${upstream.url}${path}`)).text();
    assert.equal(limiter.stats(upstream.origin)?.pausedUntil, undefined, path);
  }
  await (await api.get(`${upstream.url}/huge`)).text();
  assert.equal(limiter.stats(upstream.origin)?.pausedUntil, time.clock() + 60_000, 'default maxPause 60 s');
});

test('the queue timeout still applies during a pause, and says the host is paused', async (t) => {
  const upstream = closeAfter(
    t,
    await startUpstream({ routes: { '/limited': { steps: [{ status: 429, retryAfter: 30 }] } } }),
  );
  const time = manualTime();
  const limiter = createHostLimiter({ queueTimeout: 1_000, clock: time.clock, timers: time.timers });
  const api = ky.create({ retry: 0, throwHttpErrors: false }).extend(limiter.kyOptions);
  await (await api.get(`${upstream.url}/limited`)).text();
  const waiting = rejection(api.get(`${upstream.url}/limited`));
  await until(() => limiter.stats(upstream.origin)?.queued === 1);
  time.advance(1_000);
  const error = (await waiting) as QueueTimeoutError;
  assert.ok(isQueueTimeoutError(error));
  assert.equal(error.pausedUntil, limiter.stats(upstream.origin)?.pausedUntil);
  assert.match(error.message, /paused/);
  assert.equal(upstream.counters('/limited').requests, 1);
  assert.equal(time.pending, 0, 'the wake-up timer is cleared once nobody waits');
});

test('other hosts are not paused', async (t) => {
  const limited = closeAfter(
    t,
    await startUpstream({ routes: { '*': { steps: [{ status: 429, retryAfter: 60 }] } } }),
  );
  const healthy = closeAfter(t, await startUpstream());
  const time = manualTime();
  const limiter = createHostLimiter({ clock: time.clock, timers: time.timers });
  const api = ky.create({ retry: 0, throwHttpErrors: false }).extend(limiter.kyOptions);
  await (await api.get(limited.url)).text();
  assert.notEqual(limiter.stats(limited.origin)?.pausedUntil, undefined);
  assert.match(await api.get(healthy.url).text(), /"ok":true/);
  assert.equal(limiter.stats(healthy.origin)?.pausedUntil, undefined);
});

test('maxPause false and pauseStatuses control the pause', async (t) => {
  const upstream = closeAfter(
    t,
    await startUpstream({
      routes: {
        '/429': { steps: [{ status: 429, retryAfter: 5 }] },
        '/503': { steps: [{ status: 503, retryAfter: 5 }] },
      },
    }),
  );
  const time = manualTime();
  const off = createHostLimiter({ maxPause: false, clock: time.clock, timers: time.timers });
  const only429 = createHostLimiter({ pauseStatuses: [429], clock: time.clock, timers: time.timers });
  for (const limiter of [off, only429]) {
    const api = ky.create({ retry: 0, throwHttpErrors: false }).extend(limiter.kyOptions);
    await (await api.get(`${upstream.url}/503`)).text();
    assert.equal(limiter.stats(upstream.origin)?.pausedUntil, undefined);
  }
  const api = ky.create({ retry: 0, throwHttpErrors: false }).extend(only429.kyOptions);
  await (await api.get(`${upstream.url}/429`)).text();
  assert.equal(only429.stats(upstream.origin)?.pausedUntil, time.clock() + 5_000);
});

test('a per-request key shares the pause of that key', async (t) => {
  const upstream = closeAfter(
    t,
    await startUpstream({ routes: { '/t': { steps: [{ status: 429, retryAfter: 3 }, { status: 200 }] } } }),
  );
  const time = manualTime();
  const limiter = createHostLimiter({ clock: time.clock, timers: time.timers, queueTimeout: false });
  const api = ky.create({ retry: 0, throwHttpErrors: false }).extend(limiter.kyOptions);
  await (await api.get(`${upstream.url}/t`, { context: { [key]: { key: 'tenant-a' } } })).text();
  assert.equal(limiter.stats('tenant-a')?.pausedUntil, time.clock() + 3_000);
  assert.equal(limiter.stats(upstream.origin), undefined);
  const later = api.get(`${upstream.url}/t`, { context: { [key]: { key: 'tenant-a' } } }).text();
  await until(() => limiter.stats('tenant-a')?.queued === 1);
  time.advance(3_000);
  assert.match(await later, /"ok":true/);
});

test('ky retry after a 429 with Retry-After goes through the pause and then succeeds', async (t) => {
  const upstream = closeAfter(
    t,
    await startUpstream({ routes: { '/r': { steps: [{ status: 429, retryAfter: 1 }, { status: 200 }] } } }),
  );
  const time = manualTime();
  const limiter = createHostLimiter({ clock: time.clock, timers: time.timers, queueTimeout: false });
  // ky sleeps Retry-After itself on its own timers; the limiter's clock is manual, so the retry
  // finds the host still paused and waits in the queue until the pause timer is fired.
  const api = ky.create({ retry: { limit: 1 } }).extend(limiter.kyOptions);
  const call = api.get(`${upstream.url}/r`).json<{ n: number }>();
  await until(() => limiter.stats(upstream.origin)?.queued === 1);
  assert.equal(upstream.counters('/r').requests, 1);
  time.advance(1_000);
  assert.equal((await call).n, 1);
});

test('a 429 with RateLimit-Reset (delta seconds) pauses the host until the reset', async (t) => {
  const upstream = closeAfter(
    t,
    await startUpstream({
      routes: { '/limited': { steps: [{ status: 429, rateLimitReset: 5 }, { status: 200 }] } },
    }),
  );
  const time = manualTime();
  const limiter = createHostLimiter({ queueTimeout: false, clock: time.clock, timers: time.timers });
  const api = ky.create({ retry: 0, throwHttpErrors: false }).extend(limiter.kyOptions);
  await (await api.get(`${upstream.url}/limited`)).text();
  assert.equal(limiter.stats(upstream.origin)?.pausedUntil, time.clock() + 5_000);
  const later = api.get(`${upstream.url}/limited`).text();
  await until(() => limiter.stats(upstream.origin)?.queued === 1);
  time.advance(4_999);
  assert.equal(limiter.stats(upstream.origin)?.queued, 1);
  assert.equal(upstream.counters('/limited').requests, 1, 'nothing sent during the pause');
  time.advance(1);
  assert.match(await later, /"ok":true/);
  assert.equal(upstream.counters('/limited').requests, 2);
});

test('X-RateLimit-Reset is delta seconds when small and epoch seconds from 2024-01-01 on', async (t) => {
  const start = Date.parse('Thu, 01 Jan 2026 00:00:00 GMT');
  const upstream = closeAfter(
    t,
    await startUpstream({
      routes: {
        '/delta': { steps: [{ status: 503, xRateLimitReset: 7 }] },
        '/epoch': { steps: [{ status: 429, xRateLimitReset: start / 1000 + 12 }] },
        '/past-epoch': { steps: [{ status: 429, xRateLimitReset: start / 1000 - 60 }] },
      },
    }),
  );
  for (const [path, expected] of [
    ['/delta', 7_000],
    ['/epoch', 12_000],
    ['/past-epoch', undefined],
  ] as const) {
    const time = manualTime(start);
    const limiter = createHostLimiter({ clock: time.clock, timers: time.timers });
    const api = ky.create({ retry: 0, throwHttpErrors: false }).extend(limiter.kyOptions);
    await (await api.get(`${upstream.url}${path}`)).text();
    assert.equal(
      limiter.stats(upstream.origin)?.pausedUntil,
      expected === undefined ? undefined : start + expected,
      path,
    );
  }
});

test('a 429 with RateLimit-Remaining: 0 and RateLimit-Reset pauses; Retry-After wins over a reset header', async (t) => {
  const upstream = closeAfter(
    t,
    await startUpstream({
      routes: {
        '/exhausted': {
          steps: [{ status: 429, rateLimitReset: 9, headers: { 'ratelimit-remaining': '0' } }],
        },
        '/both': { steps: [{ status: 429, retryAfter: 2, rateLimitReset: 30, xRateLimitReset: 40 }] },
        '/both-x': { steps: [{ status: 503, retryAfter: 3, xRateLimitReset: 40 }] },
        '/reset-first': { steps: [{ status: 429, rateLimitReset: 4, xRateLimitReset: 40 }] },
      },
    }),
  );
  await assertPauses(upstream, [
    ['/exhausted', 9_000],
    ['/both', 2_000],
    ['/both-x', 3_000],
    ['/reset-first', 4_000],
  ]);
});

test('reset headers pause only on pause statuses, are capped by maxPause, and garbage or zero does not pause', async (t) => {
  const upstream = closeAfter(
    t,
    await startUpstream({
      routes: {
        '/ok-exhausted': {
          steps: [{ status: 200, rateLimitReset: 30, headers: { 'ratelimit-remaining': '0' } }],
        },
        '/500': { steps: [{ status: 500, rateLimitReset: 30, xRateLimitReset: 30 }] },
        '/zero': { steps: [{ status: 429, rateLimitReset: 0 }] },
        '/garbage': { steps: [{ status: 429, headers: { 'ratelimit-reset': 'later' } }] },
        // The first reset header present decides, as in @ky-resilience/retry: a garbage one is not skipped.
        '/garbage-first': {
          steps: [{ status: 429, headers: { 'ratelimit-reset': 'later' }, xRateLimitReset: 5 }],
        },
        '/retry-after-garbage': { steps: [{ status: 429, retryAfter: 'soon', rateLimitReset: 5 }] },
        '/long': { steps: [{ status: 429, rateLimitReset: 3_600 }] },
      },
    }),
  );
  const time = manualTime(Date.parse('Thu, 01 Jan 2026 00:00:00 GMT'));
  const limiter = createHostLimiter({ clock: time.clock, timers: time.timers });
  const api = ky.create({ retry: 0, throwHttpErrors: false }).extend(limiter.kyOptions);
  await assertNoPause(api, limiter, upstream, [
    '/ok-exhausted',
    '/500',
    '/zero',
    '/garbage',
    '/garbage-first',
    '/retry-after-garbage',
  ]);
  await (await api.get(`${upstream.url}/long`)).text();
  assert.equal(limiter.stats(upstream.origin)?.pausedUntil, time.clock() + 60_000, 'default maxPause');

  const capped = createHostLimiter({ maxPause: 10_000, clock: time.clock, timers: time.timers });
  const off = createHostLimiter({ maxPause: false, clock: time.clock, timers: time.timers });
  for (const [limiter, expected] of [
    [capped, time.clock() + 10_000],
    [off, undefined],
  ] as const) {
    const client = ky.create({ retry: 0, throwHttpErrors: false }).extend(limiter.kyOptions);
    await (await client.get(`${upstream.url}/long`)).text();
    assert.equal(limiter.stats(upstream.origin)?.pausedUntil, expected);
  }
});

test('a 429 with X-RateLimit-Retry-After pauses the host until then; its value is never epoch seconds', async (t) => {
  const start = Date.parse('Thu, 01 Jan 2026 00:00:00 GMT');
  const upstream = closeAfter(
    t,
    await startUpstream({
      routes: {
        '/limited': {
          steps: [{ status: 429, headers: { 'x-ratelimit-retry-after': '6' } }, { status: 200 }],
        },
        // As a reset header this would be 12 s from now; as the delta seconds it is, it is capped.
        '/epoch-sized': {
          steps: [{ status: 503, headers: { 'x-ratelimit-retry-after': String(start / 1000 + 12) } }],
        },
      },
    }),
  );
  const time = manualTime(start);
  const limiter = createHostLimiter({ queueTimeout: false, clock: time.clock, timers: time.timers });
  const api = ky.create({ retry: 0, throwHttpErrors: false }).extend(limiter.kyOptions);
  await (await api.get(`${upstream.url}/limited`)).text();
  assert.equal(limiter.stats(upstream.origin)?.pausedUntil, start + 6_000);
  const later = api.get(`${upstream.url}/limited`).text();
  await until(() => limiter.stats(upstream.origin)?.queued === 1);
  time.advance(5_999);
  assert.equal(limiter.stats(upstream.origin)?.queued, 1);
  assert.equal(upstream.counters('/limited').requests, 1, 'nothing sent during the pause');
  time.advance(1);
  assert.match(await later, /"ok":true/);
  assert.equal(upstream.counters('/limited').requests, 2);

  await (await api.get(`${upstream.url}/epoch-sized`)).text();
  assert.equal(
    limiter.stats(upstream.origin)?.pausedUntil,
    time.clock() + 60_000,
    'delta seconds, capped by maxPause',
  );
});

test('X-Rate-Limit-Reset pauses the host: delta seconds when small, epoch seconds from 2024-01-01 on', async (t) => {
  const start = Date.parse('Thu, 01 Jan 2026 00:00:00 GMT');
  const upstream = closeAfter(
    t,
    await startUpstream({
      routes: {
        '/delta': { steps: [{ status: 429, headers: { 'x-rate-limit-reset': '7' } }] },
        '/queued': { steps: [{ status: 429, headers: { 'x-rate-limit-reset': '7' } }, { status: 200 }] },
        '/epoch': { steps: [{ status: 503, headers: { 'x-rate-limit-reset': String(start / 1000 + 12) } }] },
        '/past-epoch': {
          steps: [{ status: 429, headers: { 'x-rate-limit-reset': String(start / 1000 - 60) } }],
        },
        '/long': { steps: [{ status: 429, headers: { 'x-rate-limit-reset': '3600' } }] },
      },
    }),
  );
  for (const [path, expected] of [
    ['/delta', 7_000],
    ['/epoch', 12_000],
    ['/past-epoch', undefined],
    ['/long', 60_000],
  ] as const) {
    const time = manualTime(start);
    const limiter = createHostLimiter({ clock: time.clock, timers: time.timers });
    const api = ky.create({ retry: 0, throwHttpErrors: false }).extend(limiter.kyOptions);
    await (await api.get(`${upstream.url}${path}`)).text();
    assert.equal(
      limiter.stats(upstream.origin)?.pausedUntil,
      expected === undefined ? undefined : start + expected,
      path,
    );
  }

  const time = manualTime(start);
  const limiter = createHostLimiter({ queueTimeout: false, clock: time.clock, timers: time.timers });
  const api = ky.create({ retry: 0, throwHttpErrors: false }).extend(limiter.kyOptions);
  await (await api.get(`${upstream.url}/queued`)).text();
  const later = api.get(`${upstream.url}/queued`).text();
  await until(() => limiter.stats(upstream.origin)?.queued === 1);
  time.advance(6_999);
  assert.equal(upstream.counters('/queued').requests, 1, 'nothing sent during the pause');
  time.advance(1);
  assert.match(await later, /"ok":true/);
});

test('Retry-After wins over X-RateLimit-Retry-After and X-Rate-Limit-Reset; otherwise the order of the retry plugin', async (t) => {
  const upstream = closeAfter(
    t,
    await startUpstream({
      routes: {
        '/retry-after-first': {
          steps: [{ status: 429, retryAfter: 2, headers: { 'x-ratelimit-retry-after': '30' } }],
        },
        '/retry-after-over-dashed': {
          steps: [{ status: 503, retryAfter: 3, headers: { 'x-rate-limit-reset': '40' } }],
        },
        '/retry-after-over-all': {
          steps: [
            {
              status: 429,
              retryAfter: 1,
              rateLimitReset: 20,
              xRateLimitReset: 40,
              headers: { 'x-ratelimit-retry-after': '30', 'x-rate-limit-reset': '50' },
            },
          ],
        },
        '/ratelimit-reset-over-x-retry-after': {
          steps: [{ status: 429, rateLimitReset: 4, headers: { 'x-ratelimit-retry-after': '30' } }],
        },
        '/x-retry-after-over-x-reset': {
          steps: [{ status: 429, xRateLimitReset: 40, headers: { 'x-ratelimit-retry-after': '5' } }],
        },
        '/x-reset-over-dashed': {
          steps: [{ status: 429, xRateLimitReset: 6, headers: { 'x-rate-limit-reset': '50' } }],
        },
      },
    }),
  );
  await assertPauses(upstream, [
    ['/retry-after-first', 2_000],
    ['/retry-after-over-dashed', 3_000],
    ['/retry-after-over-all', 1_000],
    ['/ratelimit-reset-over-x-retry-after', 4_000],
    ['/x-retry-after-over-x-reset', 5_000],
    ['/x-reset-over-dashed', 6_000],
  ]);
});

test('an invalid X-RateLimit-Retry-After or X-Rate-Limit-Reset is ignored and does not pause', async (t) => {
  const upstream = closeAfter(
    t,
    await startUpstream({
      routes: {
        '/garbage-retry-after': { steps: [{ status: 429, headers: { 'x-ratelimit-retry-after': 'later' } }] },
        '/garbage-dashed': { steps: [{ status: 503, headers: { 'x-rate-limit-reset': '-5' } }] },
        '/fraction-dashed': { steps: [{ status: 429, headers: { 'x-rate-limit-reset': '1.5' } }] },
        '/zero-retry-after': { steps: [{ status: 429, headers: { 'x-ratelimit-retry-after': '0' } }] },
        // The first header present decides, as in @ky-resilience/retry: a garbage one is not skipped.
        '/garbage-before-reset': {
          steps: [{ status: 429, xRateLimitReset: 5, headers: { 'x-ratelimit-retry-after': 'later' } }],
        },
        '/retry-after-garbage': {
          steps: [{ status: 429, retryAfter: 'soon', headers: { 'x-rate-limit-reset': '5' } }],
        },
        // Only pause statuses pause.
        '/500': {
          steps: [{ status: 500, headers: { 'x-ratelimit-retry-after': '5', 'x-rate-limit-reset': '5' } }],
        },
        '/valid': { steps: [{ status: 429, headers: { 'x-rate-limit-reset': '8' } }] },
      },
    }),
  );
  const time = manualTime(Date.parse('Thu, 01 Jan 2026 00:00:00 GMT'));
  const limiter = createHostLimiter({ clock: time.clock, timers: time.timers });
  const api = ky.create({ retry: 0, throwHttpErrors: false }).extend(limiter.kyOptions);
  await assertNoPause(api, limiter, upstream, [
    '/garbage-retry-after',
    '/garbage-dashed',
    '/fraction-dashed',
    '/zero-retry-after',
    '/garbage-before-reset',
    '/retry-after-garbage',
    '/500',
  ]);
  await (await api.get(`${upstream.url}/valid`)).text();
  assert.equal(
    limiter.stats(upstream.origin)?.pausedUntil,
    time.clock() + 8_000,
    'a valid value on the same host pauses',
  );
});

test('pauseOnExhausted: a 200 with RateLimit-Remaining: 0 pauses the host until the reset; the queue waits', async (t) => {
  const upstream = closeAfter(
    t,
    await startUpstream({
      routes: {
        '/last': { steps: [{ status: 200, rateLimitReset: 7, headers: { 'ratelimit-remaining': '0' } }, {}] },
      },
    }),
  );
  const time = manualTime();
  const limiter = createHostLimiter({ pauseOnExhausted: true, clock: time.clock, timers: time.timers });
  const api = ky.create({ retry: 0 }).extend(limiter.kyOptions);
  assert.equal((await api.get(`${upstream.url}/last`)).status, 200, 'the response itself is delivered');
  assert.equal(limiter.stats(upstream.origin)?.pausedUntil, time.clock() + 7_000);

  const next = api.get(`${upstream.url}/last`).text();
  await until(() => limiter.stats(upstream.origin)?.queued === 1);
  time.advance(6_999);
  assert.equal(upstream.counters('/last').requests, 1, 'nothing is sent before the reset');
  time.advance(1);
  await next;
  assert.equal(upstream.counters('/last').requests, 2);
});

test('pauseOnExhausted reads X-RateLimit-Remaining and the same reset headers, capped by maxPause; a remaining quota, or no reset, does not pause', async (t) => {
  const upstream = closeAfter(
    t,
    await startUpstream({
      routes: {
        '/x-exhausted': {
          steps: [{ status: 200, headers: { 'x-ratelimit-remaining': '0', 'x-ratelimit-reset': '9' } }],
        },
        '/epoch': {
          steps: [
            { status: 204, headers: { 'ratelimit-remaining': ' 0 ', 'x-rate-limit-reset': '1767225612' } },
          ],
        },
        '/long': { steps: [{ status: 200, rateLimitReset: 3_600, headers: { 'ratelimit-remaining': '0' } }] },
        '/left': { steps: [{ status: 200, rateLimitReset: 30, headers: { 'ratelimit-remaining': '1' } }] },
        '/no-reset': { steps: [{ status: 200, headers: { 'ratelimit-remaining': '0' } }] },
        '/garbage': {
          steps: [{ status: 200, rateLimitReset: 30, headers: { 'ratelimit-remaining': 'none' } }],
        },
      },
    }),
  );
  for (const [path, expected] of [
    ['/x-exhausted', 9_000],
    ['/epoch', 12_000],
    ['/long', 60_000],
    ['/left', undefined],
    ['/no-reset', undefined],
    ['/garbage', undefined],
  ] as const) {
    const time = manualTime(Date.parse('Thu, 01 Jan 2026 00:00:00 GMT'));
    const limiter = createHostLimiter({ pauseOnExhausted: true, clock: time.clock, timers: time.timers });
    const api = ky.create({ retry: 0 }).extend(limiter.kyOptions);
    await (await api.get(`${upstream.url}${path}`)).text();
    const pausedUntil = limiter.stats(upstream.origin)?.pausedUntil;
    assert.equal(pausedUntil, expected === undefined ? undefined : time.clock() + expected, path);
  }
});

test('without pauseOnExhausted (the default) an exhausted quota on a 200 does not pause; a bad value is refused', async (t) => {
  const upstream = closeAfter(
    t,
    await startUpstream({
      routes: {
        '/last': { steps: [{ status: 200, rateLimitReset: 7, headers: { 'ratelimit-remaining': '0' } }] },
      },
    }),
  );
  const time = manualTime();
  const limiter = createHostLimiter({ clock: time.clock, timers: time.timers });
  const api = ky.create({ retry: 0 }).extend(limiter.kyOptions);
  await (await api.get(`${upstream.url}/last`)).text();
  assert.equal(limiter.stats(upstream.origin)?.pausedUntil, undefined);
  const off = createHostLimiter({
    pauseOnExhausted: true,
    maxPause: false,
    clock: time.clock,
    timers: time.timers,
  });
  const offApi = ky.create({ retry: 0 }).extend(off.kyOptions);
  await (await offApi.get(`${upstream.url}/last`)).text();
  assert.equal(off.stats(upstream.origin)?.pausedUntil, undefined, 'maxPause false turns every pause off');
  assert.throws(
    () => createHostLimiter({ pauseOnExhausted: 'yes' as never }),
    (error: unknown) =>
      isHostLimiterOptionsError(error) && error.option === 'pauseOnExhausted' && error.value === 'yes',
  );
});
