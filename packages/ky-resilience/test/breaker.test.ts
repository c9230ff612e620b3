import assert from 'node:assert/strict';
import diagnosticsChannel from 'node:diagnostics_channel';
import { test } from 'node:test';
import { isCircuitOpenError } from '@ky-resilience/circuit-breaker';
import { getRetryDecision } from '@ky-resilience/retry';
import { startUpstream } from '@ky-resilience/testing';
import { isHTTPError } from 'ky';
import {
  type BreakerRejectedEvent,
  type BreakerStateChangeEvent,
  createClient,
  isClientOptionsError,
} from '../src/index.ts';

test('a sustained outage opens the breaker; later calls are turned away without reaching the upstream', async (t) => {
  const upstream = await startUpstream({
    routes: { '/down': { schedule: { kind: 'outage', durationMs: 3_600_000 } } },
  });
  t.after(() => upstream.close());
  let now = 1_000_000;
  const client = createClient({
    circuitBreaker: { policy: { kind: 'consecutive', failures: 4 }, halfOpenAfter: 10_000, clock: () => now },
    retry: { limit: 3, backoff: { base: 1 }, budget: false },
  });
  t.after(() => client.close());
  const changes: BreakerStateChangeEvent[] = [];
  const rejections: BreakerRejectedEvent[] = [];
  client.on('breakerStateChange', (event) => changes.push(event));
  client.on('breakerRejected', (event) => rejections.push(event));
  const published: unknown[] = [];
  const onMessage = (message: unknown): void => {
    published.push(message);
  };
  diagnosticsChannel.subscribe('ky-resilience:breaker:state-change', onMessage);
  diagnosticsChannel.subscribe('ky-resilience:breaker:rejected', onMessage);
  t.after(() => {
    diagnosticsChannel.unsubscribe('ky-resilience:breaker:state-change', onMessage);
    diagnosticsChannel.unsubscribe('ky-resilience:breaker:rejected', onMessage);
  });

  // Upstream requests per call: the first call makes its 4 attempts (the 4th failure opens the
  // breaker); the next ones are turned away at their first attempt and not retried.
  const perCall: number[] = [];
  const errors: unknown[] = [];
  for (let i = 0; i < 4; i += 1) {
    const before = upstream.counters('/down').requests;
    errors.push(await client.get(`${upstream.url}/down`).catch((e: unknown) => e));
    perCall.push(upstream.counters('/down').requests - before);
  }
  assert.deepEqual(perCall, [4, 0, 0, 0]);
  assert.ok(isHTTPError(errors[0]));
  for (const error of errors.slice(1)) {
    assert.ok(isCircuitOpenError(error), String(error));
    assert.equal(error.state, 'open');
    assert.equal(getRetryDecision(error)?.reason, 'error-not-retryable');
    assert.equal(getRetryDecision(error)?.attempts, 1);
  }
  const host = new URL(upstream.url).host;
  assert.deepEqual(
    changes.map(({ client: name, host: h, key, from, to, reason, nextProbeAt }) => ({
      name,
      h,
      key,
      from,
      to,
      reason,
      nextProbeAt,
    })),
    [
      {
        name: client.name,
        h: host,
        key: upstream.origin,
        from: 'closed',
        to: 'open',
        reason: 'failures',
        nextProbeAt: 1_010_000,
      },
    ],
  );
  assert.deepEqual(rejections, [
    { client: client.name, host, key: upstream.origin, state: 'open' },
    { client: client.name, host, key: upstream.origin, state: 'open' },
    { client: client.name, host, key: upstream.origin, state: 'open' },
  ]);
  // The channels carry the very objects the listeners got, in order.
  assert.deepEqual(published, [...changes, ...rejections]);
  assert.equal(published[0], changes[0]);
  assert.equal(client.breakers?.state(upstream.origin), 'open');
  assert.deepEqual(client.stats().breakers?.states, { closed: 0, open: 1, 'half-open': 0, isolated: 0 });
  // A rejected attempt held a limiter slot only for an instant.
  assert.equal(client.stats().limiter?.active, 0);

  // After the open period, one probe goes through; the host has recovered: the circuit closes.
  upstream.route('/down', {});
  now += 10_000;
  assert.equal((await client.get(`${upstream.url}/down`).json<{ ok: boolean }>()).ok, true);
  assert.deepEqual(
    changes.slice(1).map(({ from, to, reason }) => ({ from, to, reason })),
    [
      { from: 'open', to: 'half-open', reason: 'probe-due' },
      { from: 'half-open', to: 'closed', reason: 'probes-succeeded' },
    ],
  );
});

