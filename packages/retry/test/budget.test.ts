import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { startUpstream, type Upstream } from '@ky-resilience/testing';
import { isHTTPError } from 'ky';
import {
  createRetryBudget,
  getRetryDecision,
  isRetryBudgetExhaustedError,
  isRetryOptionsError,
  type RetryBudgetExhaustedError,
} from '../src/index.ts';
import { fakeClock, rejection, retrying } from './helpers.ts';

const CALLS = 20;

describe('a sustained outage', () => {
  let upstream: Upstream;
  before(async () => {
    upstream = await startUpstream();
  });
  after(async () => {
    await upstream.close();
  });

  test('without a budget every call makes limit + 1 requests', async () => {
    upstream.route('/outage-unbudgeted', { schedule: { kind: 'outage', durationMs: 600_000 } });
    const { api } = retrying({ limit: 3, budget: false });
    for (let i = 0; i < CALLS; i += 1) {
      const error = await rejection(api.get(`${upstream.url}/outage-unbudgeted`));
      assert.ok(isHTTPError(error));
    }
    assert.equal(upstream.counters('/outage-unbudgeted').requests, CALLS * 4);
  });

  test('with a budget the retries stop draining the upstream, and the error says the budget was spent', async () => {
    upstream.route('/outage-budgeted', { schedule: { kind: 'outage', durationMs: 600_000 } });
    const clock = fakeClock();
    const budget = createRetryBudget({ capacity: 5, ratio: 0.2, minRetriesPerSecond: 1, clock: clock.now });
    const { api, events } = retrying({ limit: 3, budget });
    const errors: unknown[] = [];
    for (let i = 0; i < CALLS; i += 1) {
      errors.push(await rejection(api.get(`${upstream.url}/outage-budgeted`)));
    }
    // Bucket: 5 tokens; each call adds 0.2; each retry takes 1. Call 1 retries 3 times (5 → 2),
    // call 2 twice (2.2 → 0.2), then every fifth call once (calls 6, 11, 16): 8 retries in all.
    assert.equal(events.retries.length, 8);
    assert.equal(upstream.counters('/outage-budgeted').requests, CALLS + 8);

    assert.ok(isHTTPError(errors[0]));
    assert.equal(getRetryDecision(errors[0])?.reason, 'limit-reached');
    const spent = errors.slice(1);
    assert.ok(spent.every(isRetryBudgetExhaustedError));
    const second = spent[0] as RetryBudgetExhaustedError;
    assert.equal(second.host, new URL(upstream.url).host);
    assert.equal(second.attempts, 3);
    assert.ok(second.tokens < 1);
    assert.ok(isHTTPError(second.cause));
    assert.equal(second.cause.response.status, 503);
    assert.match(second.message, /Retry budget for .* is spent/);
    assert.equal(getRetryDecision(second)?.reason, 'budget-exhausted');
    assert.equal(events.giveUps.length, CALLS);

    // Time refills the bucket at minRetriesPerSecond: 3 s later, 3 more retries are allowed.
    clock.advance(3_000);
    await rejection(api.get(`${upstream.url}/outage-budgeted`));
    assert.equal(events.retries.length, 8 + 3);
  });

  test('a per-request `budget: false` skips the budget', async () => {
    upstream.route('/skip-budget', { steps: [{ status: 503 }] });
    const clock = fakeClock();
    const budget = createRetryBudget({ capacity: 1, ratio: 0, minRetriesPerSecond: 0, clock: clock.now });
    const { api } = retrying({ limit: 2, budget });
    await rejection(api.get(`${upstream.url}/skip-budget`));
    assert.equal(upstream.counters('/skip-budget').requests, 2);
    await rejection(
      api.get(`${upstream.url}/skip-budget`, { context: { '@ky-resilience/retry': { budget: false } } }),
    );
    assert.equal(upstream.counters('/skip-budget').requests, 5);
  });

  test('the default budget is on: capacity 10, ratio 0.2', async () => {
    upstream.route('/default-budget', { schedule: { kind: 'outage', durationMs: 600_000 } });
    const { api, events } = retrying({ limit: 2, budget: true, clock: () => 0 });
    for (let i = 0; i < 10; i += 1) {
      await rejection(api.get(`${upstream.url}/default-budget`));
    }
    // 10 tokens, +0.2 per call, 2 retries per call: calls 1-5 take 10 (0.8 left), call 6 one more.
    assert.equal(events.retries.length, 11);
  });
});

describe('createRetryBudget', () => {
  test('buckets are per host and start full', () => {
    const clock = fakeClock();
    const budget = createRetryBudget({ capacity: 2, ratio: 0.5, minRetriesPerSecond: 0, clock: clock.now });
    assert.equal(budget.tokens('a'), 2);
    assert.equal(budget.tryAcquire('a'), true);
    assert.equal(budget.tryAcquire('a'), true);
    assert.equal(budget.tryAcquire('a'), false);
    assert.equal(budget.tryAcquire('b'), true);
    budget.recordCall('a');
    assert.equal(budget.tokens('a'), 0.5);
    budget.recordCall('a');
    assert.equal(budget.tryAcquire('a'), true);
  });

  test('the floor refills with time, up to capacity', () => {
    const clock = fakeClock();
    const budget = createRetryBudget({ capacity: 3, ratio: 0, minRetriesPerSecond: 2, clock: clock.now });
    for (let i = 0; i < 3; i += 1) assert.equal(budget.tryAcquire('h'), true);
    assert.equal(budget.tryAcquire('h'), false);
    clock.advance(500);
    assert.equal(budget.tokens('h'), 1);
    clock.advance(10_000);
    assert.equal(budget.tokens('h'), 3);
  });

  test('maxHosts bounds the map: the least recently used host is dropped and starts full again', () => {
    const budget = createRetryBudget({
      capacity: 1,
      ratio: 0,
      minRetriesPerSecond: 0,
      maxHosts: 2,
      clock: () => 0,
    });
    assert.equal(budget.tryAcquire('a'), true);
    assert.equal(budget.tryAcquire('b'), true);
    assert.equal(budget.tryAcquire('a'), false); // a is now the most recent
    assert.equal(budget.tryAcquire('c'), true); // evicts b
    assert.equal(budget.tokens('b'), 1);
    assert.equal(budget.tokens('a'), 0);
  });

  test('bad options are typed errors naming the option', () => {
    for (const [options, option] of [
      [{ ratio: -1 }, 'budget.ratio'],
      [{ capacity: 0 }, 'budget.capacity'],
      [{ minRetriesPerSecond: Number.NaN }, 'budget.minRetriesPerSecond'],
      [{ maxHosts: 1.5 }, 'budget.maxHosts'],
      [{ clock: 5 }, 'budget.clock'],
      [{ size: 5 }, 'budget.size'],
    ] as const) {
      assert.throws(
        () => createRetryBudget(options as never),
        (error: unknown) => isRetryOptionsError(error) && error.option === option,
      );
    }
  });
});
