import assert from 'node:assert/strict';
import { test } from 'node:test';
import { decorrelatedJitterV2 } from '@ky-resilience/jitter';
import { defaultRetryBudgetOptions, isRetryBudgetExhaustedError } from '@ky-resilience/retry';
import { seededRandom, startUpstream } from '@ky-resilience/testing';
import { isHTTPError } from 'ky';
import { clientDefaults, createClient, type RetryEvent } from '../src/index.ts';

test('the preset retry defaults: 3 retries, decorrelated-v2 jitter from 200 ms, capped at 10 s', () => {
  assert.equal(clientDefaults.retry.limit, 3);
  assert.deepEqual(
    { ...clientDefaults.retry.backoff },
    { strategy: 'decorrelated-v2', base: 200, factor: 2, cap: 10_000 },
  );
  assert.equal(clientDefaults.retry.budget, undefined, 'the retry plugin’s own budget defaults apply');
  assert.deepEqual(
    { ...defaultRetryBudgetOptions },
    { ratio: 0.5, minRetriesPerSecond: 1, capacity: 20, maxHosts: 1000 },
  );
});

test('with those defaults, a call needing 2 retries usually waits less than 0.6 s, 3 retries less than 1.2 s', () => {
  // The time from the first failure to retry n, over 10 000 seeded draws (no sockets, no sleeping).
  const random = seededRandom(7);
  const { base, factor, cap } = clientDefaults.retry.backoff as { base: number; factor: number; cap: number };
  const two: number[] = [];
  const three: number[] = [];
  for (let i = 0; i < 10_000; i += 1) {
    let intrinsic = 0;
    let waited = 0;
    for (let attempt = 1; attempt <= 3; attempt += 1) {
      const step = decorrelatedJitterV2(attempt, intrinsic, random, { base, factor, cap });
      intrinsic = step.intrinsic;
      waited += step.delay;
      if (attempt === 2) two.push(waited);
      if (attempt === 3) three.push(waited);
    }
  }
  const quantile = (values: number[], q: number): number =>
    [...values].sort((a, b) => a - b)[Math.floor(q * (values.length - 1))] ?? Number.NaN;
  // ky's default waits 0.3 s + 0.6 s = 0.9 s before its second retry.
  assert.ok(quantile(two, 0.5) < 450 && quantile(two, 1) < 600, `two retries: ${quantile(two, 0.5)}`);
  assert.ok(
    quantile(three, 0.5) < 900 && quantile(three, 1) < 1_200,
    `three retries: ${quantile(three, 0.5)}`,
  );
});

test('the preset asks for those delays (events record them; nothing is timed)', async (t) => {
  const upstream = await startUpstream({
    routes: { '/flaky': { steps: [{ status: 503 }, { status: 503 }, { status: 503 }, { status: 200 }] } },
  });
  t.after(() => upstream.close());
  const client = createClient({ circuitBreaker: false, retry: { random: () => 0.5 } });
  t.after(() => client.close());
  const retries: RetryEvent[] = [];
  client.on('retry', (event) => retries.push(event));

  await client.get(`${upstream.url}/flaky`);

  // decorrelated-v2 at the middle of each attempt's interval: base × (i(0.5), i(1.5) − i(0.5), i(2.5) − i(1.5)) / 1.4.
  const expected: number[] = [];
  let intrinsic = 0;
  for (let attempt = 1; attempt <= 3; attempt += 1) {
    const step = decorrelatedJitterV2(attempt, intrinsic, () => 0.5, { base: 200, factor: 2, cap: 10_000 });
    intrinsic = step.intrinsic;
    expected.push(step.delay);
  }
  assert.deepEqual(
    retries.map((event) => event.delay),
    expected,
  );
  assert.deepEqual(
    expected.map((delay) => Math.round(delay)),
    [179, 219, 407],
  );
});

test('the preset’s budget stops retries in an outage: 100 calls make 107 requests', async (t) => {
  const upstream = await startUpstream({ routes: { '/down': { steps: [{ status: 503 }] } } });
  t.after(() => upstream.close());
  // No breaker, so that every call reaches the upstream; the clock stands still (no refill).
  const client = createClient({
    circuitBreaker: false,
    retry: { backoff: { strategy: 'none', base: 1 }, clock: () => 0 },
  });
  t.after(() => client.close());
  const errors: unknown[] = [];
  for (let i = 0; i < 100; i += 1) {
    errors.push(await client.get(`${upstream.url}/down`).catch((error: unknown) => error));
  }
  // Failures 1 to 9 leave 19..11 tokens and are retried: calls 1 and 2 retry 3 times, call 3 once.
  assert.equal(upstream.counters('/down').requests, 107);
  assert.ok(errors.slice(0, 2).every(isHTTPError));
  assert.ok(errors.slice(2).every(isRetryBudgetExhaustedError));
});
