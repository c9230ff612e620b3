import assert from 'node:assert/strict';
import { test } from 'node:test';
import { startUpstream } from '@ky-resilience/testing';
import ky from 'ky';
import { retrying } from './helpers.ts';

test('a retry forced by an afterResponse hook is reported to onRetry, with the backoff delay ky slept', async (t) => {
  const upstream = await startUpstream({
    routes: { '/token': { steps: [{ status: 200 }, { body: 'ok' }] } },
  });
  t.after(() => upstream.close());
  const { api, events } = retrying({ backoff: { strategy: 'none', base: 7 } });
  const forcing = api.extend({
    hooks: { afterResponse: [({ retryCount }) => (retryCount === 0 ? ky.retry() : undefined)] },
  });
  assert.equal(await forcing.get(`${upstream.url}/token`).text(), 'ok');
  assert.deepEqual(
    events.retries.map(({ attempt, delay, reason, delaySource, error }) => ({
      attempt,
      delay,
      reason,
      delaySource,
      error: error.name,
    })),
    [{ attempt: 2, delay: 7, reason: 'forced', delaySource: 'backoff', error: 'ForceRetryError' }],
  );
  assert.equal(upstream.counters('/token').requests, 2);
});

test('a forced retry with the hook’s own delay and code reports them', async (t) => {
  const upstream = await startUpstream({
    routes: { '/token': { steps: [{ status: 200 }, { body: 'ok' }] } },
  });
  t.after(() => upstream.close());
  const { api, events } = retrying({ backoff: { strategy: 'none', base: 7 } });
  const forcing = api.extend({
    hooks: {
      afterResponse: [
        ({ retryCount }) => (retryCount === 0 ? ky.retry({ delay: 3, code: 'TOKEN_REFRESH' }) : undefined),
      ],
    },
  });
  assert.equal(await forcing.get(`${upstream.url}/token`).text(), 'ok');
  assert.deepEqual(
    events.retries.map(({ attempt, delay, reason, delaySource }) => ({
      attempt,
      delay,
      reason,
      delaySource,
    })),
    [{ attempt: 2, delay: 3, reason: 'forced: TOKEN_REFRESH', delaySource: 'hook' }],
  );
});

test('retries the plugin decides are reported once, before the delay, as before', async (t) => {
  const upstream = await startUpstream({
    routes: { '/flaky': { steps: [{ status: 503 }, { body: 'ok' }] } },
  });
  t.after(() => upstream.close());
  const { api, events } = retrying({ backoff: { strategy: 'none', base: 5 } });
  assert.equal(await api.get(`${upstream.url}/flaky`).text(), 'ok');
  assert.deepEqual(
    events.retries.map(({ attempt, delay, reason, delaySource }) => ({
      attempt,
      delay,
      reason,
      delaySource,
    })),
    [{ attempt: 2, delay: 5, reason: 'status 503', delaySource: 'backoff' }],
  );
});
