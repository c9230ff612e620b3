import assert from 'node:assert/strict';
import { test } from 'node:test';
import { startUpstream } from '@ky-resilience/testing';
import ky, { isHTTPError } from 'ky';
import { CircuitOpenError, circuitBreakerPlugin, isCircuitOpenError } from '../src/index.ts';
import { closeAfter, fakeClock, observedBreakers, recordChanges, rejection, until } from './helpers.ts';

test('a sustained outage opens the breaker after the threshold; later calls fail at once without reaching the upstream', async (t) => {
  const upstream = closeAfter(t, await startUpstream({ routes: { '*': { steps: [{ status: 503 }] } } }));
  const time = fakeClock();
  const changes = recordChanges();
  const rejected: string[] = [];
  const breakers = circuitBreakerPlugin({
    policy: { kind: 'consecutive', failures: 3 },
    clock: time.clock,
    onStateChange: changes.listener,
    onRejected: (event) => rejected.push(event.state),
  });
  const api = ky.create({ retry: 0 }).extend(breakers.kyOptions);

  for (let i = 0; i < 3; i += 1) {
    const error = await rejection(api.get(upstream.url));
    assert.ok(isHTTPError(error) && error.response.status === 503, `call ${i + 1} reaches the upstream`);
  }
  assert.equal(breakers.state(upstream.origin), 'open');
  assert.deepEqual(changes.list, ['closed>open:failures']);
  assert.deepEqual(changes.events[0]?.lastFailure, { kind: 'status', status: 503 });
  assert.equal(changes.events[0]?.nextProbeAt, time.now + 5_000);
  const served = upstream.counters().requests;
  assert.equal(served, 3);

  for (let i = 0; i < 5; i += 1) {
    time.advance(900);
    const error = await rejection(api.get(`${upstream.url}/other`));
    assert.ok(error instanceof CircuitOpenError);
    assert.ok(isCircuitOpenError(error));
    assert.equal(error.code, 'ERR_KYR_CIRCUIT_OPEN');
    assert.equal(error.host, upstream.origin);
    assert.equal(error.state, 'open');
    assert.equal(error.nextProbeAt, changes.events[0]?.nextProbeAt);
    assert.equal(error.retryAfterMs, 5_000 - 900 * (i + 1));
  }
  assert.equal(upstream.counters().requests, served, 'no request reached the upstream while open');
  assert.deepEqual(rejected, ['open', 'open', 'open', 'open', 'open']);
  assert.equal(breakers.stats().rejected, 5);
});

test('after the open period exactly N probes go out; other calls are rejected at once; success closes', async (t) => {
  const upstream = closeAfter(
    t,
    await startUpstream({
      routes: {
        '*': { steps: [{ status: 503 }, { status: 503 }, { status: 200, delayHeadersMs: 1_000 }] },
      },
    }),
  );
  const { time, changes, breakers } = observedBreakers({
    policy: { kind: 'consecutive', failures: 2 },
    halfOpenProbes: 2,
    halfOpenAfter: 1_000,
  });
  const api = ky.create({ retry: 0 }).extend(breakers.kyOptions);
  await rejection(api.get(upstream.url));
  await rejection(api.get(upstream.url));
  assert.equal(breakers.state(upstream.origin), 'open');

  time.advance(1_000);
  const calls = Array.from({ length: 6 }, () =>
    api.get(upstream.url).then(
      (response) => response.status,
      (error: unknown) => error,
    ),
  );
  const outcomes = await Promise.all(calls);
  const probes = outcomes.filter((o) => o === 200);
  const turnedAway = outcomes.filter((o) => isCircuitOpenError(o));
  assert.equal(probes.length, 2, 'exactly two probes');
  assert.equal(turnedAway.length, 4);
  for (const error of turnedAway) assert.equal((error as CircuitOpenError).state, 'half-open');
  assert.equal(upstream.counters().requests, 4, 'two failures and two probes reached the upstream');
  assert.equal(breakers.state(upstream.origin), 'closed');
  assert.deepEqual(changes.list, [
    'closed>open:failures',
    'open>half-open:probe-due',
    'half-open>closed:probes-succeeded',
  ]);

  // Closed again: calls flow.
  const response = await api.get(upstream.url);
  assert.equal(response.status, 200);
});

