import assert from 'node:assert/strict';
import { test } from 'node:test';
import { startUpstream } from '@ky-resilience/testing';
import { timeoutPlugin } from '@ky-resilience/timeout';
import ky from 'ky';
import { circuitBreakerPlugin, isCircuitOpenError, isCircuitSnapshotError } from '../src/index.ts';
import { closeAfter, fakeClock, recordChanges, rejection, until } from './helpers.ts';

test('10 000 distinct host keys keep the registry at its bound', async (t) => {
  const upstream = closeAfter(t, await startUpstream());
  const breakers = circuitBreakerPlugin({
    maxHosts: 100,
    key: (request) => new URL(request.url).searchParams.get('k') ?? 'none',
  });
  const api = ky.create({ retry: 0 }).extend(breakers.kyOptions);
  let peak = 0;
  const total = 10_000;
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < total) {
      const k = next;
      next += 1;
      await api.get(`${upstream.url}?k=${k}`);
      peak = Math.max(peak, breakers.size);
    }
  };
  await Promise.all(Array.from({ length: 16 }, worker));
  assert.equal(upstream.counters().requests, total);
  assert.ok(peak <= 100, `peak ${peak}`);
  assert.equal(breakers.size, 100);
  assert.equal(breakers.stats().evicted, total - 100);
  assert.equal(breakers.state('9999'), 'closed');
  assert.ok(breakers.describe('9999') !== undefined, 'the latest keys are kept');
  assert.equal(breakers.describe('0'), undefined, 'the oldest were evicted');
});

test('eviction with requests in flight: the old breaker’s late outcome touches neither the new breaker nor the events', async (t) => {
  const upstream = closeAfter(
    t,
    await startUpstream({ routes: { '/slow': { steps: [{ status: 503, delayHeadersMs: 2_000 }] } } }),
  );
  const changes = recordChanges();
  const breakers = circuitBreakerPlugin({
    maxHosts: 1,
    policy: { kind: 'consecutive', failures: 1 },
    key: (request) => new URL(request.url).searchParams.get('k') ?? 'none',
    onStateChange: changes.listener,
  });
  const api = ky.create({ retry: 0 }).extend(breakers.kyOptions);
  const inFlight = rejection(api.get(`${upstream.url}/slow?k=a`));
  await until(() => upstream.counters('/slow').inFlight === 1);
  await api.get(`${upstream.url}/ok?k=b`); // evicts a's breaker
  assert.equal(breakers.stats().evicted, 1);
  assert.equal(breakers.describe('a'), undefined);
  await api.get(`${upstream.url}/ok?k=a`); // a new breaker for a (evicts b)
  const error = await inFlight;
  assert.equal(
    (error as { response?: Response }).response?.status,
    503,
    'the caller still gets its response',
  );
  assert.equal(breakers.state('a'), 'closed', 'the late 503 did not count in the new breaker');
  assert.deepEqual(changes.list, [], 'the detached breaker emitted nothing');
  assert.equal((await api.get(`${upstream.url}/ok?k=a`)).status, 200);
});

test('idle breakers expire after idleTtlMs on the injected clock', async (t) => {
  const upstream = closeAfter(t, await startUpstream({ routes: { '*': { steps: [{ status: 503 }] } } }));
  const time = fakeClock();
  const breakers = circuitBreakerPlugin({
    policy: { kind: 'consecutive', failures: 1 },
    halfOpenAfter: 1_000,
    idleTtlMs: 60_000,
    clock: time.clock,
  });
  const api = ky.create({ retry: 0 }).extend(breakers.kyOptions);
  await rejection(api.get(upstream.url));
  assert.equal(breakers.state(upstream.origin), 'open');
  time.advance(60_001);
  assert.equal(breakers.state(upstream.origin), 'closed');
  assert.equal(breakers.size, 0);
  assert.equal(breakers.stats().expired, 1);
});

