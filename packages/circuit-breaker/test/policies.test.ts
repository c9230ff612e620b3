import assert from 'node:assert/strict';
import { test } from 'node:test';
import { getRetryDecision, retryPlugin } from '@ky-resilience/retry';
import { blackholeServer, closedPort, startUpstream } from '@ky-resilience/testing';
import { timeoutPlugin } from '@ky-resilience/timeout';
import { IterableBackoff } from 'cockatiel';
import ky from 'ky';
import {
  circuitBreakerPlugin,
  isCircuitBreakerOptionsError,
  isCircuitOpenError,
  isCircuitSnapshotError,
  isFailureError,
  isFailureStatus,
} from '../src/index.ts';
import { closeAfter, fakeClock, observedBreakers, rejection } from './helpers.ts';

test('a low-traffic host with a window ratio policy opens on minimumCalls, and failures age out while it is idle', async (t) => {
  const upstream = closeAfter(t, await startUpstream({ routes: { '*': { steps: [{ status: 503 }] } } }));
  const time = fakeClock();
  const breakers = circuitBreakerPlugin({
    policy: { kind: 'window', threshold: 0.5, windowMs: 60_000, minimumCalls: 4 },
    clock: time.clock,
  });
  const api = ky.create({ retry: 0 }).extend(breakers.kyOptions);
  // Three failures, one every 10 s: not enough calls for a verdict.
  for (let i = 0; i < 3; i += 1) {
    await rejection(api.get(upstream.url));
    time.advance(10_000);
  }
  assert.equal(breakers.state(upstream.origin), 'closed');
  // A quiet hour: those failures leave the window, however long nothing happened.
  time.advance(3_600_000);
  for (let i = 0; i < 3; i += 1) {
    await rejection(api.get(upstream.url));
    time.advance(10_000);
  }
  assert.equal(breakers.state(upstream.origin), 'closed', 'three failures in the window, not six');
  await rejection(api.get(upstream.url));
  assert.equal(breakers.state(upstream.origin), 'open', 'the fourth failure in the window opens it');
  assert.equal(upstream.counters().requests, 7);
});

test('the window policy does not open below its ratio', async (t) => {
  const upstream = closeAfter(
    t,
    await startUpstream({
      routes: {
        '*': {
          steps: [
            { status: 200 },
            { status: 503 },
            { status: 200 },
            { status: 503 },
            { status: 200 },
            { status: 503 },
          ],
        },
      },
    }),
  );
  const time = fakeClock();
  const breakers = circuitBreakerPlugin({
    policy: { kind: 'window', threshold: 0.5, windowMs: 60_000, minimumCalls: 4 },
    clock: time.clock,
  });
  const api = ky.create({ retry: 0 }).extend(breakers.kyOptions);
  for (let i = 0; i < 6; i += 1) {
    await api.get(upstream.url, { throwHttpErrors: false });
    time.advance(1_000);
  }
  assert.equal(breakers.state(upstream.origin), 'closed', '50 % is not more than 50 %');
});

test('the default consecutive policy opens a host that gets one call a minute', async (t) => {
  const upstream = closeAfter(t, await startUpstream({ routes: { '*': { steps: [{ status: 500 }] } } }));
  const time = fakeClock();
  const breakers = circuitBreakerPlugin({ clock: time.clock });
  const api = ky.create({ retry: 0 }).extend(breakers.kyOptions);
  for (let i = 0; i < 5; i += 1) {
    assert.equal(breakers.state(upstream.origin), 'closed');
    await rejection(api.get(upstream.url));
    time.advance(60_000);
  }
  assert.equal(breakers.state(upstream.origin), 'open');
});

