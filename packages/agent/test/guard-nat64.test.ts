import assert from 'node:assert/strict';
import { test } from 'node:test';
import { AddressGuard } from '../src/index.ts';

test('NAT64 addresses are checked as IPv4 whatever their spelling', () => {
  const guard = new AddressGuard({ denyPrivateAddresses: true, allowAddresses: [], denyAddresses: [] });
  // The canonical spelling is refused...
  assert.equal(guard.check('64:ff9b::7f00:1').allowed, false);
  // ...and so must be the same address written out in full or with leading zeros (a custom resolver's text).
  assert.equal(guard.check('64:ff9b:0:0:0:0:7f00:1').allowed, false);
  assert.equal(guard.check('0064:ff9b::7f00:1').allowed, false);
  const deny = new AddressGuard({
    denyPrivateAddresses: false,
    allowAddresses: [],
    denyAddresses: ['169.254.169.254'],
  });
  assert.equal(deny.check('64:ff9b:0:0:0:0:a9fe:a9fe').allowed, false);
});

test('the local-use NAT64 prefix and IPv4-compatible addresses are not public', () => {
  const guard = new AddressGuard({ denyPrivateAddresses: true, allowAddresses: [], denyAddresses: [] });
  assert.equal(guard.check('64:ff9b:1::a00:1').allowed, false);
  assert.equal(guard.check('::7f00:1').allowed, false);
  assert.equal(guard.check('2606:4700::6810:84e5').allowed, true, 'a public IPv6 address');
  assert.equal(guard.check('64:ff9b::808:808').allowed, true, 'NAT64 of a public IPv4 address');
});