test('isolate(host) rejects every call without touching the network until reset(host); isolation survives eviction pressure', async (t) => {
  const upstream = closeAfter(t, await startUpstream());
  const changes = recordChanges();
  const breakers = circuitBreakerPlugin({
    maxHosts: 2,
    key: (request) => new URL(request.url).searchParams.get('k') ?? upstream.origin,
    onStateChange: changes.listener,
  });
  const api = ky.create({ retry: 0 }).extend(breakers.kyOptions);
  breakers.isolate(upstream.origin);
  assert.equal(breakers.state(upstream.origin), 'isolated');
  for (let k = 0; k < 5; k += 1) await api.get(`${upstream.url}?k=${k}`);
  const error = await rejection(api.get(upstream.url));
  assert.ok(isCircuitOpenError(error));
  assert.equal(error.state, 'isolated');
  assert.equal(error.nextProbeAt, undefined);
  assert.equal(upstream.counters().requests, 5);
  breakers.reset(upstream.origin);
  assert.equal(breakers.state(upstream.origin), 'closed');
  assert.equal((await api.get(upstream.url)).status, 200);
  assert.deepEqual(changes.list, ['closed>isolated:isolated', 'isolated>closed:reset']);
});

test('reset(host) closes an open circuit with fresh counters', async (t) => {
  const upstream = closeAfter(t, await startUpstream({ routes: { '*': { steps: [{ status: 503 }] } } }));
  const breakers = circuitBreakerPlugin({ policy: { kind: 'consecutive', failures: 2 } });
  const api = ky.create({ retry: 0 }).extend(breakers.kyOptions);
  await rejection(api.get(upstream.url));
  await rejection(api.get(upstream.url));
  assert.equal(breakers.state(upstream.origin), 'open');
  breakers.reset(upstream.origin);
  await rejection(api.get(upstream.url));
  assert.equal(breakers.state(upstream.origin), 'closed', 'one failure after the reset is not two');
  breakers.reset('https://unknown.example');
  assert.equal(breakers.size, 1);
});

test('the manual controls take the host as a URL too: a URL string with a path or a trailing slash, a URL object, a Request', async (t) => {
  const upstream = closeAfter(t, await startUpstream({ routes: { '/down': { steps: [{ status: 503 }] } } }));
  const breakers = circuitBreakerPlugin({ policy: { kind: 'consecutive', failures: 1 } });
  const api = ky.create({ retry: 0 }).extend(breakers.kyOptions);
  await rejection(api.get(`${upstream.url}/down`));
  const forms = [
    upstream.origin,
    `${upstream.origin}/`,
    `${upstream.origin}/down?x=1`,
    upstream.origin.replace('http:', 'HTTP:'),
    new URL(upstream.origin),
    new Request(`${upstream.url}/other`),
  ];
  for (const form of forms) {
    assert.equal(breakers.state(form), 'open', String(form));
    assert.equal(breakers.describe(form)?.host, upstream.origin, String(form));
  }
  // isolate() of a URL with a trailing slash (a ky baseUrl) holds the host's own breaker.
  breakers.isolate(`${upstream.origin}/`);
  assert.equal(breakers.size, 1);
  assert.equal(breakers.state(upstream.origin), 'isolated');
  breakers.reset(new URL(`${upstream.origin}/down`));
  assert.equal(breakers.state(upstream.origin), 'closed');
  assert.equal((await api.get(`${upstream.url}/ok`)).status, 200);
  // A key that is not a URL, and a URL that is a per-call key of its own, are taken as they are.
  const call = (key: string) =>
    api.get(`${upstream.url}/down`, { context: { '@ky-resilience/circuit-breaker': { key } } });
  await rejection(call('payments'));
  await rejection(call(`${upstream.origin}/v2`));
  assert.equal(breakers.state('payments'), 'open');
  assert.equal(breakers.state(`${upstream.origin}/v2`), 'open');
  assert.equal(breakers.state(upstream.origin), 'closed');
});

test('with a key option, a string is the key itself and a URL is keyed by key(request)', () => {
  const breakers = circuitBreakerPlugin({ key: (request) => new URL(request.url).hostname });
  breakers.isolate(new URL('https://api.example/items'));
  assert.equal(breakers.state('api.example'), 'isolated');
  assert.equal(breakers.state('https://api.example/'), 'closed');
  breakers.isolate('https://api.example/');
  assert.equal(breakers.state('https://api.example/'), 'isolated');
  assert.equal(breakers.size, 2);
});

