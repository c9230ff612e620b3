import assert from 'node:assert/strict';
import { test } from 'node:test';
import { startUpstream } from '@ky-resilience/testing';
import ky from 'ky';
import {
  createRetryBudget,
  type GiveUpEvent,
  getRetryDecision,
  type RetryEvent,
  retryPlugin,
} from '../src/index.ts';
import { rejection } from './helpers.ts';

test('the same fragment installed twice on a ky chain runs each call once and reports once', async (t) => {
  const upstream = await startUpstream({
    routes: {
      '/down': { steps: [{ status: 503 }] },
      '/forced': { steps: [{ status: 200 }, { body: 'ok' }] },
    },
  });
  t.after(() => upstream.close());
  const retries: RetryEvent[] = [];
  const giveUps: GiveUpEvent[] = [];
  // A frozen clock: no refill, so the bucket shows every failure recorded.
  const budget = createRetryBudget({ capacity: 100, clock: () => 0 });
  const fragment = retryPlugin({
    limit: 2,
    backoff: { strategy: 'none', base: 1 },
    budget,
    attemptHeader: 'x-attempt',
    onRetry: (e) => retries.push(e),
    onGiveUp: (e) => giveUps.push(e),
  });
  const child = ky.create({}).extend(fragment).extend(fragment);

  const error = await rejection(child.get(`${upstream.url}/down`));
  assert.equal(upstream.counters('/down').requests, 3, 'the limit holds: three attempts');
  assert.deepEqual(
    upstream.counters('/down').headers.map((h) => h['x-attempt']),
    ['1', '2', '3'],
  );
  assert.deepEqual(
    retries.map((e) => e.attempt),
    [2, 3],
  );
  assert.equal(giveUps.length, 1);
  assert.equal(budget.tokens(`127.0.0.1:${upstream.port}`), 97, 'each failed attempt recorded once');
  assert.equal(getRetryDecision(error)?.reason, 'limit-reached');

  // A forced retry runs ky's beforeRetry hooks, the plugin's twice: it is reported once.
  retries.length = 0;
  const forcing = child.extend({
    hooks: { afterResponse: [({ retryCount }) => (retryCount === 0 ? ky.retry() : undefined)] },
  });
  assert.equal(await forcing.get(`${upstream.url}/forced`).text(), 'ok');
  assert.deepEqual(
    retries.map((e) => e.reason),
    ['forced'],
  );
});
