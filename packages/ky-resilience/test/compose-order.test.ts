import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isCircuitOpenError } from '@ky-resilience/circuit-breaker';
import { startUpstream } from '@ky-resilience/testing';
import { isAttemptTimeoutError } from '@ky-resilience/timeout';
import { readmeStack, until } from './compose-helpers.ts';

test('by hand: queue time is not counted in the attempt timeout', async (t) => {
  const up = await startUpstream({ routes: { '/hold': { steps: [{ delayHeadersMs: 600 }] }, '/fast': {} } });
  t.after(() => up.close());
  const s = readmeStack(`${up.url}/`, {
    timeout: { total: 30_000, attempt: 300, bodyIdle: 10_000 },
    limiter: { concurrency: 1, queueTimeout: 10_000 },
    retry: { limit: 0 },
  });
  t.after(() => s.agent.close());
  const hold = s.api.get('hold', { context: { '@ky-resilience/timeout': { attempt: 5_000 } } }).json();
  await until(() => up.counters('/hold').inFlight === 1, 'hold in flight');
  const fast = s.api.get('fast').json<{ ok: boolean }>();
  fast.catch(() => {});
  await until(() => s.limiter.stats(up.origin)?.queued === 1, 'queued');
  await hold;
  assert.equal((await fast).ok, true);
  assert.equal(s.limiter.stats(up.origin)?.active, 0);
});

test('by hand: a call waiting in the limiter queue holds no half-open probe and decides nothing', async (t) => {
  const up = await startUpstream({
    routes: {
      '/down': { steps: [{ status: 503 }] },
      '/hold': { steps: [{ delayHeadersMs: 400 }] },
      '/ok': {},
    },
  });
  t.after(() => up.close());
  let now = 1_000_000;
  const s = readmeStack(`${up.url}/`, {
    breaker: { policy: { kind: 'consecutive', failures: 1 }, halfOpenAfter: 1_000, clock: () => now },
    limiter: { concurrency: 1, queueTimeout: 10_000 },
    retry: { limit: 0 },
  });
  t.after(() => s.agent.close());
  await s.api.get('down').catch(() => {});
  assert.equal(s.breakers.state(up.origin), 'open');
  now += 5_000; // probe due
  // Hold the only limiter slot, bypassing the breaker.
  const hold = s.api.get('hold', { context: { '@ky-resilience/circuit-breaker': { bypass: true } } }).text();
  await until(() => up.counters('/hold').inFlight === 1, 'hold');
  const ac = new AbortController();
  const queued = s.api.get('ok', { signal: ac.signal }).text();
  queued.catch(() => {});
  await until(() => s.limiter.stats(up.origin)?.queued === 1, 'queued');
  // The queued call has not reached the breaker.
  assert.equal(s.breakers.describe(up.origin)?.probesInFlight ?? 0, 0);
  ac.abort(new Error('caller gave up'));
  await assert.rejects(queued, /caller gave up/);
  await hold;
  // The aborted waiter decided nothing; the next call is the probe and closes the circuit.
  assert.equal(s.breakers.state(up.origin), 'open');
  assert.equal((await s.api.get('ok').text()) !== '', true);
  assert.equal(s.breakers.state(up.origin), 'closed');
  assert.equal(s.limiter.stats(up.origin)?.active, 0);
});

test('by hand: every permit released exactly once across timeouts, resets, open circuits and 503s', async (t) => {
  const up = await startUpstream({
    routes: {
      '/stall': { steps: [{ stallBody: true, bodyPrefix: '{' }] },
      '/reset': { steps: [{ reset: 'mid-body', bodyPrefix: '{"a":' }] },
      '/hang': { steps: [{ delayHeadersMs: 2_000 }] },
      '/503': { steps: [{ status: 503 }] },
      '/ok': {},
    },
  });
  t.after(() => up.close());
  const s = readmeStack(`${up.url}/`, {
    timeout: { total: 30_000, attempt: 150, bodyIdle: 100 },
    breaker: { policy: { kind: 'consecutive', failures: 100 } },
    limiter: { concurrency: 2, queueTimeout: 10_000 },
    retry: { limit: 1, backoff: { strategy: 'none', base: 1 }, budget: false },
  });
  t.after(() => s.agent.close());
  const results = await Promise.allSettled([
    s.api.get('stall').text(),
    s.api.get('reset').text(),
    s.api.get('hang').text(),
    s.api.get('503').text(),
    s.api.get('ok').text(),
    s.api.post('503').text(),
  ]);
  assert.deepEqual(
    results.map((r) => r.status),
    ['rejected', 'rejected', 'rejected', 'rejected', 'fulfilled', 'rejected'],
  );
  await until(() => s.limiter.stats(up.origin)?.active === 0, 'all released');
  // Exactly once: the cap still holds (a double release would let 3 in at once).
  up.route('/slow', { steps: [{ delayHeadersMs: 60 }] });
  await Promise.all([1, 2, 3, 4, 5].map(() => s.api.get('slow').text()));
  assert.equal(up.counters('/slow').peakInFlight, 2);
  assert.equal(s.limiter.stats(up.origin)?.active, 0);
  assert.equal(s.limiter.stats(up.origin)?.queued, 0);
});

test('by hand: an open circuit rejects at once, is not retried, and holds no permit', async (t) => {
  const up = await startUpstream({ routes: { '/down': { steps: [{ status: 503 }] } } });
  t.after(() => up.close());
  const s = readmeStack(`${up.url}/`, {
    breaker: { policy: { kind: 'consecutive', failures: 2 } },
    retry: { limit: 3, backoff: { strategy: 'none', base: 1 }, budget: false },
  });
  t.after(() => s.agent.close());
  const first = await s.api
    .get('down')
    .text()
    .catch((e: unknown) => e);
  assert.ok(isCircuitOpenError(first), String(first));
  assert.equal(up.counters('/down').requests, 2);
  const second = await s.api
    .get('down')
    .text()
    .catch((e: unknown) => e);
  assert.ok(isCircuitOpenError(second));
  assert.equal(up.counters('/down').requests, 2);
  assert.equal(s.limiter.stats(up.origin)?.active, 0);
});

test('by hand: a timed-out attempt counts as a failure for the breaker', async (t) => {
  const up = await startUpstream({ routes: { '/hang': { steps: [{ delayHeadersMs: 5_000 }] } } });
  t.after(() => up.close());
  const s = readmeStack(`${up.url}/`, {
    timeout: { total: 30_000, attempt: 100 },
    breaker: { policy: { kind: 'consecutive', failures: 2 } },
    retry: { limit: 0 },
  });
  t.after(() => s.agent.close());
  for (let i = 0; i < 2; i += 1) {
    const e = await s.api.get('hang').catch((x: unknown) => x);
    assert.ok(isAttemptTimeoutError(e), String(e));
  }
  assert.equal(s.breakers.state(up.origin), 'open');
});