test('toJSON and restore carry open, isolated and closed breakers (with counters) to a new registry', async (t) => {
  const upstream = closeAfter(t, await startUpstream({ routes: { '*': { steps: [{ status: 503 }] } } }));
  const time = fakeClock();
  const options = {
    policy: { kind: 'consecutive', failures: 2 },
    key: (request: Request) => new URL(request.url).searchParams.get('k') ?? 'none',
  } as const;
  const first = circuitBreakerPlugin({ ...options, clock: time.clock });
  const api = ky.create({ retry: 0 }).extend(first.kyOptions);
  await rejection(api.get(`${upstream.url}?k=open`));
  await rejection(api.get(`${upstream.url}?k=open`));
  await rejection(api.get(`${upstream.url}?k=one-failure`));
  first.isolate('held');
  const openInfo = first.describe('open');
  const snapshot = JSON.parse(JSON.stringify(first.toJSON()));

  time.advance(1_000);
  const changes = recordChanges();
  const second = circuitBreakerPlugin({ ...options, clock: time.clock, onStateChange: changes.listener });
  second.restore(snapshot);
  assert.equal(second.state('open'), 'open');
  assert.equal(second.state('held'), 'isolated');
  assert.equal(second.state('one-failure'), 'closed');
  assert.equal(second.describe('open')?.nextProbeAt, openInfo?.nextProbeAt, 'the open period carries over');
  assert.deepEqual(changes.list.sort(), ['closed>isolated:restored', 'closed>open:restored']);

  const api2 = ky.create({ retry: 0 }).extend(second.kyOptions);
  const served = upstream.counters().requests;
  assert.ok(isCircuitOpenError(await rejection(api2.get(`${upstream.url}?k=open`))));
  assert.ok(isCircuitOpenError(await rejection(api2.get(`${upstream.url}?k=held`))));
  await rejection(api2.get(`${upstream.url}?k=one-failure`));
  assert.equal(second.state('one-failure'), 'open', 'the saved failure count carried over');
  assert.equal(upstream.counters().requests, served + 1);

  time.advance(4_000);
  await rejection(api2.get(`${upstream.url}?k=open`));
  assert.equal(upstream.counters().requests, served + 2, 'the probe went out when the saved period ended');
});

test('a half-open breaker restores as open with its probe due', async (t) => {
  const upstream = closeAfter(
    t,
    await startUpstream({
      routes: { '*': { steps: [{ status: 503 }, { status: 200, delayHeadersMs: 5_000 }] } },
    }),
  );
  const time = fakeClock();
  const first = circuitBreakerPlugin({ policy: { kind: 'consecutive', failures: 1 }, clock: time.clock });
  const api = ky.create({ retry: 0 }).extend(first.kyOptions);
  await rejection(api.get(upstream.url));
  time.advance(5_000);
  const controller = new AbortController();
  const probe = rejection(api.get(upstream.url, { signal: controller.signal }));
  await until(() => upstream.counters().inFlight === 1);
  assert.equal(first.state(upstream.origin), 'half-open');
  const snapshot = first.toJSON();
  controller.abort();
  await probe;
  const second = circuitBreakerPlugin({ policy: { kind: 'consecutive', failures: 1 }, clock: time.clock });
  second.restore(snapshot);
  assert.equal(second.state(upstream.origin), 'open');
  assert.ok((second.describe(upstream.origin)?.nextProbeAt ?? Number.POSITIVE_INFINITY) <= time.now);
});