test('the preset’s default window breaker needs 20 attempts in its window before it opens', async (t) => {
  const upstream = await startUpstream({ routes: { '/down': { steps: [{ status: 503 }] } } });
  t.after(() => upstream.close());
  const client = createClient({ retry: false });
  t.after(() => client.close());
  const opened: BreakerStateChangeEvent[] = [];
  client.on('breakerStateChange', (event) => opened.push(event));

  for (let i = 0; i < 19; i += 1) await client.get(`${upstream.url}/down`).catch(() => {});
  assert.equal(client.breakers?.state(upstream.origin), 'closed');
  await client.get(`${upstream.url}/down`).catch(() => {});
  assert.equal(client.breakers?.state(upstream.origin), 'open');
  assert.equal(opened.length, 1);
  const error = await client.get(`${upstream.url}/down`).catch((e: unknown) => e);
  assert.ok(isCircuitOpenError(error));
  assert.equal(upstream.counters('/down').requests, 20);
});

test('per request, the breaker can be bypassed or keyed through context', async (t) => {
  const upstream = await startUpstream({ routes: { '/down': { steps: [{ status: 503 }] } } });
  t.after(() => upstream.close());
  const client = createClient({
    circuitBreaker: { policy: { kind: 'consecutive', failures: 1 } },
    retry: false,
  });
  t.after(() => client.close());

  await client.get(`${upstream.url}/down`).catch(() => {});
  assert.equal(client.breakers?.state(upstream.origin), 'open');
  const bypassed = await client
    .get(`${upstream.url}/down`, { context: { '@ky-resilience/circuit-breaker': { bypass: true } } })
    .catch((e: unknown) => e);
  assert.ok(isHTTPError(bypassed));
  await client
    .get(`${upstream.url}/down`, { context: { '@ky-resilience/circuit-breaker': { key: 'payments' } } })
    .catch(() => {});
  assert.equal(client.breakers?.state('payments'), 'open');
  assert.equal(upstream.counters('/down').requests, 3);
});

test('breaker options are validated across tiers and reported under circuitBreaker', () => {
  const refused = (options: Parameters<typeof createClient>[0], option: string, value: unknown): void => {
    assert.throws(
      () => createClient(options),
      (e: unknown) => isClientOptionsError(e) && e.option === option && Object.is(e.value, value),
    );
  };
  refused(
    { circuitBreaker: { policy: { kind: 'window', windowMs: 15_000 } } },
    'circuitBreaker.policy.windowMs',
    15_000,
  );
  refused(
    { timeout: { attempt: 20_000 }, circuitBreaker: { policy: { kind: 'window', windowMs: 30_000 } } },
    'circuitBreaker.policy.windowMs',
    30_000,
  );
  // With the attempt timeout off, an attempt is bounded by the total: the window must span two of those.
  refused(
    {
      timeout: { attempt: false, total: 20_000 },
      circuitBreaker: { policy: { kind: 'window', windowMs: 30_000 } },
    },
    'circuitBreaker.policy.windowMs',
    30_000,
  );
  assert.throws(
    () =>
      createClient({
        timeout: { attempt: false, total: 20_000 },
        circuitBreaker: { policy: { kind: 'window', windowMs: 39_999 } },
      }),
    /twice timeout\.total \(timeout\.attempt is off\) \(40000 ms\)/,
  );
  refused(
    { circuitBreaker: { policy: { kind: 'count', threshold: 2 } } },
    'circuitBreaker.policy.threshold',
    2,
  );
  refused({ circuitBreaker: { halfopen: 1 } as never }, 'circuitBreaker.halfopen', 1);
  const listener = (): void => {};
  refused(
    { circuitBreaker: false, events: { breakerRejected: listener } },
    'events.breakerRejected',
    listener,
  );
});

test('a window that is not given grows to span two attempts', async (t) => {
  const upstream = await startUpstream({ routes: { '/down': { steps: [{ status: 503 }] } } });
  t.after(() => upstream.close());
  // attempt 20 s: the default 30 s window would be too short; it becomes 40 s (not an error).
  let now = 0;
  const client = createClient({
    timeout: { total: 60_000, attempt: 20_000 },
    circuitBreaker: { clock: () => now },
    retry: false,
  });
  t.after(() => client.close());
  // 20 failures, the last 35 s after the first: all in a 40 s window, so the breaker opens
  // (a 30 s window would hold only the last one).
  for (let i = 0; i < 20; i += 1) {
    now = i === 19 ? 35_000 : i;
    await client.get(`${upstream.url}/down`).catch(() => {});
  }
  assert.equal(client.breakers?.state(upstream.origin), 'open');
});