test('consecutive policy: a success resets the count; failures and the reset are in a snapshot', async (t) => {
  const upstream = closeAfter(t, await startUpstream());
  const breakers = circuitBreakerPlugin({ policy: { kind: 'consecutive', failures: 3 } });
  const api = ky.create({ retry: 0, throwHttpErrors: false }).extend(breakers.kyOptions);
  const call = async (status: number): Promise<void> => {
    upstream.route('*', { steps: [{ status }] });
    await api.get(upstream.url);
  };
  const counted = (): unknown =>
    (breakers.toJSON().hosts[0]?.policy as { breakerState?: unknown } | undefined)?.breakerState;
  await call(500);
  await call(500);
  assert.equal(counted(), 2, 'two failures in a row are counted');
  await call(200);
  assert.equal(counted(), 0, 'a success resets the count');
  await call(500);
  await call(500);
  await call(200);
  await call(200);
  assert.equal(counted(), 0);
  assert.equal(breakers.state(upstream.origin), 'closed', 'never three in a row');
  await call(500);
  await call(500);
  assert.equal(breakers.state(upstream.origin), 'closed');
  await call(500);
  assert.equal(
    breakers.state(upstream.origin),
    'open',
    'the third in a row opened it before the call returned',
  );
});

test('the count policy opens when more than threshold of the last size calls failed', async (t) => {
  const upstream = closeAfter(
    t,
    await startUpstream({
      routes: {
        '*': { steps: [{ status: 200 }, { status: 503 }, { status: 503 }, { status: 200 }, { status: 503 }] },
      },
    }),
  );
  const breakers = circuitBreakerPlugin({
    policy: { kind: 'count', threshold: 0.5, size: 4, minimumCalls: 4 },
  });
  const api = ky.create({ retry: 0 }).extend(breakers.kyOptions);
  for (let i = 0; i < 4; i += 1) await api.get(upstream.url, { throwHttpErrors: false });
  assert.equal(breakers.state(upstream.origin), 'closed', '2 of 4');
  await api.get(upstream.url, { throwHttpErrors: false });
  assert.equal(breakers.state(upstream.origin), 'open', '3 of the last 4');
});

test('slow calls count as failures (the caller still gets the response)', async (t) => {
  const upstream = closeAfter(t, await startUpstream());
  const { time, changes, breakers } = observedBreakers({
    policy: { kind: 'count', threshold: 0.5, size: 4, minimumCalls: 4 },
    slowCallMs: 1_000,
  });
  const slow = async (input: Request | string | URL, init?: RequestInit): Promise<Response> => {
    const response = await fetch(input, init);
    time.advance(1_000);
    return response;
  };
  const fast = ky.create({ retry: 0 }).extend(breakers.kyOptions);
  const slowApi = ky.create({ retry: 0, fetch: slow }).extend(breakers.kyOptions);
  await fast.get(upstream.url);
  assert.equal((await slowApi.get(upstream.url)).status, 200);
  await slowApi.get(upstream.url);
  await fast.get(upstream.url);
  assert.equal(breakers.state(upstream.origin), 'closed');
  await slowApi.get(upstream.url);
  assert.equal(breakers.state(upstream.origin), 'open');
  assert.deepEqual(changes.events[0]?.lastFailure, { kind: 'slow', status: 200, durationMs: 1_000 });
});

test('default classification: 5xx but 501 and 429 count; 501, 505 is a 5xx, other 4xx do not', async (t) => {
  const counted: number[] = [];
  for (const status of [500, 502, 503, 504, 505, 429, 501, 400, 404, 409, 200, 302]) {
    if (isFailureStatus(status)) counted.push(status);
  }
  assert.deepEqual(counted, [500, 502, 503, 504, 505, 429]);

  const upstream = closeAfter(t, await startUpstream());
  for (const [status, opens] of [
    [503, true],
    [429, true],
    [501, false],
    [404, false],
  ] as const) {
    upstream.route('*', { steps: [{ status }] });
    const breakers = circuitBreakerPlugin({ policy: { kind: 'consecutive', failures: 2 } });
    const api = ky.create({ retry: 0, throwHttpErrors: false }).extend(breakers.kyOptions);
    await api.get(upstream.url);
    await api.get(upstream.url);
    assert.equal(breakers.state(upstream.origin), opens ? 'open' : 'closed', `status ${status}`);
  }
});

