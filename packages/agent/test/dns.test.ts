import assert from 'node:assert/strict';
import { test } from 'node:test';
import { closedPort, startUpstream } from '@ky-resilience/testing';
import { createAgent, DnsCache, isDnsLookupError } from '../src/index.ts';
import { failure, fakeClock, loopback, tableResolver } from './helpers.ts';

test('answers live for the record TTL, capped by dnsTtl, measured on the injected clock', async (t) => {
  const upstream = await startUpstream();
  t.after(() => upstream.close());
  const clock = fakeClock();
  const { resolver, calls } = tableResolver({ 'short.test': loopback(10), 'long.test': loopback(3600) });
  const agent = createAgent({ resolver, clock: clock.now, dnsTtl: 60_000, keepAliveTimeout: 1 });
  t.after(() => agent.close());
  const get = async (host: string) => (await agent.fetch(`http://${host}:${upstream.port}/`)).text();
  // New connections are what trigger lookups: drop idle sockets between requests.
  const fresh = async (host: string) => {
    upstream.closeIdleSockets();
    await new Promise((r) => setTimeout(r, 10));
    await get(host);
  };
  await fresh('short.test');
  await fresh('long.test');
  assert.deepEqual(calls, ['short.test', 'long.test']);
  clock.advance(9_000);
  await fresh('short.test');
  assert.deepEqual(calls, ['short.test', 'long.test'], 'still within both TTLs');
  clock.advance(2_000);
  await fresh('short.test');
  await fresh('long.test');
  assert.deepEqual(
    calls,
    ['short.test', 'long.test', 'short.test'],
    'record TTL 10 s expired; long.test capped at 60 s',
  );
  clock.advance(50_000);
  await fresh('long.test');
  assert.deepEqual(
    calls,
    ['short.test', 'long.test', 'short.test', 'long.test'],
    'dnsTtl caps the 3600 s record',
  );
  const dns = agent.stats().dns;
  assert.equal(dns.misses, 4);
  assert.ok(dns.hits >= 2);
  assert.equal(dns.entries, 2);
});

test('the cache rotates over a host’s addresses and is bounded (LRU)', async (_t) => {
  const clock = fakeClock();
  const { resolver, calls } = tableResolver({
    'multi.test': [
      { address: '127.0.0.1', family: 4 },
      { address: '127.0.0.2', family: 4 },
      { address: '127.0.0.3', family: 4 },
    ],
    'x.test': loopback(),
    'y.test': loopback(),
  });
  const cache = new DnsCache({ resolver, ttl: 60_000, negativeTtl: 1000, max: 2, clock: clock.now });
  const firsts: string[] = [];
  for (let i = 0; i < 4; i++) firsts.push((await cache.lookup('multi.test'))[0]!.address);
  assert.deepEqual(firsts, ['127.0.0.1', '127.0.0.2', '127.0.0.3', '127.0.0.1']);
  await cache.lookup('x.test');
  await cache.lookup('y.test');
  assert.equal(cache.stats().entries, 2);
  await cache.lookup('multi.test');
  assert.equal(calls.filter((c) => c === 'multi.test').length, 2, 'multi.test was evicted by the LRU bound');
  // Concurrent lookups of one name share a single query.
  cache.invalidate();
  await Promise.all([cache.lookup('x.test'), cache.lookup('x.test'), cache.lookup('x.test')]);
  assert.equal(calls.filter((c) => c === 'x.test').length, 2);
});

test('a refused address fails over to the next one', async (t) => {
  const upstream = await startUpstream();
  t.after(() => upstream.close());
  // 127.0.0.2 is loopback too, but nothing listens there on the upstream's port: connecting is refused.
  const { resolver } = tableResolver({
    'two.test': [
      { address: '127.0.0.2', family: 4 },
      { address: '127.0.0.1', family: 4 },
    ],
  });
  const agent = createAgent({ resolver });
  t.after(() => agent.close());
  const response = await agent.fetch(`http://two.test:${upstream.port}/failover`);
  assert.equal(response.status, 200);
  await response.text();
  assert.equal(upstream.counters('/failover').requests, 1);
});

test('a refused connection with a single address fails with ECONNREFUSED', async (t) => {
  const port = await closedPort();
  const agent = createAgent();
  t.after(() => agent.close());
  const cause = (await failure(agent.fetch(`http://127.0.0.1:${port}/`))) as { code?: string };
  assert.equal(cause.code, 'ECONNREFUSED');
});

test('failed lookups are cached for dnsNegativeTtl only', async (t) => {
  const clock = fakeClock();
  const { resolver, calls } = tableResolver({});
  const agent = createAgent({ resolver, clock: clock.now, dnsNegativeTtl: 2000 });
  t.after(() => agent.close());
  const first = await failure(agent.fetch('http://missing.test/'));
  assert.ok(isDnsLookupError(first));
  assert.equal((first as { code: string }).code, 'ENOTFOUND');
  assert.equal((first as { host: string }).host, 'missing.test');
  const second = await failure(agent.fetch('http://missing.test/'));
  assert.equal((second as { cached: boolean }).cached, true);
  assert.equal(calls.length, 1);
  clock.advance(2001);
  await failure(agent.fetch('http://missing.test/'));
  assert.equal(calls.length, 2);
});

test('dnsTtl 0 disables the cache', async (t) => {
  const upstream = await startUpstream();
  t.after(() => upstream.close());
  const { resolver, calls } = tableResolver({ 'nocache.test': loopback(300) });
  const agent = createAgent({ resolver, dnsTtl: 0 });
  t.after(() => agent.close());
  for (let i = 0; i < 3; i++) {
    upstream.closeIdleSockets();
    await new Promise((r) => setTimeout(r, 5));
    await (await agent.fetch(`http://nocache.test:${upstream.port}/`)).text();
  }
  assert.equal(calls.length, upstream.connections);
  assert.equal(agent.stats().dns.entries, 0);
});

test('the default resolver resolves localhost through the system resolver', async (t) => {
  const upstream = await startUpstream();
  t.after(() => upstream.close());
  const agent = createAgent();
  t.after(() => agent.close());
  const response = await agent.fetch(`http://localhost:${upstream.port}/local`);
  assert.equal(response.status, 200);
  await response.text();
  assert.equal(upstream.byHost('localhost').requests, 1);
});

test('an invalidation while a lookup is under way: that answer is not cached, later callers look up again', async () => {
  const clock = fakeClock();
  const answers: ((a: { address: string; family: 4; ttl: number }[]) => void)[] = [];
  const resolver = (): Promise<{ address: string; family: 4; ttl: number }[]> =>
    new Promise((resolve) => answers.push(resolve));
  const cache = new DnsCache({ resolver, ttl: 60_000, negativeTtl: 1000, max: 10, clock: clock.now });
  const before = cache.lookup('moved.test');
  // The address changes: the cache is flushed while the old lookup is still under way.
  cache.invalidate();
  const after = cache.lookup('moved.test');
  assert.equal(answers.length, 2, 'a caller after the invalidation starts a lookup of its own');
  answers[0]!([{ address: '127.0.0.1', family: 4, ttl: 300 }]);
  answers[1]!([{ address: '127.0.0.2', family: 4, ttl: 300 }]);
  assert.equal((await before)[0]!.address, '127.0.0.1', 'the earlier caller gets its answer');
  assert.equal((await after)[0]!.address, '127.0.0.2');
  assert.equal(
    (await cache.lookup('moved.test'))[0]!.address,
    '127.0.0.2',
    'the stale answer was not cached',
  );
  assert.equal(answers.length, 2);
});
