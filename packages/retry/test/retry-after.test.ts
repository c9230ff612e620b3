import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { startUpstream, type Upstream } from '@ky-resilience/testing';
import { isHTTPError } from 'ky';
import {
  getRetryDecision,
  isRetryAfterTooLongError,
  parseServerDelay,
  type RetryAfterTooLongError,
} from '../src/index.ts';
import { rejection, retrying } from './helpers.ts';

// A whole second, so that HTTP-dates made from it are exact.
const T = Date.UTC(2030, 0, 1, 12, 0, 0);

describe('Retry-After and rate-limit headers on 429 and 503', () => {
  let upstream: Upstream;
  before(async () => {
    upstream = await startUpstream({ now: () => T });
  });
  after(async () => {
    await upstream.close();
  });

  for (const status of [429, 503]) {
    test(`${status} with Retry-After in seconds waits that long (no jitter)`, async () => {
      const path = `/seconds-${status}`;
      upstream.route(path, { steps: [{ status, retryAfter: 1 }, {}] });
      const { api, events } = retrying({ backoff: { strategy: 'full', base: 5 } });
      await api.get(`${upstream.url}${path}`).text();
      assert.deepEqual(
        events.retries.map((event) => [event.delay, event.delaySource]),
        [[1_000, 'retry-after']],
      );
      assert.equal(upstream.counters(path).requests, 2);
    });

    test(`${status} with Retry-After as an HTTP-date waits until that date`, async () => {
      const path = `/date-${status}`;
      // The date is T + 2 s; the client's wall clock reads T + 1.993 s, so 7 ms remain.
      upstream.route(path, { steps: [{ status, retryAfterDate: 2_000 }, {}] });
      const { api, events } = retrying({ now: () => T + 1_993 });
      await api.get(`${upstream.url}${path}`).text();
      assert.deepEqual(
        events.retries.map((event) => [event.delay, event.delaySource]),
        [[7, 'retry-after']],
      );
    });

    test(`${status} with a past HTTP-date retries at once`, async () => {
      const path = `/past-${status}`;
      upstream.route(path, { steps: [{ status, retryAfterDate: -60_000 }, {}] });
      const { api, events } = retrying({ now: () => T });
      await api.get(`${upstream.url}${path}`).text();
      assert.deepEqual(
        events.retries.map((event) => [event.delay, event.delaySource]),
        [[0, 'retry-after']],
      );
    });

    test(`${status} with a garbage Retry-After falls back to the backoff`, async () => {
      const path = `/garbage-${status}`;
      upstream.route(path, { steps: [{ status, retryAfter: 'soon, maybe' }, {}] });
      const { api, events } = retrying({ backoff: { strategy: 'none', base: 3 } });
      await api.get(`${upstream.url}${path}`).text();
      assert.deepEqual(
        events.retries.map((event) => [event.delay, event.delaySource]),
        [[3, 'backoff']],
      );
    });

    test(`${status} with a huge Retry-After fails fast with RetryAfterTooLongError`, async () => {
      const path = `/huge-${status}`;
      upstream.route(path, { steps: [{ status, retryAfter: '999999999' }, {}] });
      const { api, events } = retrying();
      const error = await rejection(api.get(`${upstream.url}${path}`));
      assert.ok(isRetryAfterTooLongError(error));
      const typed = error as RetryAfterTooLongError;
      assert.equal(typed.requested, 999_999_999_000);
      assert.equal(typed.limit, 60_000);
      assert.equal(typed.limitName, 'maxRetryAfter');
      assert.equal(typed.host, new URL(upstream.url).host);
      assert.equal(typed.attempts, 1);
      assert.ok(isHTTPError(typed.cause));
      assert.equal(typed.cause.response.status, status);
      assert.equal(upstream.counters(path).requests, 1);
      assert.equal(events.retries.length, 0);
      assert.equal(getRetryDecision(error)?.reason, 'retry-after-too-long');
      assert.equal(events.giveUps[0]?.error, error);
    });

    test(`${status} with RateLimit-Reset (delta seconds) waits that long`, async () => {
      const path = `/ratelimit-reset-${status}`;
      upstream.route(path, { steps: [{ status, rateLimitReset: 0 }, {}] });
      const { api, events } = retrying({ backoff: { strategy: 'none', base: 3 } });
      await api.get(`${upstream.url}${path}`).text();
      assert.deepEqual(
        events.retries.map((event) => [event.delay, event.delaySource]),
        [[0, 'retry-after']],
      );
    });

    test(`${status} with X-RateLimit-Reset (epoch seconds) waits until then`, async () => {
      const path = `/x-ratelimit-reset-${status}`;
      upstream.route(path, { steps: [{ status, xRateLimitReset: T / 1000 + 1 }, {}] });
      const { api, events } = retrying({ now: () => T + 991 });
      await api.get(`${upstream.url}${path}`).text();
      assert.deepEqual(
        events.retries.map((event) => [event.delay, event.delaySource]),
        [[9, 'retry-after']],
      );
    });
  }

  test('a Retry-After over a lowered maxRetryAfter fails fast; under it is honoured', async () => {
    upstream.route('/cap', { steps: [{ status: 429, retryAfter: 2 }, {}] });
    const { api } = retrying({ maxRetryAfter: 1_000 });
    const error = await rejection(api.get(`${upstream.url}/cap`));
    assert.ok(isRetryAfterTooLongError(error));
    assert.equal((error as RetryAfterTooLongError).limit, 1_000);
    assert.equal(upstream.counters('/cap').requests, 1);
  });

  test('Retry-After on a status outside afterStatusCodes is ignored', async () => {
    upstream.route('/ignored', { steps: [{ status: 500, retryAfter: '999999999' }, {}] });
    const { api, events } = retrying({ backoff: { strategy: 'none', base: 4 } });
    await api.get(`${upstream.url}/ignored`).text();
    assert.deepEqual(
      events.retries.map((event) => [event.delay, event.delaySource]),
      [[4, 'backoff']],
    );
  });

  test('a server delay longer than what is left of the total timeout fails at once', async () => {
    upstream.route('/total', { steps: [{ status: 503, retryAfter: 5 }, {}] });
    const { api, events } = retrying({}, { totalTimeout: 3_000 });
    const error = await rejection(api.get(`${upstream.url}/total`));
    assert.ok(isRetryAfterTooLongError(error));
    const typed = error as RetryAfterTooLongError;
    assert.equal(typed.limitName, 'totalTimeout');
    assert.equal(typed.requested, 5_000);
    assert.ok(typed.limit <= 3_000 && typed.limit > 0);
    assert.equal(upstream.counters('/total').requests, 1);
    assert.equal(events.retries.length, 0);
  });

  test('a backoff delay longer than what is left of the total timeout gives up with the last error', async () => {
    upstream.route('/total-backoff', { steps: [{ status: 502 }, {}] });
    const { api } = retrying({ backoff: { strategy: 'none', base: 10_000 } }, { totalTimeout: 3_000 });
    const error = await rejection(api.get(`${upstream.url}/total-backoff`));
    assert.ok(isHTTPError(error));
    assert.equal(getRetryDecision(error)?.reason, 'total-timeout');
    assert.equal(upstream.counters('/total-backoff').requests, 1);
  });
});