test('network errors count: a refused connection', async () => {
  const port = await closedPort();
  const breakers = circuitBreakerPlugin({ policy: { kind: 'consecutive', failures: 2 } });
  const api = ky.create({ retry: 0 }).extend(breakers.kyOptions);
  const url = `http://127.0.0.1:${port}/`;
  await rejection(api.get(url));
  await rejection(api.get(url));
  assert.equal(breakers.state(`http://127.0.0.1:${port}`), 'open');
  const lastFailure = breakers.describe(`http://127.0.0.1:${port}`)?.lastFailure;
  assert.equal(lastFailure?.kind, 'error');
});

test('attempt and headers timeouts of @ky-resilience/timeout count (the breaker wraps the timeouts)', async (t) => {
  const hole = closeAfter(t, await blackholeServer());
  const breakers = circuitBreakerPlugin({ policy: { kind: 'consecutive', failures: 2 } });
  const api = ky
    .create({ retry: 0 })
    .extend(timeoutPlugin({ headers: 30, attempt: 60 }))
    .extend(breakers.kyOptions);
  await rejection(api.get(hole.url));
  await rejection(api.get(hole.url));
  assert.equal(breakers.state(new URL(hole.url).origin), 'open');
  const lastFailure = breakers.describe(new URL(hole.url).origin)?.lastFailure;
  assert.equal(lastFailure?.kind === 'error' && (lastFailure.error as { phase?: string }).phase, 'headers');
  const error = await rejection(api.get(hole.url));
  assert.ok(isCircuitOpenError(error));
});

test('isFailureError: client-side codes and codeless errors do not count', () => {
  assert.equal(
    isFailureError(
      new TypeError('fetch failed', { cause: Object.assign(new Error('x'), { code: 'ECONNRESET' }) }),
    ),
    true,
  );
  assert.equal(isFailureError(new TypeError('fetch failed')), true);
  assert.equal(isFailureError(new TypeError('terminated')), true);
  assert.equal(
    isFailureError(
      new TypeError('fetch failed', {
        cause: Object.assign(new Error('blocked'), { code: 'ERR_KYR_BLOCKED_ADDRESS' }),
      }),
    ),
    false,
  );
  assert.equal(isFailureError(Object.assign(new Error('bad'), { code: 'ERR_INVALID_URL' })), false);
  assert.equal(isFailureError(new Error('a bug in a hook')), false);
  assert.equal(isFailureError(new DOMException('aborted', 'AbortError')), false);
});

test('isFailure decides, undefined falls back to the default; errors it does not count are neutral', async (t) => {
  const upstream = closeAfter(t, await startUpstream({ routes: { '*': { steps: [{ status: 404 }] } } }));
  const breakers = circuitBreakerPlugin({
    policy: { kind: 'consecutive', failures: 2 },
    isFailure: (outcome) =>
      outcome.type === 'response' && outcome.response.status === 404 ? true : undefined,
  });
  const api = ky.create({ retry: 0, throwHttpErrors: false }).extend(breakers.kyOptions);
  await api.get(upstream.url);
  await api.get(upstream.url);
  assert.equal(breakers.state(upstream.origin), 'open');
});

test('the retry plugin does not retry a CircuitOpenError against the same host', async (t) => {
  const upstream = closeAfter(t, await startUpstream({ routes: { '*': { steps: [{ status: 503 }] } } }));
  const breakers = circuitBreakerPlugin({ policy: { kind: 'consecutive', failures: 1 } });
  const api = ky.extend(retryPlugin({ limit: 3, random: () => 0, budget: false })).extend(breakers.kyOptions);
  // The 503 opens the breaker; the retry meets the open breaker and stops there.
  const first = await rejection(api.get(upstream.url));
  assert.ok(isCircuitOpenError(first));
  assert.equal(getRetryDecision(first)?.reason, 'error-not-retryable');
  const served = upstream.counters().requests;
  assert.equal(served, 1, 'the retries met the open breaker and stopped');
  // Extended after the retry plugin, the breakers' fetch wraps the retry tier's: the open breaker refuses
  // the next call before any attempt of the retry tier, which reports it as such.
  const error = await rejection(api.get(upstream.url));
  assert.ok(isCircuitOpenError(error));
  assert.equal(getRetryDecision(error)?.reason, 'not-attempted');
  assert.equal(upstream.counters().requests, served);
});

