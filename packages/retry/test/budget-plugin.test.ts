import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { closedPort, startUpstream, type Upstream } from '@ky-resilience/testing';
import ky, { isHTTPError } from 'ky';
import {
  createRetryBudget,
  getRetryDecision,
  isRetryBudgetExhaustedError,
  type RetryBudgetExhaustedError,
  retryPlugin,
} from '../src/index.ts';
import { fakeClock, rejection, retrying } from './helpers.ts';

const LONG_BODY = JSON.stringify({ items: Array.from({ length: 200 }, (_, i) => ({ id: i })) });

/** Runs `calls` GETs to `url`, `concurrency` at a time; the outcome of each. */
async function callMany(
  get: (url: string) => Promise<unknown>,
  url: string,
  calls: number,
  concurrency = 1,
): Promise<Array<{ ok: boolean; error?: unknown }>> {
  const outcomes: Array<{ ok: boolean; error?: unknown }> = [];
  for (let i = 0; i < calls; i += concurrency) {
    const wave = Array.from({ length: Math.min(concurrency, calls - i) }, () =>
      get(url).then(
        () => ({ ok: true }),
        (error: unknown) => ({ ok: false, error }),
      ),
    );
    outcomes.push(...(await Promise.all(wave)));
  }
  return outcomes;
}

describe('the budget during a sustained outage (real sockets)', () => {
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
    const outcomes = await callMany((url) => api.get(url), `${upstream.url}/outage-unbudgeted`, 20);
    assert.ok(outcomes.every((o) => !o.ok && isHTTPError(o.error)));
    assert.equal(upstream.counters('/outage-unbudgeted').requests, 80);
  });

  test('the default budget: 1000 calls make 1006 requests (1.006 per call), the rest fail fast with the stats', async () => {
    upstream.route('/outage-default', { schedule: { kind: 'outage', durationMs: 600_000 } });
    const { api, events } = retrying({ limit: 2, budget: true, clock: () => 0 });
    const outcomes = await callMany((url) => api.get(url), `${upstream.url}/outage-default`, 1000);
    // 20 tokens, one per failed attempt, retries while more than 10 are left: failures 1 to 9
    // leave 19..11, so calls 1 to 3 retry twice (6 retries); call 4's failure leaves 10.
    assert.equal(events.retries.length, 6);
    assert.equal(upstream.counters('/outage-default').requests, 1006);
    assert.ok(upstream.counters('/outage-default').requests / 1000 <= 1.2);

    const errors = outcomes.map((o) => o.error);
    assert.ok(
      errors.slice(0, 3).every((e) => isHTTPError(e) && getRetryDecision(e)?.reason === 'limit-reached'),
    );
    const refused = errors.slice(3);
    assert.ok(refused.every(isRetryBudgetExhaustedError));
    const first = refused[0] as RetryBudgetExhaustedError;
    assert.equal(first.host, new URL(upstream.url).host);
    assert.equal(first.attempts, 1);
    assert.deepEqual([first.tokens, first.threshold, first.capacity], [10, 10, 20]);
    assert.ok(isHTTPError(first.cause));
    assert.equal(first.cause.response.status, 503);
    assert.match(
      first.message,
      /^Retry budget for 127\.0\.0\.1:\d+ is spent: not retrying after 1 attempt \(10 of 20 tokens left, retries need more than 10: too many recent attempts to this host failed\) \(HTTPError: /,
    );
    assert.equal(getRetryDecision(first)?.reason, 'budget-exhausted');
    assert.equal((refused.at(-1) as RetryBudgetExhaustedError).tokens, 0);
    assert.equal(events.giveUps.length, 1000);
  });

  test('concurrent calls: the bound holds when failures interleave', async () => {
    upstream.route('/outage-concurrent', { schedule: { kind: 'outage', durationMs: 600_000 } });
    const budget = createRetryBudget({ clock: () => 0 });
    const { api } = retrying({ limit: 3, budget });
    const outcomes = await callMany((url) => api.get(url), `${upstream.url}/outage-concurrent`, 500, 50);
    assert.ok(outcomes.every((o) => !o.ok));
    const requests = upstream.counters('/outage-concurrent').requests;
    // Only failures that leave more than 10 tokens are retried: at most 9 retries.
    assert.ok(requests >= 500 && requests <= 509, String(requests));
  });

  test('the clock floor: 12 s later one failure may be retried again', async () => {
    upstream.route('/outage-floor', { schedule: { kind: 'outage', durationMs: 600_000 } });
    const clock = fakeClock();
    const budget = createRetryBudget({ clock: clock.now });
    const { api, events } = retrying({ limit: 2, budget });
    await callMany((url) => api.get(url), `${upstream.url}/outage-floor`, 50);
    assert.equal(events.retries.length, 6);
    assert.equal(budget.tokens(new URL(upstream.url).host), 0);
    clock.advance(12_000);
    // 12 tokens: the failure leaves 11 (retried), the retry's failure leaves 10 (refused).
    const error = await rejection(api.get(`${upstream.url}/outage-floor`));
    assert.equal(events.retries.length, 7);
    assert.ok(isRetryBudgetExhaustedError(error));
    assert.equal(error.attempts, 2);
  });

  test('the budget is on by default, on the plugin clock', async () => {
    upstream.route('/default-budget', { schedule: { kind: 'outage', durationMs: 600_000 } });
    let retries = 0;
    const api = ky.create({ timeout: 5_000 }).extend(
      retryPlugin({
        limit: 2,
        backoff: { strategy: 'none', base: 1 },
        clock: () => 0,
        onRetry: () => {
          retries += 1;
        },
      }),
    );
    await callMany((url) => api.get(url), `${upstream.url}/default-budget`, 10);
    assert.equal(retries, 6);
    assert.equal(upstream.counters('/default-budget').requests, 16);
  });
});