describe('parseServerDelay', () => {
  const now = T;
  const parse = (headers: Record<string, string>): number | undefined =>
    parseServerDelay(new Headers(headers), now)?.delay;

  test('delta seconds, IMF-fixdate, RFC 850 and asctime dates', () => {
    assert.equal(parse({ 'retry-after': '120' }), 120_000);
    assert.equal(parse({ 'retry-after': ' 3 ' }), 3_000);
    assert.equal(parse({ 'retry-after': new Date(T + 5_000).toUTCString() }), 5_000);
    assert.equal(parse({ 'retry-after': 'Tuesday, 01-Jan-30 12:00:09 GMT' }), 9_000);
    assert.equal(parse({ 'retry-after': 'Tue Jan  1 12:00:04 2030' }), 4_000);
  });

  test('past dates give 0; garbage, negative numbers and impossible dates give undefined', () => {
    assert.equal(parse({ 'retry-after': new Date(T - 5_000).toUTCString() }), 0);
    assert.equal(parse({ 'retry-after': 'soon' }), undefined);
    assert.equal(parse({ 'retry-after': '-5' }), undefined);
    assert.equal(parse({ 'retry-after': '1.5' }), undefined);
    assert.equal(parse({ 'retry-after': 'Sat, 30 Feb 2030 12:00:00 GMT' }), undefined);
    assert.equal(parse({ 'retry-after': '2030-01-01T12:00:05Z' }), undefined);
  });

  test('Retry-After wins over the rate-limit headers; garbage there does not fall through', () => {
    assert.equal(parse({ 'retry-after': '1', 'ratelimit-reset': '9' }), 1_000);
    assert.equal(parse({ 'retry-after': 'x', 'ratelimit-reset': '9' }), undefined);
    assert.equal(parse({ 'ratelimit-reset': '9', 'x-ratelimit-reset': '1' }), 9_000);
    assert.equal(
      parseServerDelay(new Headers({ 'x-ratelimit-retry-after': '2' }), now)?.source,
      'x-ratelimit-retry-after',
    );
  });

  test('reset headers take epoch seconds; Retry-After never does', () => {
    assert.equal(parse({ 'x-ratelimit-reset': String(T / 1000 + 30) }), 30_000);
    assert.equal(parse({ 'x-rate-limit-reset': String(T / 1000 - 30) }), 0);
    assert.equal(parse({ 'ratelimit-reset': String(T / 1000 + 2) }), 2_000);
    assert.equal(parse({ 'retry-after': String(T / 1000) }), T);
  });

  test('no header gives undefined', () => {
    assert.equal(parseServerDelay(new Headers(), now), undefined);
  });
});
