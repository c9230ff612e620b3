import assert from 'node:assert/strict';
import { test } from 'node:test';
import { startUpstream } from '@ky-resilience/testing';
import ky, { type Options } from 'ky';
import { getRetryDecision } from '../src/index.ts';
import { rejection, retrying } from './helpers.ts';

/** What `onRetry` saw for one call to a route whose answers are `steps`, through the `extra` options. */
async function reported(
  t: { after: (fn: () => unknown) => void },
  steps: { status?: number; body?: string }[],
  extra: Options,
) {
  const upstream = await startUpstream({ routes: { '/r': { steps } } });
  t.after(() => upstream.close());
  const { api, events } = retrying({ backoff: { strategy: 'none', base: 7 } });
  const body = await api.extend(extra).get(`${upstream.url}/r`).text();
  return {
    body,
    requests: upstream.counters('/r').requests,
    retries: events.retries.map(({ attempt, delay, reason, delaySource, error }) => ({
      attempt,
      delay,
      reason,
      delaySource,
      error: error.name,
    })),
  };
}

test('a retry forced by an afterResponse hook is reported to onRetry, with the backoff delay ky slept', async (t) => {
  const seen = await reported(t, [{ status: 200 }, { body: 'ok' }], {
    hooks: { afterResponse: [({ retryCount }) => (retryCount === 0 ? ky.retry() : undefined)] },
  });
  assert.deepEqual(seen, {
    body: 'ok',
    requests: 2,
    retries: [{ attempt: 2, delay: 7, reason: 'forced', delaySource: 'backoff', error: 'ForceRetryError' }],
  });
});

test('a forced retry with the hook’s own delay and code reports them', async (t) => {
  const seen = await reported(t, [{ status: 200 }, { body: 'ok' }], {
    hooks: {
      afterResponse: [
        ({ retryCount }) => (retryCount === 0 ? ky.retry({ delay: 3, code: 'TOKEN_REFRESH' }) : undefined),
      ],
    },
  });
  assert.deepEqual(seen.retries, [
    { attempt: 2, delay: 3, reason: 'forced: TOKEN_REFRESH', delaySource: 'hook', error: 'ForceRetryError' },
  ]);
});

test('retries the plugin decides are reported once, before the delay, as before', async (t) => {
  const seen = await reported(t, [{ status: 503 }, { body: 'ok' }], {});
  assert.deepEqual(seen.retries, [
    { attempt: 2, delay: 7, reason: 'status 503', delaySource: 'backoff', error: 'HTTPError' },
  ]);
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