test('listener exceptions never disturb the breaker', async (t) => {
  const upstream = closeAfter(t, await startUpstream({ routes: { '*': { steps: [{ status: 503 }] } } }));
  // Listener exceptions are rethrown from a microtask: capture those microtasks here.
  const thrown: unknown[] = [];
  const original = globalThis.queueMicrotask;
  globalThis.queueMicrotask = (callback) => {
    try {
      callback();
    } catch (error) {
      thrown.push(error);
    }
  };
  t.after(() => {
    globalThis.queueMicrotask = original;
  });
  const breakers = circuitBreakerPlugin({
    policy: { kind: 'consecutive', failures: 1 },
    onStateChange: () => {
      throw new Error('listener bug');
    },
    onRejected: () => {
      throw new Error('listener bug 2');
    },
  });
  const api = ky.create({ retry: 0 }).extend(breakers.kyOptions);
  await rejection(api.get(upstream.url));
  assert.equal(breakers.state(upstream.origin), 'open');
  assert.ok(isCircuitOpenError(await rejection(api.get(upstream.url))));
  globalThis.queueMicrotask = original;
  assert.deepEqual(
    thrown.map((e) => (e as Error).message),
    ['listener bug', 'listener bug 2'],
  );
});

test('bad options throw a CircuitBreakerOptionsError naming the option and the value', () => {
  const cases: [unknown, string][] = [
    ['x', 'options'],
    [{ nope: 1 }, 'nope'],
    [{ policy: { kind: 'sampling' } }, 'policy.kind'],
    [{ policy: { kind: 'consecutive', failures: 0 } }, 'policy.failures'],
    [{ policy: { kind: 'consecutive', threshold: 0.5 } }, 'policy.threshold'],
    [{ policy: { kind: 'count', threshold: 1 } }, 'policy.threshold'],
    [{ policy: { kind: 'count', size: 4, minimumCalls: 5 } }, 'policy.minimumCalls'],
    [{ policy: { kind: 'window', windowMs: 0 } }, 'policy.windowMs'],
    [{ policy: { kind: 'window', buckets: 1.5 } }, 'policy.buckets'],
    [{ halfOpenAfter: -1 }, 'halfOpenAfter'],
    [{ halfOpenAfter: {} }, 'halfOpenAfter'],
    // A backoff with no first duration would never let a probe through.
    [{ halfOpenAfter: new IterableBackoff([]) }, 'halfOpenAfter'],
    [{ halfOpenAfter: new IterableBackoff([Number.NaN]) }, 'halfOpenAfter'],
    [
      {
        halfOpenAfter: {
          next() {
            throw new Error('broken');
          },
        },
      },
      'halfOpenAfter',
    ],
    [{ halfOpenProbes: 0 }, 'halfOpenProbes'],
    [{ slowCallMs: Number.NaN }, 'slowCallMs'],
    [{ slowCallMs: 0 }, 'slowCallMs'],
    [{ idleTtlMs: 0 }, 'idleTtlMs'],
    [{ maxHosts: 0 }, 'maxHosts'],
    [{ idleTtlMs: true }, 'idleTtlMs'],
    [{ clock: 5 }, 'clock'],
    [{ key: 'origin' }, 'key'],
    [{ onStateChange: 'log' }, 'onStateChange'],
  ];
  for (const [options, option] of cases) {
    try {
      circuitBreakerPlugin(options as never);
      assert.fail(`accepted ${JSON.stringify(options)}`);
    } catch (error) {
      assert.ok(isCircuitBreakerOptionsError(error), String(error));
      assert.equal(error.option, option);
    }
  }
});