describe('the budget during a 20 % brownout (real sockets, seeded upstream)', () => {
  for (const seed of [1, 2]) {
    test(`seed ${seed}: 1000 calls, limit 3: at least 99.5 % succeed, at most 1.3 attempts per call`, async () => {
      const upstream = await startUpstream({ seed });
      try {
        upstream.route('/brownout', { schedule: { kind: 'brownout', errorRate: 0.2, status: 503 } });
        const { api, events } = retrying({ limit: 3, budget: true, clock: () => 0 });
        const outcomes = await callMany((url) => api.get(url), `${upstream.url}/brownout`, 1000);
        const succeeded = outcomes.filter((o) => o.ok).length;
        const requests = upstream.counters('/brownout').requests;
        assert.ok(succeeded >= 995, `${succeeded} of 1000 succeeded`);
        assert.ok(requests / 1000 <= 1.3, `${requests / 1000} attempts per call`);
        assert.ok(events.retries.length > 200, `${events.retries.length} retries`);
        assert.equal(outcomes.filter((o) => isRetryBudgetExhaustedError(o.error)).length, 0);
      } finally {
        await upstream.close();
      }
    });
  }

  test('a 60 % brownout is throttled: about one attempt per call', async () => {
    const upstream = await startUpstream({ seed: 1 });
    try {
      upstream.route('/heavy', { schedule: { kind: 'brownout', errorRate: 0.6, status: 503 } });
      const { api } = retrying({ limit: 3, budget: true, clock: () => 0 });
      await callMany((url) => api.get(url), `${upstream.url}/heavy`, 300);
      // Without a budget: 1 + 0.6 + 0.36 + 0.216 = 2.18 attempts per call.
      assert.ok(
        upstream.counters('/heavy').requests / 300 <= 1.1,
        String(upstream.counters('/heavy').requests),
      );
    } finally {
      await upstream.close();
    }
  });
});

describe('recovery after an outage (real sockets, injected clocks)', () => {
  test('successes refill the bucket: about 23 healthy calls after the outage, failures are retried again', async () => {
    const upstreamClock = fakeClock(0);
    const upstream = await startUpstream({ clock: upstreamClock.now });
    try {
      const host = new URL(upstream.url).host;
      upstream.route('/down', { schedule: { kind: 'outage', durationMs: 10_000 } });
      upstream.route('/flaky', { steps: [{ status: 503 }, { status: 200 }] });
      // The budget's clock stands still: only successes refill it.
      const budget = createRetryBudget({ clock: () => 0 });
      const { api, events } = retrying({ limit: 2, budget });

      const outage = await callMany((url) => api.get(url), `${upstream.url}/down`, 200);
      assert.ok(outage.every((o) => !o.ok));
      assert.ok(upstream.counters('/down').requests <= 206);
      assert.equal(budget.tokens(host), 0);

      // Still drained: a failure on another path of the same host is not retried.
      assert.ok(isRetryBudgetExhaustedError(await rejection(api.get(`${upstream.url}/flaky`))));
      upstream.route('/flaky', { steps: [{ status: 503 }, { status: 200 }] });

      upstreamClock.advance(10_000);
      // First attempts are never refused, so the recovered host is seen at once.
      const recovered = await callMany((url) => api.get(url), `${upstream.url}/down`, 22);
      assert.ok(recovered.every((o) => o.ok));
      assert.equal(budget.tokens(host), 11);
      // 11 tokens: a failure would leave 10, not above the threshold.
      assert.equal(budget.state(host).retryAllowed, true);
      await api.get(`${upstream.url}/down`);
      assert.equal(budget.tokens(host), 11.5);
      const retriesBefore = events.retries.length;
      await api.get(`${upstream.url}/flaky`);
      assert.equal(events.retries.length, retriesBefore + 1);
      assert.equal(upstream.counters('/flaky').requests, 2 + 1);
    } finally {
      await upstream.close();
    }
  });
});

