import assert from 'node:assert/strict';
import { test } from 'node:test';
import { startUpstream } from '@ky-resilience/testing';
import ky from 'ky';
import {
  createHostLimiter,
  defaultHostLimiterOptions,
  HostLimiterOptionsError,
  hostLimiterPlugin,
  isHostLimiterOptionsError,
} from '../src/index.ts';
import { closeAfter, rejection } from './helpers.ts';

function refused(options: unknown): HostLimiterOptionsError {
  try {
    createHostLimiter(options as never);
  } catch (error) {
    assert.ok(error instanceof HostLimiterOptionsError);
    assert.ok(isHostLimiterOptionsError(error));
    assert.equal(error.code, 'ERR_KYR_HOST_LIMITER_OPTIONS');
    return error;
  }
  throw new Error(`accepted ${JSON.stringify(options)}`);
}

test('bad options throw a HostLimiterOptionsError naming the option and the value', () => {
  const cases: Array<[unknown, string, unknown]> = [
    [{ concurrency: 0 }, 'concurrency', 0],
    [{ concurrency: 1.5 }, 'concurrency', 1.5],
    [{ concurrency: '5' }, 'concurrency', '5'],
    [{ concurrency: 200 }, 'concurrency', 200],
    [{ globalConcurrency: -1 }, 'globalConcurrency', -1],
    [{ globalConcurrency: Number.NaN }, 'globalConcurrency', Number.NaN],
    [{ maxQueue: -1 }, 'maxQueue', -1],
    [{ maxQueueTotal: -1 }, 'maxQueueTotal', -1],
    [{ maxQueueTotal: 2.5 }, 'maxQueueTotal', 2.5],
    [{ maxQueueTotal: '500' }, 'maxQueueTotal', '500'],
    [{ maxQueueTotal: 999 }, 'maxQueueTotal', 999],
    [{ maxQueue: 100, maxQueueTotal: 50 }, 'maxQueueTotal', 50],
    [{ maxQueue: Number.POSITIVE_INFINITY, maxQueueTotal: 50_000 }, 'maxQueueTotal', 50_000],
    [{ queueTimeout: -5 }, 'queueTimeout', -5],
    [{ queueTimeout: true }, 'queueTimeout', true],
    [{ queueTimeout: 2 ** 31 }, 'queueTimeout', 2 ** 31],
    [{ rate: 0 }, 'rate', 0],
    [{ rate: Number.POSITIVE_INFINITY }, 'rate', Number.POSITIVE_INFINITY],
    [{ burst: 3 }, 'burst', 3],
    [{ rate: 5, burst: 0 }, 'burst', 0],
    [{ maxPause: -1 }, 'maxPause', -1],
    [{ pauseStatuses: [429, 'x'] }, 'pauseStatuses', [429, 'x']],
    [{ pauseStatuses: 429 }, 'pauseStatuses', 429],
    [{ maxHosts: 0 }, 'maxHosts', 0],
    [{ maxHosts: Number.POSITIVE_INFINITY }, 'maxHosts', Number.POSITIVE_INFINITY],
    [{ hostTtl: 0 }, 'hostTtl', 0],
    [{ key: 'origin' }, 'key', 'origin'],
    [{ clock: 5 }, 'clock', 5],
    [{ timers: { setTimeout } }, 'timers', { setTimeout }],
    [{ concurrencyPerHost: 5 }, 'concurrencyPerHost', 5],
  ];
  for (const [options, option, value] of cases) {
    const error = refused(options);
    assert.equal(error.option, option, JSON.stringify(options));
    assert.deepEqual(error.value, value);
    assert.match(error.message, new RegExp(`\`${option}\``));
  }
  assert.equal(refused('fast').option, 'options');
  assert.equal(refused(null).option, 'options', 'null is not "no options"');
  assert.match(refused({ maxQueue: 100, maxQueueTotal: 50 }).message, /at least `maxQueue` \(100\)/);
});

