import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { startUpstream, type Upstream } from '@ky-resilience/testing';
import { isTotalTimeoutError, timeoutPlugin } from '@ky-resilience/timeout';
import ky, { isTimeoutError } from 'ky';
import { createRetryBudget, getRetryDecision, retryPlugin } from '../src/index.ts';
import { rejection } from './helpers.ts';

// The total timeout counts neither way in the retry budget, whether it is ky's own `totalTimeout` (ky
// reports it with the same TimeoutError class as its per-attempt timeout) or the timeout plugin's.
describe('the total timeout and the retry budget', () => {
  let upstream: Upstream;
  before(async () => {
    upstream = await startUpstream();
  });
  after(async () => {
    await upstream.close();
  });

  test("a call ended by ky's totalTimeout takes no token from the host's bucket", async () => {
    upstream.route('/late', { steps: [{ delayHeadersMs: 600_000 }] });
    const budget = createRetryBudget({ capacity: 20, ratio: 0.5, minRetriesPerSecond: 0, clock: () => 0 });
    const api = ky
      .create({ timeout: false, totalTimeout: 150 })
      .extend(retryPlugin({ backoff: { strategy: 'none', base: 1 }, budget }));
    const host = new URL(upstream.url).host;
    const error = await rejection(api.get(`${upstream.url}/late`));
    assert.ok(isTimeoutError(error));
    assert.equal(upstream.counters('/late').requests, 1);
    const decision = getRetryDecision(error);
    assert.equal(decision?.reason, 'total-timeout');
    assert.equal(
      budget.tokens(host),
      20,
      `the total timeout cost ${20 - budget.tokens(host)} token(s); decision ${JSON.stringify(decision)}`,
    );
  });

  test('with the timeout plugin (attempt off), 20 calls ended by the total timeout take no token and make no retry', async () => {
    upstream.route('/late', { steps: [{ delayHeadersMs: 600_000 }] });
    const budget = createRetryBudget({ capacity: 100, ratio: 0.5, minRetriesPerSecond: 0, clock: () => 0 });
    const retried: string[] = [];
    const api = ky.extend(timeoutPlugin({ total: 60, attempt: false })).extend(
      retryPlugin({
        backoff: { strategy: 'full', base: 1 },
        budget,
        onRetry: (e) => retried.push(e.reason),
      }),
    );
    const host = new URL(upstream.url).host;
    const decisions: unknown[] = [];
    for (let i = 0; i < 20; i += 1) {
      const error = await rejection(api.get(`${upstream.url}/late`));
      assert.ok(isTotalTimeoutError(error));
      decisions.push(getRetryDecision(error));
    }
    assert.equal(
      budget.tokens(host),
      100,
      `${100 - budget.tokens(host)} of 50 total timeouts cost a token; retried: ${JSON.stringify(retried)}; upstream requests: ${upstream.counters('/late').requests}`,
    );
    assert.deepEqual(retried, []);
  });
});
