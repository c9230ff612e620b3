import assert from 'node:assert/strict';
import { test } from 'node:test';
import { startUpstream } from '@ky-resilience/testing';
import ky from 'ky';
import { getRetryDecision } from '../src/index.ts';
import { rejection, retrying } from './helpers.ts';

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

test('a forced retry that meets the limit is limit-reached, its failure the hook’s code', async (t) => {
  const upstream = await startUpstream({ routes: { '/again': { steps: [{ status: 200 }] } } });
  t.after(() => upstream.close());
  const { api, events } = retrying({ limit: 1 });
  const forcing = api.extend({ hooks: { afterResponse: [() => ky.retry({ code: 'AGAIN' })] } });
  const error = await rejection(forcing.get(`${upstream.url}/again`));
  assert.deepEqual(getRetryDecision(error), {
    retry: false,
    reason: 'limit-reached',
    failure: 'forced: AGAIN',
    attempts: 2,
  });
  assert.deepEqual(
    events.giveUps.map((e) => e.decision.reason),
    ['limit-reached'],
  );
  assert.equal(upstream.counters('/again').requests, 2);
});

test('an onRetry that throws for a forced retry rejects the call with it, and the call still gives up once', async (t) => {
  const upstream = await startUpstream({
    routes: { '/token': { steps: [{ status: 200 }, { body: 'ok' }] } },
  });
  t.after(() => upstream.close());
  const boom = new Error('listener boom');
  const { api, events } = retrying({
    onRetry: () => {
      throw boom;
    },
  });
  const forcing = api.extend({
    hooks: { afterResponse: [({ retryCount }) => (retryCount === 0 ? ky.retry() : undefined)] },
  });
  const error = await rejection(forcing.get(`${upstream.url}/token`));
  assert.equal(error, boom);
  assert.equal(events.giveUps.length, 1);
  assert.equal(getRetryDecision(error)?.reason, 'error-not-retryable');
  assert.equal(upstream.counters('/token').requests, 1);
});

test('ky’s total timeout running out in a forced retry’s sleep is total-timeout, also with ky’s own timeout on', async (t) => {
  const upstream = await startUpstream({ routes: { '/slow-retry': { steps: [{ status: 200 }] } } });
  t.after(() => upstream.close());
  const { api } = retrying({}, { timeout: 200, totalTimeout: 300 });
  const forcing = api.extend({ hooks: { afterResponse: [() => ky.retry({ delay: 5_000 })] } });
  const error = await rejection(forcing.post(`${upstream.url}/slow-retry`, { body: 'x' }));
  assert.equal((error as Error).name, 'TimeoutError');
  assert.deepEqual(
    [getRetryDecision(error)?.reason, getRetryDecision(error)?.failure],
    ['total-timeout', 'timeout:total'],
  );
  assert.equal(upstream.counters('/slow-retry').requests, 1);
});