test('a bad context override rejects the call with a CircuitBreakerOptionsError', async (t) => {
  const upstream = closeAfter(t, await startUpstream());
  const breakers = circuitBreakerPlugin();
  const api = ky.create({ retry: 0 }).extend(breakers.kyOptions);
  const error = await rejection(
    (async () =>
      api.get(upstream.url, { context: { '@ky-resilience/circuit-breaker': { bypass: 'yes' } } }))(),
  );
  assert.ok(isCircuitBreakerOptionsError(error));
  assert.equal(error.option, "context['@ky-resilience/circuit-breaker'].bypass");
  assert.equal(upstream.counters().requests, 0);
});

for (const [name, durations, expected] of [
  ['halfOpenAfter takes any cockatiel backoff factory', [100, 300], [100, 300, 300]],
  [
    'a later open period that is not a number keeps the last one, so the circuit still probes',
    [100, Number.NaN],
    [100, 100, 100],
  ],
] as const) {
  test(name, async (t) => {
    const upstream = closeAfter(t, await startUpstream({ routes: { '*': { steps: [{ status: 503 }] } } }));
    const time = fakeClock();
    const breakers = circuitBreakerPlugin({
      policy: { kind: 'consecutive', failures: 1 },
      halfOpenAfter: new IterableBackoff([...durations]),
      clock: time.clock,
    });
    const api = ky.create({ retry: 0 }).extend(breakers.kyOptions);
    const seen: number[] = [];
    await rejection(api.get(upstream.url));
    for (let i = 0; i < 3; i += 1) {
      const info = breakers.describe(upstream.origin);
      seen.push((info?.nextProbeAt ?? 0) - (info?.openedAt ?? 0));
      time.now = info?.nextProbeAt ?? 0;
      await rejection(api.get(upstream.url));
    }
    assert.deepEqual(seen, [...expected]);
    // Every probe reached the upstream: the call that opened the circuit, then 3 probes.
    assert.equal(upstream.counters().requests, 4);
  });
}

test('wrapFetch puts the breakers around a plain fetch (string URLs keyed by origin)', async (t) => {
  const upstream = closeAfter(t, await startUpstream({ routes: { '*': { steps: [{ status: 500 }] } } }));
  const breakers = circuitBreakerPlugin({ policy: { kind: 'consecutive', failures: 2 } });
  const guarded = breakers.wrapFetch((input, init) => fetch(input, init));
  assert.equal((await guarded(`${upstream.url}/a`)).status, 500);
  assert.equal((await guarded(new URL(`${upstream.url}/b`))).status, 500);
  const error = await rejection(guarded(`${upstream.url}/c`));
  assert.ok(isCircuitOpenError(error));
  assert.equal(error.host, upstream.origin);
  assert.equal(upstream.counters().requests, 2);
});

test('an exception in isFailure is reported and the default classification applies', async (t) => {
  const upstream = closeAfter(t, await startUpstream({ routes: { '*': { steps: [{ status: 503 }] } } }));
  const thrown: unknown[] = [];
  const original = globalThis.queueMicrotask;
  globalThis.queueMicrotask = (callback) => {
    try {
      callback();
    } catch (error) {
      thrown.push(error);
    }
  };
  t.after(() => {
    globalThis.queueMicrotask = original;
  });
  const breakers = circuitBreakerPlugin({
    policy: { kind: 'consecutive', failures: 1 },
    isFailure: () => {
      throw new Error('classifier bug');
    },
  });
  const api = ky.create({ retry: 0 }).extend(breakers.kyOptions);
  await rejection(api.get(upstream.url));
  globalThis.queueMicrotask = original;
  assert.equal(breakers.state(upstream.origin), 'open');
  assert.deepEqual(
    thrown.map((e) => (e as Error).message),
    ['classifier bug'],
  );
});

