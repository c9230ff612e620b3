import assert from 'node:assert/strict';
import { test } from 'node:test';
import { startUpstream } from '@ky-resilience/testing';
import { circuitBreakerPlugin, isCircuitBreakerOptionsError, isCircuitOpenError } from '../src/index.ts';
import { closeAfter } from './helpers.ts';

test('wrapFetch keys a string URL by its origin: spellings of the same origin share one breaker', async (t) => {
  const upstream = closeAfter(t, await startUpstream({ routes: { '*': { steps: [{ status: 503 }] } } }));
  const breakers = circuitBreakerPlugin({ policy: { kind: 'consecutive', failures: 2 } });
  // Whatever the URL's spelling, the call goes to the upstream (one real host behind all of them).
  const guarded = breakers.wrapFetch(() => fetch(upstream.url));
  // The same origin as new URL(...).origin gives it: 'http://api.example.test'.
  const origin = new URL('HTTP://API.Example.test:80/').origin;
  assert.equal(origin, 'http://api.example.test');
  assert.equal((await guarded('HTTP://API.Example.test:80/a')).status, 503);
  assert.equal((await guarded('http://api.example.test/b')).status, 503);
  assert.equal(breakers.state(origin), 'open', `breakers: ${JSON.stringify(breakers.stats().states)}`);
  const error = await guarded('http://api.example.test/c').catch((e: unknown) => e);
  assert.ok(isCircuitOpenError(error));
});

test('wrapFetch returns a rejected promise (never throws synchronously) when key(request) is bad', async (t) => {
  const upstream = closeAfter(t, await startUpstream());
  const breakers = circuitBreakerPlugin({ key: () => '' });
  const guarded = breakers.wrapFetch((input, init) => fetch(input, init));
  let result: Promise<Response> | undefined;
  let thrown: unknown;
  try {
    result = guarded(new Request(upstream.url));
  } catch (error) {
    thrown = error;
  }
  assert.equal(thrown, undefined, `threw synchronously: ${String(thrown)}`);
  const error = await result?.catch((e: unknown) => e);
  assert.ok(isCircuitBreakerOptionsError(error));
});

test('originOf reads an origin as the URL parser writes it', async () => {
  const { originOf } = await import('../src/registry.ts');
  for (const [url, origin] of [
    ['http://api.example.test/a', 'http://api.example.test'],
    ['http://127.0.0.1:8080/x?y', 'http://127.0.0.1:8080'],
    ['https://api.example.test:8443', 'https://api.example.test:8443'],
    ['HTTP://API.Example.test:80/a', 'http://api.example.test'],
    ['https://api.example.test:443/', 'https://api.example.test'],
    ['http://api.example.test:0080/', 'http://api.example.test'],
    ['http://127.1/', 'http://127.0.0.1'],
    ['http://0x7f.0.0.1/', 'http://127.0.0.1'],
    ['http://user:pw@api.example.test/', 'http://api.example.test'],
    ['http://[::1]:8080/', 'http://[::1]:8080'],
    ['http://api.example.test?q=1', 'http://api.example.test'],
  ] as const) {
    assert.equal(originOf(url), origin, url);
  }
});

test('rejection(input) says how the breaker would turn a call away now, without creating or changing anything', async () => {
  const { fakeClock, until } = await import('./helpers.ts');
  const time = fakeClock();
  const rejected: string[] = [];
  const breakers = circuitBreakerPlugin({
    policy: { kind: 'consecutive', failures: 1 },
    halfOpenAfter: 1_000,
    clock: time.clock,
    onRejected: (event) => rejected.push(`${event.host} ${event.state}`),
  });
  // No breaker for the key yet: nothing would turn the call away, and none is created.
  assert.equal(breakers.rejection('http://a.test/x'), undefined);
  assert.equal(breakers.size, 0);
  const failing = breakers.wrapFetch(async () => new Response(null, { status: 503 }));
  await failing('http://a.test/x');
  assert.equal(breakers.state('http://a.test'), 'open');
  const open = breakers.rejection(new Request('http://a.test/y'));
  assert.ok(isCircuitOpenError(open));
  assert.equal(open.state, 'open');
  assert.equal(open.host, 'http://a.test');
  assert.equal(open.request?.url, 'http://a.test/y');
  assert.deepEqual(rejected, ['http://a.test open']);
  assert.equal(breakers.stats().rejected, 1);
  // The open period is over: the next call would be a probe.
  time.advance(1_000);
  assert.equal(breakers.rejection('http://a.test/z'), undefined);
  assert.equal(breakers.state('http://a.test'), 'open');
  // A probe in flight (it never answers) takes the only half-open slot: the next call would be turned away.
  let started = false;
  void breakers.wrapFetch(() => {
    started = true;
    return new Promise<Response>(() => {});
  })('http://a.test/probe');
  await until(() => started);
  assert.equal(breakers.state('http://a.test'), 'half-open');
  assert.equal(breakers.rejection('http://a.test/z')?.state, 'half-open');
  breakers.isolate('http://b.test');
  assert.equal(breakers.rejection('http://b.test/')?.state, 'isolated');
  assert.equal(breakers.rejection('http://c.test/'), undefined);
});