test('defaults, Infinity and shrinking', () => {
  assert.equal(defaultHostLimiterOptions.concurrency, 10);
  assert.equal(defaultHostLimiterOptions.globalConcurrency, 100);
  assert.equal(defaultHostLimiterOptions.maxQueue, 1_000);
  assert.equal(defaultHostLimiterOptions.maxQueueTotal, 10_000);
  createHostLimiter({ maxQueue: 0, maxQueueTotal: 0 });
  createHostLimiter({ maxQueue: 50, maxQueueTotal: 50 });
  createHostLimiter({ maxQueue: Number.POSITIVE_INFINITY, maxQueueTotal: Number.POSITIVE_INFINITY });
  assert.equal(createHostLimiter().stats('x'), undefined);
  createHostLimiter({ concurrency: Number.POSITIVE_INFINITY, globalConcurrency: Number.POSITIVE_INFINITY });
  createHostLimiter({ maxQueue: 0, queueTimeout: false, maxPause: false, hostTtl: false, rate: 0.5 });
  const small = createHostLimiter({ globalConcurrency: 4 });
  small.pause('k', 0);
  assert.equal(small.stats('k')?.limit, 3, 'the default per-key limit shrinks to one below the global one');
  const one = createHostLimiter({ globalConcurrency: 1 });
  one.pause('k', 0);
  assert.equal(one.stats('k')?.limit, 1, 'at least 1');
  const big = createHostLimiter({ globalConcurrency: 50 });
  big.pause('k', 0);
  assert.equal(big.stats('k')?.limit, 10, 'the default 10 below a larger global cap');
  assert.equal(typeof hostLimiterPlugin().hooks?.init?.[0], 'function');
});

test('a bad per-request override rejects the ky call with a HostLimiterOptionsError', async (t) => {
  const upstream = closeAfter(t, await startUpstream());
  const api = ky.create({ retry: 0 }).extend(hostLimiterPlugin());
  const cases: Array<[unknown, string]> = [
    [{ queueTimeout: -1 }, "context['@ky-resilience/host-limiter'].queueTimeout"],
    [{ key: 5 }, "context['@ky-resilience/host-limiter'].key"],
    [{ priority: 1 }, "context['@ky-resilience/host-limiter'].priority"],
    ['fast', "context['@ky-resilience/host-limiter']"],
  ];
  for (const [override, option] of cases) {
    const error = await rejection(
      Promise.resolve().then(() =>
        api.get(upstream.url, { context: { '@ky-resilience/host-limiter': override } }),
      ),
    );
    assert.ok(isHostLimiterOptionsError(error), String(error));
    assert.equal(error.option, option);
  }
  assert.equal(upstream.counters().requests, 0);
});

test('keyOf: the origin by default, or the key function', () => {
  const limiter = createHostLimiter();
  assert.equal(limiter.keyOf('HTTP://Example.COM:80/a?b#c'), 'http://example.com');
  assert.equal(limiter.keyOf(new URL('https://a.test:8443/x')), 'https://a.test:8443');
  assert.equal(limiter.keyOf(new Request('http://u.test/p')), 'http://u.test');
  const byHostname = createHostLimiter({ key: (request) => new URL(request.url).hostname });
  assert.equal(byHostname.keyOf('http://a.test:1/x'), 'a.test');
  assert.equal(byHostname.keyOf(new Request('http://a.test:2/y')), 'a.test');
});

test('a key function that does not return a string rejects the call with a typed error, and holds no slot', async () => {
  const limiter = createHostLimiter({ key: (request) => request.headers.get('x-tenant') as string });
  const limited = limiter.wrap(async () => new Response(null, { status: 204 }));
  await assert.rejects(
    limited('http://127.0.0.1:9/'),
    (e: unknown) => isHostLimiterOptionsError(e) && e.option === 'key' && e.value === null,
  );
  assert.equal(limiter.globalStats().active, 0);
  const tagged = await limited(new Request('http://127.0.0.1:9/', { headers: { 'x-tenant': 'a' } }));
  assert.equal(tagged.status, 204);
  assert.equal(limiter.stats('a')?.active, 0);
});