test('restore wraps cockatiel’s refusal of malformed saved counters in a CircuitSnapshotError', () => {
  const breakers = circuitBreakerPlugin({ policy: { kind: 'window' } });
  const snapshot = breakers.toJSON();
  const malformed = {
    ...snapshot,
    hosts: [
      { host: 'a', state: 'closed', policy: { ownState: { value: 0 }, breakerState: { buckets: [1, 2] } } },
    ],
  };
  let error: unknown;
  try {
    breakers.restore(malformed);
  } catch (e) {
    error = e;
  }
  assert.ok(isCircuitSnapshotError(error));
  assert.equal(error.path, 'hosts[0].policy');
  assert.ok(error.cause instanceof TypeError);
  assert.equal(breakers.size, 0);
});

test('restore refuses saved counters the consecutive and count breakers would take and then never open on', async () => {
  const cases = [
    { policy: { kind: 'consecutive', failures: 3 }, breakerState: 'x', path: '' },
    { policy: { kind: 'consecutive', failures: 3 }, breakerState: undefined, path: '' },
    { policy: { kind: 'consecutive', failures: 3 }, breakerState: 1.5, path: '' },
    {
      policy: { kind: 'count', size: 4, minimumCalls: 2 },
      breakerState: { samples: [false], currentSample: 0, successes: 0, failures: 1 },
      path: '.samples',
    },
    {
      policy: { kind: 'count', size: 4, minimumCalls: 2 },
      breakerState: { samples: [null, null, null, null], currentSample: 4, successes: 0, failures: 0 },
      path: '.currentSample',
    },
    {
      policy: { kind: 'count', size: 4, minimumCalls: 2 },
      breakerState: { samples: [false, false, null, null], currentSample: 2, successes: 0, failures: 0 },
      path: '',
    },
  ] as const;
  for (const { policy, breakerState, path } of cases) {
    const breakers = circuitBreakerPlugin({ policy });
    const saved = {
      ...breakers.toJSON(),
      hosts: [{ host: 'http://a.test', state: 'closed', policy: { ownState: { value: 0 }, breakerState } }],
    };
    let error: unknown;
    try {
      breakers.restore(saved);
    } catch (e) {
      error = e;
    }
    const label = `${policy.kind} ${JSON.stringify(breakerState)}`;
    assert.ok(isCircuitSnapshotError(error), label);
    assert.equal(error.path, `hosts[0].policy.breakerState${path}`, label);
    assert.equal(breakers.size, 0, label);
  }
  // Well-formed counters of both policies still restore, and keep counting toward the threshold.
  const consecutive = circuitBreakerPlugin({ policy: { kind: 'consecutive', failures: 3 } });
  const failing = consecutive.wrapFetch(async () => new Response('down', { status: 503 }));
  await failing('http://a.test/');
  await failing('http://a.test/');
  const restoredConsecutive = circuitBreakerPlugin({ policy: { kind: 'consecutive', failures: 3 } });
  restoredConsecutive.restore(JSON.parse(JSON.stringify(consecutive.toJSON())));
  await restoredConsecutive.wrapFetch(async () => new Response('down', { status: 503 }))('http://a.test/');
  assert.equal(restoredConsecutive.state('http://a.test'), 'open');
  const count = circuitBreakerPlugin({ policy: { kind: 'count', size: 4, minimumCalls: 2 } });
  await count.wrapFetch(async () => new Response('down', { status: 503 }))('http://a.test/');
  const restoredCount = circuitBreakerPlugin({ policy: { kind: 'count', size: 4, minimumCalls: 2 } });
  restoredCount.restore(JSON.parse(JSON.stringify(count.toJSON())));
  await restoredCount.wrapFetch(async () => new Response('down', { status: 503 }))('http://a.test/');
  assert.equal(restoredCount.state('http://a.test'), 'open');
});
