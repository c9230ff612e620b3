import assert from 'node:assert/strict';
import { test } from 'node:test';
import { startUpstream } from '@ky-resilience/testing';
import { AddressGuard, createAgent, isBlockedAddressError } from '../src/index.ts';
import { failure, tableResolver } from './helpers.ts';

test('denyPrivateAddresses refuses non-public ranges and embedded IPv4', () => {
  const guard = new AddressGuard({ denyPrivateAddresses: true, allowAddresses: [], denyAddresses: [] });
  for (const address of [
    '127.0.0.1',
    '10.1.2.3',
    '172.16.0.1',
    '192.168.1.1',
    '169.254.169.254',
    '100.64.0.1',
    '0.0.0.0',
    '::1',
    'fe80::1',
    'fd00::1',
    '::ffff:127.0.0.1',
    '::ffff:7f00:1',
    '64:ff9b::10.0.0.1',
  ]) {
    assert.equal(guard.check(address).allowed, false, address);
  }
  for (const address of ['93.184.216.34', '8.8.8.8', '2606:4700::1111', '::ffff:8.8.8.8']) {
    assert.equal(guard.check(address).allowed, true, address);
  }
});

test('denyAddresses wins over allowAddresses, which wins over denyPrivateAddresses', () => {
  const guard = new AddressGuard({
    denyPrivateAddresses: true,
    allowAddresses: ['10.0.0.0/8', '127.0.0.1'],
    denyAddresses: ['10.9.0.0/16', '8.8.8.8'],
  });
  assert.equal(guard.check('10.1.1.1').allowed, true);
  assert.equal(guard.check('10.9.1.1').allowed, false);
  assert.equal(guard.check('127.0.0.1').allowed, true);
  assert.equal(guard.check('127.0.0.2').allowed, false);
  assert.equal(guard.check('8.8.8.8').allowed, false);
  assert.equal(guard.check('8.8.4.4').allowed, true);
});

test('a private address is refused at connect time with a typed error naming host and address', async (t) => {
  const upstream = await startUpstream();
  t.after(() => upstream.close());
  const agent = createAgent({ denyPrivateAddresses: true });
  t.after(() => agent.close());
  const error = await failure(agent.fetch(`${upstream.url}/secret`));
  assert.ok(isBlockedAddressError(error));
  assert.equal(error.host, '127.0.0.1');
  assert.equal(error.address, '127.0.0.1');
  assert.equal(upstream.counters('/secret').requests, 0);
  assert.equal(upstream.connections, 0);
});

test('DNS rebinding cannot get around the guard: the check runs on every resolved address', async (t) => {
  const upstream = await startUpstream();
  t.after(() => upstream.close());
  // First answer: an allowed address; the next (TTL 0): a private one. The guard sees each at connect time.
  const answers = [
    [{ address: '127.0.0.1', family: 4 as const, ttl: 0 }],
    [{ address: '127.0.0.2', family: 4 as const, ttl: 0 }],
  ];
  let n = 0;
  const { resolver } = tableResolver({ 'rebind.test': () => answers[Math.min(n++, 1)]! });
  const agent = createAgent({
    resolver,
    denyPrivateAddresses: true,
    allowAddresses: ['127.0.0.1/32'],
    keepAliveTimeout: 1,
  });
  t.after(() => agent.close());
  const ok = await agent.fetch(`http://rebind.test:${upstream.port}/hook`);
  assert.equal(ok.status, 200);
  await ok.text();
  upstream.closeIdleSockets();
  await new Promise((r) => setTimeout(r, 20));
  const error = await failure(agent.fetch(`http://rebind.test:${upstream.port}/hook`));
  assert.ok(isBlockedAddressError(error), String(error));
  assert.equal(error.host, 'rebind.test');
  assert.equal(error.address, '127.0.0.2');
  assert.equal(upstream.counters('/hook').requests, 1);
});

test('with mixed answers only the allowed addresses are used', async (t) => {
  const upstream = await startUpstream();
  t.after(() => upstream.close());
  const { resolver } = tableResolver({
    'mixed.test': [
      { address: '10.0.0.7', family: 4 },
      { address: '127.0.0.1', family: 4 },
    ],
  });
  const agent = createAgent({ resolver, denyPrivateAddresses: true, allowAddresses: ['127.0.0.1'] });
  t.after(() => agent.close());
  const response = await agent.fetch(`http://mixed.test:${upstream.port}/m`);
  assert.equal(response.status, 200);
  await response.text();
});
