import assert from 'node:assert/strict';
import { test } from 'node:test';
import { startUpstream } from '@ky-resilience/testing';
import ky from 'ky';
import { circuitBreakerPlugin, isCircuitSnapshotError } from '../src/index.ts';
import { closeAfter, fakeClock, rejection, until } from './helpers.ts';

test('a breaker saved half-open and restored re-opens after a failed probe for the same period as the original', async (t) => {
  const upstream = closeAfter(
    t,
    await startUpstream({
      routes: {
        '/fail': { steps: [{ status: 503 }] },
        '/hang': { steps: [{ status: 200, delayHeadersMs: 10_000 }] },
      },
    }),
  );
  const time = fakeClock();
  const options = { policy: { kind: 'consecutive', failures: 1 }, clock: time.clock } as const;
  const first = circuitBreakerPlugin(options);
  const api = ky.create({ retry: 0 }).extend(first.kyOptions);
  await rejection(api.get(`${upstream.url}/fail`)); // opens for 5 s (first duration)
  time.advance(5_000);
  const controller = new AbortController();
  const probe = rejection(api.get(`${upstream.url}/hang`, { signal: controller.signal }));
  await until(() => upstream.counters('/hang').inFlight === 1);
  assert.equal(first.state(upstream.origin), 'half-open');
  const snapshot = JSON.parse(JSON.stringify(first.toJSON()));

  // Reference: the original breaker's probe is aborted (decides nothing), the next call takes
  // the slot over and fails: re-opened for the backoff's second duration.
  controller.abort();
  await probe;
  assert.equal(first.state(upstream.origin), 'half-open');
  await rejection(api.get(`${upstream.url}/fail`));
  const original = first.describe(upstream.origin);
  assert.equal(original?.state, 'open');
  const originalPeriod = (original?.nextProbeAt ?? 0) - (original?.openedAt ?? 0);
  assert.equal(originalPeriod, 10_000, 'the original re-opens for 10 s');
  assert.equal(original?.opens, 2);

  // Restored: same half-open breaker, same failing probe.
  const restored = circuitBreakerPlugin(options);
  restored.restore(snapshot);
  const opensWhenRestored = restored.describe(upstream.origin)?.opens;
  const api2 = ky.create({ retry: 0 }).extend(restored.kyOptions);
  await rejection(api2.get(`${upstream.url}/fail`)); // the probe due at once fails
  const info = restored.describe(upstream.origin);
  assert.equal(info?.state, 'open');
  assert.equal(
    (info?.nextProbeAt ?? 0) - (info?.openedAt ?? 0),
    originalPeriod,
    'the restored breaker skipped a step of the backoff',
  );
  assert.equal(opensWhenRestored, 1, 'it had opened once when saved');
});

test('toJSON leaves out breakers that have expired (state() already reports them closed)', async (t) => {
  const upstream = closeAfter(t, await startUpstream({ routes: { '*': { steps: [{ status: 503 }] } } }));
  const time = fakeClock();
  const options = {
    policy: { kind: 'consecutive', failures: 1 },
    halfOpenAfter: 1_000,
    idleTtlMs: 60_000,
    clock: time.clock,
  } as const;
  const first = circuitBreakerPlugin(options);
  const api = ky.create({ retry: 0 }).extend(first.kyOptions);
  await rejection(api.get(upstream.url));
  assert.equal(first.state(upstream.origin), 'open');
  time.advance(60_001);
  assert.equal(first.state(upstream.origin), 'closed', 'expired: the registry forgot it');
  assert.equal(first.describe(upstream.origin), undefined);

  const snapshot = first.toJSON();
  const second = circuitBreakerPlugin(options);
  second.restore(JSON.parse(JSON.stringify(snapshot)));
  assert.deepEqual(
    snapshot.hosts.map((h) => `${h.host}:${h.state}`),
    [],
    'the snapshot carries a breaker the registry itself no longer has',
  );
  assert.equal(second.state(upstream.origin), 'closed', 'restore resurrected an expired breaker');
});

test('restore after time moved on: counters of a breaker idle for longer than idleTtlMs are not revived', async (t) => {
  const upstream = closeAfter(t, await startUpstream({ routes: { '*': { steps: [{ status: 503 }] } } }));
  const time = fakeClock();
  const options = {
    policy: { kind: 'consecutive', failures: 5 },
    idleTtlMs: 600_000,
    clock: time.clock,
  } as const;
  const live = circuitBreakerPlugin(options);
  const api = ky.create({ retry: 0 }).extend(live.kyOptions);
  for (let i = 0; i < 4; i += 1) await rejection(api.get(upstream.url));
  const snapshot = JSON.parse(JSON.stringify(live.toJSON()));

  // An hour later (six idle TTLs): the live registry has forgotten the four failures.
  time.advance(3_600_000);
  await rejection(api.get(upstream.url));
  assert.equal(live.state(upstream.origin), 'closed', 'live: one failure after the idle hour');

  // A cold start an hour later restores the snapshot: the same single failure now opens it.
  const restored = circuitBreakerPlugin(options);
  restored.restore(snapshot);
  const api2 = ky.create({ retry: 0 }).extend(restored.kyOptions);
  await rejection(api2.get(upstream.url));
  assert.equal(
    restored.state(upstream.origin),
    live.state(upstream.origin),
    'the restored registry counts failures from an hour ago that the live one had expired',
  );
});

test('restore refuses a saved cockatiel state that toJSON never writes (half-open, or open without an attempt number)', () => {
  const breakers = circuitBreakerPlugin({ policy: { kind: 'consecutive', failures: 1 } });
  for (const [ownState, path] of [
    [{ value: 2, attemptNo: 1 }, 'hosts[0].policy.ownState.value'],
    [{ value: 1, openedAt: 0 }, 'hosts[0].policy.ownState.attemptNo'],
    [{ value: 1, openedAt: 0, attemptNo: 0 }, 'hosts[0].policy.ownState.attemptNo'],
    [undefined, 'hosts[0].policy.ownState'],
  ] as const) {
    const snapshot = {
      ...breakers.toJSON(),
      hosts: [{ host: 'http://a.test', state: 'half-open', policy: { ownState, breakerState: 0 } }],
    };
    assert.throws(
      () => breakers.restore(snapshot),
      (e: unknown) => isCircuitSnapshotError(e) && e.path === path,
      JSON.stringify(ownState),
    );
  }
  assert.equal(breakers.size, 0);
});
