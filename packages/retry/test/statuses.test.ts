import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { startUpstream, type Upstream } from '@ky-resilience/testing';
import { isHTTPError } from 'ky';
import { getRetryDecision } from '../src/index.ts';
import { rejection, retrying } from './helpers.ts';

describe('status classification (GET, limit 2)', () => {
  let upstream: Upstream;
  before(async () => {
    upstream = await startUpstream();
  });
  after(async () => {
    await upstream.close();
  });

  for (const status of [500, 502, 503, 504, 408, 429]) {
    test(`${status} is retried up to the limit`, async () => {
      const path = `/retried-${status}`;
      upstream.route(path, { steps: [{ status }] });
      const { api, events } = retrying({ limit: 2 });
      const error = await rejection(api.get(`${upstream.url}${path}`));
      assert.ok(isHTTPError(error));
      assert.equal(error.response.status, status);
      assert.equal(upstream.counters(path).requests, 3);
      assert.deepEqual(
        events.retries.map((event) => [event.attempt, event.delay, event.reason, event.delaySource]),
        [
          [2, 1, `status ${status}`, 'backoff'],
          [3, 2, `status ${status}`, 'backoff'],
        ],
      );
      assert.equal(events.giveUps.length, 1);
      assert.equal(events.giveUps[0]?.attempts, 3);
      assert.equal(events.giveUps[0]?.error, error);
      assert.deepEqual(getRetryDecision(error), {
        retry: false,
        reason: 'limit-reached',
        failure: `status ${status}`,
        attempts: 3,
      });
    });
  }

  for (const status of [501, 505, 400, 404, 401, 409, 413]) {
    test(`${status} is not retried`, async () => {
      const path = `/not-retried-${status}`;
      upstream.route(path, { steps: [{ status }] });
      const { api, events } = retrying({ limit: 2 });
      const error = await rejection(api.get(`${upstream.url}${path}`));
      assert.ok(isHTTPError(error));
      assert.equal(upstream.counters(path).requests, 1);
      assert.equal(events.retries.length, 0);
      assert.equal(getRetryDecision(error)?.reason, 'status-not-retryable');
      assert.equal(events.giveUps[0]?.decision.reason, 'status-not-retryable');
    });
  }

  test('a 503 then a 200 succeeds on the second attempt', async () => {
    upstream.route('/recovers', { steps: [{ status: 503 }, { status: 502 }, {}] });
    const { api, events } = retrying({ limit: 2 });
    const body = await api.get(`${upstream.url}/recovers`).json<{ n: number }>();
    assert.equal(body.n, 2);
    assert.equal(events.retries.length, 2);
    assert.equal(events.giveUps.length, 0);
  });

  test('statusCodes narrows the retried set', async () => {
    upstream.route('/narrow', { steps: [{ status: 500 }] });
    const { api } = retrying({ statusCodes: [503] });
    const error = await rejection(api.get(`${upstream.url}/narrow`));
    assert.equal(getRetryDecision(error)?.reason, 'status-not-retryable');
    assert.equal(upstream.counters('/narrow').requests, 1);
  });

  test('limit 0 and ky `retry: 0` make one attempt; a per-request override raises the limit', async () => {
    upstream.route('/limit-0', { steps: [{ status: 503 }] });
    upstream.route('/ky-retry-0', { steps: [{ status: 503 }] });
    upstream.route('/limit-override', { steps: [{ status: 503 }] });
    const { api } = retrying({ limit: 0 });
    await rejection(api.get(`${upstream.url}/limit-0`));
    assert.equal(upstream.counters('/limit-0').requests, 1);

    const second = retrying({ limit: 3 });
    await rejection(second.api.get(`${upstream.url}/ky-retry-0`, { retry: 0 }));
    assert.equal(upstream.counters('/ky-retry-0').requests, 1);

    await rejection(
      api.get(`${upstream.url}/limit-override`, { context: { '@ky-resilience/retry': { limit: 1 } } }),
    );
    assert.equal(upstream.counters('/limit-override').requests, 2);
  });

  test('the backoff is the jitter strategy with the injected random', async () => {
    upstream.route('/jitter', { steps: [{ status: 503 }] });
    const { api, events } = retrying({
      limit: 3,
      backoff: { strategy: 'full', base: 10, factor: 2, cap: 1_000 },
      random: () => 0.5,
    });
    await rejection(api.get(`${upstream.url}/jitter`));
    assert.deepEqual(
      events.retries.map((event) => event.delay),
      [5, 10, 20],
    );
  });

  test('the attempt header numbers every attempt', async () => {
    upstream.route('/attempts', { steps: [{ status: 503 }, { status: 503 }, {}] });
    const { api } = retrying({ attemptHeader: 'X-Retry-Attempt' });
    await api.get(`${upstream.url}/attempts`).text();
    assert.deepEqual(
      upstream.counters('/attempts').headers.map((headers) => headers['x-retry-attempt']),
      ['1', '2', '3'],
    );
  });
});

test('an exception thrown by onRetry rejects the call with it and stops retrying', async () => {
  const upstream = await startUpstream({ routes: { '/listener': { steps: [{ status: 503 }, {}] } } });
  try {
    const boom = new Error('listener failed');
    const { api } = retrying({
      onRetry: () => {
        throw boom;
      },
    });
    assert.equal(await rejection(api.get(`${upstream.url}/listener`)), boom);
    assert.equal(upstream.counters('/listener').requests, 1);
  } finally {
    await upstream.close();
  }
});

describe("ky's retry option as hooks see it", () => {
  let upstream: Upstream;
  before(async () => {
    upstream = await startUpstream();
  });
  after(async () => {
    await upstream.close();
  });

  const seen = async (options: Parameters<typeof retrying>[0], method: 'get' | 'post' = 'get') => {
    const path = `/seen-${method}-${Math.random()}`;
    upstream.route(path, { steps: [{ status: 503 }, {}] });
    const retries: unknown[] = [];
    const { api } = retrying(options, {
      hooks: { beforeRetry: [({ options: callOptions }) => void retries.push(callOptions.retry)] },
    });
    await api(`${upstream.url}${path}`, {
      method,
      ...(method === 'post' ? { body: 'x', headers: { 'Idempotency-Key': 'k' } } : {}),
    }).text();
    assert.equal(retries.length, 1);
    return retries[0] as Record<string, unknown>;
  };

  test("the plugin's statuses and Retry-After cap where they differ from ky's defaults", async () => {
    const retry = await seen({ limit: 3 });
    assert.equal(retry.limit, 3);
    assert.deepEqual(retry.statusCodes, [408, 429, 500, 502, 503, 504]);
    assert.deepEqual(retry.afterStatusCodes, [429, 503]);
    assert.equal(retry.maxRetryAfter, 60_000);
    assert.ok((retry.methods as string[]).includes('get'));
  });

  test("ky's defaults where the plugin's statuses are the same; the method check opened for a POST", async () => {
    const retry = await seen(
      {
        statusCodes: [408, 413, 429, 500, 502, 503, 504],
        afterStatusCodes: [413, 429, 503],
      },
      'post',
    );
    assert.deepEqual(retry.statusCodes, [408, 413, 429, 500, 502, 503, 504]);
    assert.deepEqual(retry.afterStatusCodes, [413, 429, 503]);
    assert.equal(retry.maxRetryAfter, 60_000);
    assert.ok((retry.methods as string[]).includes('post'));
  });
});