test('restore refuses what is not a snapshot of this version and policy', () => {
  const breakers = circuitBreakerPlugin();
  const good = breakers.toJSON();
  for (const [bad, path] of [
    [null, '(root)'],
    [{ ...good, version: 2 }, 'version'],
    [{ ...good, policy: '{"kind":"count"}' }, 'policy'],
    [{ ...good, hosts: 'x' }, 'hosts'],
    [{ ...good, hosts: [{ host: '', state: 'open', policy: {} }] }, 'hosts[0].host'],
    [{ ...good, hosts: [{ host: 'a', state: 'ajar', policy: {} }] }, 'hosts[0].state'],
    [
      { ...good, hosts: [{ host: 'a', state: 'open', nextProbeAt: 'soon', policy: {} }] },
      'hosts[0].nextProbeAt',
    ],
  ] as const) {
    const error = (() => {
      try {
        breakers.restore(bad);
      } catch (e) {
        return e;
      }
      return undefined;
    })();
    assert.ok(isCircuitSnapshotError(error), `refused ${JSON.stringify(bad)}`);
    assert.equal(error.path, path);
  }
  assert.equal(breakers.size, 0);
});

test('two ky instances extended with one registry share its breakers', async (t) => {
  const upstream = closeAfter(t, await startUpstream({ routes: { '*': { steps: [{ status: 503 }] } } }));
  const breakers = circuitBreakerPlugin({ policy: { kind: 'consecutive', failures: 2 } });
  const a = ky.create({ retry: 0 }).extend(breakers.kyOptions);
  const b = ky.create({ retry: 0, headers: { 'x-client': 'b' } }).extend(breakers.kyOptions);
  await rejection(a.get(upstream.url));
  await rejection(b.get(upstream.url));
  assert.ok(isCircuitOpenError(await rejection(a.get(upstream.url))));
  assert.ok(isCircuitOpenError(await rejection(b.get(upstream.url))));
  assert.equal(upstream.counters().requests, 2);
});

test('context overrides: bypass skips the breaker, key groups calls', async (t) => {
  const upstream = closeAfter(t, await startUpstream({ routes: { '*': { steps: [{ status: 503 }] } } }));
  const breakers = circuitBreakerPlugin({ policy: { kind: 'consecutive', failures: 1 } });
  const api = ky.create({ retry: 0 }).extend(breakers.kyOptions);
  await rejection(api.get(upstream.url, { context: { '@ky-resilience/circuit-breaker': { key: 'group' } } }));
  assert.equal(breakers.state('group'), 'open');
  assert.equal(breakers.state(upstream.origin), 'closed');
  breakers.isolate(upstream.origin);
  await rejection(api.get(upstream.url, { context: { '@ky-resilience/circuit-breaker': { bypass: true } } }));
  assert.equal(upstream.counters().requests, 2, 'the bypassed call reached the upstream');
});

test('the same kyOptions installed twice on a ky chain guards each attempt once: failures count once, probes reach the host', async (t) => {
  const upstream = closeAfter(t, await startUpstream());
  for (const between of [false, true]) {
    upstream.route('/x', { steps: [{ status: 503 }, { status: 503 }, { status: 503 }, { status: 200 }] });
    const time = fakeClock();
    const changes = recordChanges();
    const breakers = circuitBreakerPlugin({
      policy: { kind: 'consecutive', failures: 3 },
      clock: time.clock,
      onStateChange: changes.listener,
    });
    const base = ky.create({ retry: 0, throwHttpErrors: false }).extend(breakers.kyOptions);
    // A child instance extended with the same fragment again, right after it or with another plugin between.
    const api = (between ? base.extend(timeoutPlugin()) : base).extend(breakers.kyOptions);
    const before = upstream.counters('/x').requests;
    for (let i = 0; i < 2; i += 1) await api.get(`${upstream.url}/x`);
    assert.equal(breakers.state(upstream.origin), 'closed', 'two failures of three');
    await api.get(`${upstream.url}/x`);
    assert.equal(breakers.state(upstream.origin), 'open');
    time.advance(5_000);
    const probe = await api.get(`${upstream.url}/x`);
    assert.equal(probe.status, 200, 'the probe reached the host');
    assert.equal(breakers.state(upstream.origin), 'closed');
    assert.equal(upstream.counters('/x').requests - before, 4);
    assert.deepEqual(changes.list, [
      'closed>open:failures',
      'open>half-open:probe-due',
      'half-open>closed:probes-succeeded',
    ]);
  }
});