test('a failed probe re-opens the circuit for the backoff’s next, longer duration', async (t) => {
  const upstream = closeAfter(t, await startUpstream({ routes: { '*': { steps: [{ status: 502 }] } } }));
  const { time, changes, breakers } = observedBreakers({
    policy: { kind: 'consecutive', failures: 1 },
  });
  const api = ky.create({ retry: 0 }).extend(breakers.kyOptions);
  await rejection(api.get(upstream.url));
  const opens: number[] = [];
  for (let i = 0; i < 6; i += 1) {
    const info = breakers.describe(upstream.origin);
    assert.ok(info?.nextProbeAt !== undefined && info.openedAt !== undefined);
    opens.push(info.nextProbeAt - info.openedAt);
    time.now = info.nextProbeAt - 1;
    assert.ok(isCircuitOpenError(await rejection(api.get(upstream.url))), 'still open 1 ms before the probe');
    time.now = info.nextProbeAt;
    const error = await rejection(api.get(upstream.url));
    assert.ok(isHTTPError(error), 'the probe reached the upstream');
  }
  assert.deepEqual(opens, [5_000, 10_000, 20_000, 40_000, 60_000, 60_000]);
  assert.equal(upstream.counters().requests, 7);
  assert.equal(changes.list.filter((c) => c === 'half-open>open:probe-failed').length, 6);
  assert.equal(breakers.describe(upstream.origin)?.opens, 7);
});

test('recovery: after an outage ends, the probe closes the circuit and the next open period starts over', async (t) => {
  const upstream = closeAfter(
    t,
    await startUpstream({
      routes: { '*': { steps: [{ status: 500 }, { status: 500 }, { status: 200 }] } },
    }),
  );
  const time = fakeClock();
  const breakers = circuitBreakerPlugin({ policy: { kind: 'consecutive', failures: 2 }, clock: time.clock });
  const api = ky.create({ retry: 0 }).extend(breakers.kyOptions);
  await rejection(api.get(upstream.url));
  await rejection(api.get(upstream.url));
  time.advance(5_000);
  assert.equal((await api.get(upstream.url)).status, 200);
  assert.equal(breakers.state(upstream.origin), 'closed');
  assert.equal(breakers.describe(upstream.origin)?.opens, 0);
  upstream.route('*', { steps: [{ status: 503 }] });
  await rejection(api.get(upstream.url));
  await rejection(api.get(upstream.url));
  const info = breakers.describe(upstream.origin);
  assert.equal(info?.state, 'open');
  assert.equal((info?.nextProbeAt ?? 0) - (info?.openedAt ?? 0), 5_000, 'back to the first duration');
});

test('flapping: the breaker follows the upstream open and closed, and never lets a call through while open', async (t) => {
  const time = fakeClock();
  const upstream = closeAfter(
    t,
    await startUpstream({
      clock: () => time.now,
      routes: { '*': { schedule: { kind: 'flapping', periodMs: 20_000, downMs: 10_000 } } },
    }),
  );
  const changes = recordChanges();
  const breakers = circuitBreakerPlugin({
    policy: { kind: 'consecutive', failures: 3 },
    halfOpenAfter: 2_000,
    clock: time.clock,
    onStateChange: changes.listener,
  });
  const api = ky.create({ retry: 0 }).extend(breakers.kyOptions);
  let calls = 0;
  let leaked = 0;
  for (let step = 0; step < 80; step += 1) {
    const before = upstream.counters().requests;
    const wasOpen =
      breakers.state(upstream.origin) === 'open' &&
      (breakers.describe(upstream.origin)?.nextProbeAt ?? 0) > time.now;
    calls += 1;
    await api.get(upstream.url).then(
      () => {},
      () => {},
    );
    if (wasOpen && upstream.counters().requests !== before) leaked += 1;
    time.advance(500);
  }
  assert.equal(leaked, 0, 'no call reached the upstream while the breaker was open');
  const opens = changes.list.filter((c) => c === 'closed>open:failures').length;
  const closes = changes.list.filter((c) => c === 'half-open>closed:probes-succeeded').length;
  assert.equal(opens, 2, 'opened once per down phase');
  assert.equal(closes, 2, 'closed once per up phase');
  assert.ok(upstream.counters().requests < calls, 'the breaker spared the upstream some calls');
  assert.ok(
    changes.list.includes('half-open>open:probe-failed'),
    'probes during the down phase re-opened it',
  );
});