describe('what the budget counts (real sockets)', () => {
  let upstream: Upstream;
  before(async () => {
    upstream = await startUpstream();
  });
  after(async () => {
    await upstream.close();
  });

  const setup = (limit = 2) => {
    const budget = createRetryBudget({ capacity: 20, ratio: 0.5, minRetriesPerSecond: 0, clock: () => 0 });
    return { budget, ...retrying({ limit, budget }), host: new URL(upstream.url).host };
  };

  test('a retryable status costs one token per attempt; any other response adds ratio', async () => {
    upstream.route('/s503', { steps: [{ status: 503 }] });
    upstream.route('/s404', { steps: [{ status: 404 }] });
    upstream.route('/s200', { steps: [{ status: 200 }] });
    const { budget, api, host } = setup(2);
    await rejection(api.get(`${upstream.url}/s503`));
    assert.equal(budget.tokens(host), 17);
    await rejection(api.get(`${upstream.url}/s404`));
    assert.equal(budget.tokens(host), 17.5);
    await api.get(`${upstream.url}/s200`);
    assert.equal(budget.tokens(host), 18);
  });

  test('the last attempt counts too when the limit ends the call (ky asks no shouldRetry then)', async () => {
    const port = await closedPort();
    const { budget, api } = setup(0);
    const host = `127.0.0.1:${port}`;
    await rejection(api.get(`http://${host}/refused`));
    await rejection(api.get(`http://${host}/refused`));
    assert.equal(budget.tokens(host), 18);
  });

  test('a reset mid-body is a failed attempt, not a success', async () => {
    upstream.route('/mid', { steps: [{ reset: 'mid-body', body: LONG_BODY }, { body: LONG_BODY }] });
    const { budget, api, host } = setup(2);
    assert.equal(await api.get(`${upstream.url}/mid`).text(), LONG_BODY);
    // −1 for the reset, +0.5 for the retry's whole body.
    assert.equal(budget.tokens(host), 19.5);
  });

  test("a POST's 503 costs a token though it is not retried; a caller's abort costs nothing", async () => {
    upstream.route('/post', { steps: [{ status: 503 }] });
    upstream.route('/hang', { steps: [{ delayHeadersMs: 600_000 }] });
    const { budget, api, host } = setup(2);
    await rejection(api.post(`${upstream.url}/post`, { json: {} }));
    assert.equal(budget.tokens(host), 19);
    const controller = new AbortController();
    const call = rejection(api.get(`${upstream.url}/hang`, { signal: controller.signal }));
    for (let i = 0; i < 400 && upstream.counters('/hang').requests === 0; i += 1) await sleep(5);
    controller.abort(new Error('the caller gave up'));
    await call;
    assert.equal(budget.tokens(host), 19);
  });

  test('a per-request `budget: false` neither asks nor feeds the budget', async () => {
    upstream.route('/skip', { steps: [{ status: 503 }] });
    const budget = createRetryBudget({ capacity: 1, ratio: 0, minRetriesPerSecond: 0, clock: () => 0 });
    const { api } = retrying({ limit: 2, budget });
    const host = new URL(upstream.url).host;
    assert.ok(isRetryBudgetExhaustedError(await rejection(api.get(`${upstream.url}/skip`))));
    assert.equal(upstream.counters('/skip').requests, 1);
    budget.clear();
    await rejection(
      api.get(`${upstream.url}/skip`, { context: { '@ky-resilience/retry': { budget: false } } }),
    );
    assert.equal(upstream.counters('/skip').requests, 4);
    assert.equal(budget.tokens(host), 1);
  });
});