test('switched off, the breaker is absent and its context key is refused', async (t) => {
  const client = createClient({ circuitBreaker: false });
  t.after(() => client.close());
  assert.equal(client.breakers, undefined);
  assert.equal(client.stats().breakers, undefined);
  assert.throws(
    () =>
      client.get('http://127.0.0.1:9/', { context: { '@ky-resilience/circuit-breaker': { bypass: true } } }),
    (e: unknown) => isClientOptionsError(e) && e.option === "context['@ky-resilience/circuit-breaker']",
  );
});

test('with the breaker open, a call is rejected within the turn of the event loop that made it', async (t) => {
  // The fail-fast path must not wait for a timer, a socket or a queue: its latency is then the CPU it
  // takes, whatever the process's other work. A counter bumped by setImmediate measures turns.
  const upstream = await startUpstream({ routes: { '/down': { steps: [{ status: 503 }] } } });
  t.after(() => upstream.close());
  const client = createClient({
    circuitBreaker: { policy: { kind: 'consecutive', failures: 2 } },
    retry: { limit: 1, backoff: { base: 1 }, budget: false },
  });
  t.after(() => client.close());
  const first = await client.get(`${upstream.url}/down`).catch((e: unknown) => e);
  assert.ok(isHTTPError(first));
  const requests = upstream.counters('/down').requests;
  assert.equal(requests, 2);
  const turnsPerCall: number[] = [];
  for (let i = 0; i < 5; i += 1) {
    let turns = 0;
    let settled = false;
    const spin = (): void => {
      if (settled) return;
      turns += 1;
      setImmediate(spin);
    };
    setImmediate(spin);
    const error = await client
      .get(`${upstream.url}/down`)
      .text()
      .catch((e: unknown) => e);
    settled = true;
    assert.ok(isCircuitOpenError(error), String(error));
    turnsPerCall.push(turns);
  }
  assert.deepEqual(turnsPerCall, [0, 0, 0, 0, 0]);
  assert.equal(upstream.counters('/down').requests, requests);
});

/** Waits up to `turns` event-loop turns for `condition`. */
async function turnsUntil(condition: () => boolean, turns: number): Promise<void> {
  for (let i = 0; i < turns && !condition(); i += 1) await new Promise((resolve) => setImmediate(resolve));
}

/** A call's outcome (its error, or its value) and whether it has settled yet. */
function tracked(call: Promise<unknown>): { settled: () => boolean; outcome: Promise<unknown> } {
  let done = false;
  const outcome = call
    .catch((e: unknown) => e)
    .finally(() => {
      done = true;
    });
  return { settled: () => done, outcome };
}

test('calls that wait, or would wait, for a slot of a host whose circuit is open fail at once', async (t) => {
  const upstream = await startUpstream({ routes: { '/hang': { steps: [{ delayHeadersMs: 60_000 }] } } });
  t.after(() => upstream.close());
  const client = createClient({ agent: { limitPerHost: 2 }, retry: false });
  t.after(() => client.close({ timeout: 0 }).catch(() => undefined));
  const callers = new AbortController();
  t.after(() => callers.abort());
  // Two calls that never get an answer hold the host's two slots.
  const hanging = [1, 2].map(() =>
    client.get(`${upstream.url}/hang`, { signal: callers.signal }).catch((e: unknown) => e),
  );
  await turnsUntil(() => upstream.counters('/hang').requests === 2, 200);
  assert.equal(upstream.counters('/hang').requests, 2);
  // A call that came before the circuit opened waits for a slot: it fails when the circuit opens.
  const waiter = tracked(client.get(`${upstream.url}/hang`));
  await turnsUntil(() => client.limiter?.stats(upstream.origin)?.queued === 1, 20);
  assert.equal(client.limiter?.stats(upstream.origin)?.queued, 1);
  client.breakers?.isolate(upstream.origin);
  await turnsUntil(waiter.settled, 20);
  assert.ok(waiter.settled(), 'the call already waiting stayed in the limiter queue');
  const waited = await waiter.outcome;
  assert.ok(isCircuitOpenError(waited), String(waited));
  // A call that comes now is turned away before it would wait.
  const later = tracked(client.get(`${upstream.url}/hang`));
  await turnsUntil(later.settled, 20);
  assert.ok(later.settled(), 'the call waited in the limiter queue');
  const error = await later.outcome;
  assert.ok(isCircuitOpenError(error), String(error));
  assert.equal(error.state, 'isolated');
  assert.equal(client.limiter?.stats(upstream.origin)?.queued, 0);
  assert.equal(upstream.counters('/hang').requests, 2);
  callers.abort();
  await Promise.all(hanging);
});