test('one host down while another on a second upstream stays fine', async (t) => {
  const down = closeAfter(t, await startUpstream({ routes: { '*': { steps: [{ status: 503 }] } } }));
  const up = closeAfter(t, await startUpstream());
  const time = fakeClock();
  const breakers = circuitBreakerPlugin({ policy: { kind: 'consecutive', failures: 2 }, clock: time.clock });
  const api = ky.create({ retry: 0 }).extend(breakers.kyOptions);
  for (let i = 0; i < 4; i += 1) {
    await rejection(api.get(down.url));
    assert.equal((await api.get(up.url)).status, 200);
  }
  assert.equal(breakers.state(down.origin), 'open');
  assert.equal(breakers.state(up.origin), 'closed');
  assert.equal(down.counters().requests, 2);
  assert.equal(up.counters().requests, 4);
  assert.deepEqual(breakers.stats().states, { closed: 1, open: 1, 'half-open': 0, isolated: 0 });
});

test('a caller’s abort of a half-open probe neither closes nor opens the circuit and frees the slot', async (t) => {
  const upstream = closeAfter(
    t,
    await startUpstream({
      routes: {
        '*': { steps: [{ status: 503 }, { status: 200, delayHeadersMs: 10_000 }, { status: 200 }] },
      },
    }),
  );
  const { time, changes, breakers } = observedBreakers({
    policy: { kind: 'consecutive', failures: 1 },
  });
  const api = ky.create({ retry: 0 }).extend(breakers.kyOptions);
  await rejection(api.get(upstream.url));
  time.advance(5_000);

  const controller = new AbortController();
  const probe = api.get(upstream.url, { signal: controller.signal });
  await until(() => upstream.counters().inFlight === 1);
  assert.equal(breakers.state(upstream.origin), 'half-open');
  const other = await rejection(api.get(upstream.url));
  assert.ok(
    isCircuitOpenError(other) && other.state === 'half-open',
    'a second call is rejected, not queued',
  );

  const reason = new Error('caller gave up');
  controller.abort(reason);
  assert.equal(await rejection(probe), reason);
  assert.equal(breakers.state(upstream.origin), 'half-open', 'the abort decided nothing');
  assert.equal(breakers.describe(upstream.origin)?.probesInFlight, 0, 'the slot is free');

  // The next caller takes the slot; its success closes the circuit.
  const response = await api.get(upstream.url);
  assert.equal(response.status, 200);
  assert.equal(breakers.state(upstream.origin), 'closed');
  assert.deepEqual(changes.list, [
    'closed>open:failures',
    'open>half-open:probe-due',
    'half-open>closed:probes-succeeded',
  ]);
  assert.equal(upstream.counters().requests, 3);
});

test('a caller’s abort while closed is not counted (does not reset nor add to the failure count)', async (t) => {
  const upstream = closeAfter(
    t,
    await startUpstream({
      routes: { '*': { steps: [{ status: 503 }, { status: 200, delayHeadersMs: 10_000 }, { status: 503 }] } },
    }),
  );
  const breakers = circuitBreakerPlugin({ policy: { kind: 'consecutive', failures: 2 } });
  const api = ky.create({ retry: 0 }).extend(breakers.kyOptions);
  await rejection(api.get(upstream.url));
  const controller = new AbortController();
  const pending = api.get(upstream.url, { signal: controller.signal });
  await until(() => upstream.counters().inFlight === 1);
  controller.abort();
  await rejection(pending);
  assert.equal(breakers.state(upstream.origin), 'closed');
  await rejection(api.get(upstream.url));
  assert.equal(breakers.state(upstream.origin), 'open', 'the two 503s around the abort are consecutive');
});

test('with two probes, an aborted probe’s slot is taken over: the circuit closes only when that call succeeds too', async (t) => {
  const upstream = closeAfter(
    t,
    await startUpstream({
      routes: {
        '/fail': { steps: [{ status: 503 }] },
        '/hang': { steps: [{ status: 200, delayHeadersMs: 10_000 }] },
        '/ok': { steps: [{ status: 200 }] },
      },
    }),
  );
  const { time, changes, breakers } = observedBreakers({
    policy: { kind: 'consecutive', failures: 1 },
    halfOpenProbes: 2,
  });
  const api = ky.create({ retry: 0 }).extend(breakers.kyOptions);
  await rejection(api.get(`${upstream.url}/fail`));
  time.advance(5_000);

  const controller = new AbortController();
  const hanging = rejection(api.get(`${upstream.url}/hang`, { signal: controller.signal }));
  await until(() => upstream.counters('/hang').inFlight === 1);
  assert.equal((await api.get(`${upstream.url}/ok`)).status, 200, 'the second probe succeeds');
  assert.equal(breakers.state(upstream.origin), 'half-open', 'one probe is still out');
  controller.abort();
  await hanging;
  assert.equal(breakers.state(upstream.origin), 'half-open', 'the abort decided nothing');
  assert.equal(
    breakers.describe(upstream.origin)?.probesInFlight,
    1,
    'one slot taken (the success), one free',
  );

  // The next caller takes the free slot; its failure re-opens the circuit for a longer period.
  const error = await rejection(api.get(`${upstream.url}/fail`));
  assert.ok(!isCircuitOpenError(error), 'the takeover reached the upstream');
  assert.equal(breakers.state(upstream.origin), 'open');
  const info = breakers.describe(upstream.origin);
  assert.equal((info?.nextProbeAt ?? 0) - (info?.openedAt ?? 0), 10_000);
  assert.deepEqual(changes.list, [
    'closed>open:failures',
    'open>half-open:probe-due',
    'half-open>open:probe-failed',
  ]);

  // Next round: both probes succeed and the circuit closes.
  time.advance(10_000);
  const [a, b, c] = await Promise.all([
    api.get(`${upstream.url}/ok`).then((r) => r.status),
    api.get(`${upstream.url}/ok`).then((r) => r.status),
    rejection(api.get(`${upstream.url}/ok`)),
  ]);
  assert.deepEqual([a, b], [200, 200]);
  assert.ok(isCircuitOpenError(c) && c.state === 'half-open');
  assert.equal(breakers.state(upstream.origin), 'closed');
});

test('a failed probe re-opens at once; the outcome of the other probe in flight is ignored', async (t) => {
  const upstream = closeAfter(
    t,
    await startUpstream({
      routes: {
        '/fail': { steps: [{ status: 503 }] },
        '/slow': { steps: [{ status: 200, delayHeadersMs: 150 }] },
      },
    }),
  );
  const { time, changes, breakers } = observedBreakers({
    policy: { kind: 'consecutive', failures: 1 },
    halfOpenProbes: 2,
  });
  const api = ky.create({ retry: 0 }).extend(breakers.kyOptions);
  await rejection(api.get(`${upstream.url}/fail`));
  time.advance(5_000);
  const slow = api.get(`${upstream.url}/slow`);
  await until(() => upstream.counters('/slow').inFlight === 1);
  await rejection(api.get(`${upstream.url}/fail`));
  assert.equal(breakers.state(upstream.origin), 'open');
  assert.equal((await slow).status, 200, 'the caller still gets its response');
  assert.equal(breakers.state(upstream.origin), 'open', 'the late success did not close it');
  assert.deepEqual(changes.list, [
    'closed>open:failures',
    'open>half-open:probe-due',
    'half-open>open:probe-failed',
  ]);
});
