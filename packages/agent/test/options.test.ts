import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createAgent, isAgentOptionsError } from '../src/index.ts';

const bad: Array<[string, unknown]> = [
  ['limit', -1],
  ['limit', 1.5],
  ['limit', Number.NaN],
  ['limit', Number.POSITIVE_INFINITY],
  ['limit', '10'],
  ['limitPerHost', -2],
  ['limitPerHost', Number.NaN],
  ['limitPerHost', 101],
  ['keepAliveTimeout', 0],
  ['keepAliveTimeout', -5],
  ['keepAliveTimeout', Number.NaN],
  ['keepAliveTimeout', Number.POSITIVE_INFINITY],
  ['keepAliveTimeout', 2 ** 31],
  ['keepAliveMaxTimeout', Number.NaN],
  ['keepAliveMaxTimeout', 1000],
  ['connectTimeout', -1],
  ['connectTimeout', Number.POSITIVE_INFINITY],
  ['connectTimeout', Number.NaN],
  ['dnsTtl', -1],
  ['dnsTtl', Number.NaN],
  ['dnsTtl', Number.POSITIVE_INFINITY],
  ['dnsNegativeTtl', 60_000],
  ['dnsNegativeTtl', -1],
  ['dnsCacheSize', 0],
  ['dnsCacheSize', 2.5],
  ['resolver', 'dns'],
  ['clock', 1],
  ['denyPrivateAddresses', 'yes'],
  ['allowAddresses', '10.0.0.0/8'],
  ['allowAddresses', ['10.0.0.0/33']],
  ['denyAddresses', ['not-an-ip']],
  ['denyAddresses', ['10.0.0.0/8/1']],
  ['allowH2', 1],
  ['retryStaleConnections', 'no'],
  ['limt', 10],
];

for (const [option, value] of bad) {
  test(`createAgent refuses ${option}: ${typeof value === 'number' ? String(value) : JSON.stringify(value)}`, () => {
    const options =
      option === 'keepAliveMaxTimeout' ? { keepAliveTimeout: 2000, [option]: value } : { [option]: value };
    assert.throws(
      () => createAgent(options as never),
      (error: unknown) => {
        assert.ok(isAgentOptionsError(error));
        assert.equal(error.option, option);
        assert.ok(
          Object.is(error.value, value) ||
            JSON.stringify(error.value) === JSON.stringify(value) ||
            (Array.isArray(value) && value.includes(error.value)),
        );
        assert.match(error.message, new RegExp(`\`${option}\``));
        return true;
      },
    );
  });
}

test('limitPerHost above limit names both', () => {
  assert.throws(
    () => createAgent({ limit: 5, limitPerHost: 6 }),
    /`limitPerHost`: 6 \(expected at most limit \(5\)\)/,
  );
});

test('options that are not an object are refused', () => {
  assert.throws(
    () => createAgent(42 as never),
    (e: unknown) => isAgentOptionsError(e) && e.option === 'options',
  );
});

test('defaults: limit 100, 10 per host, 4 s keep-alive bounded by 4 s, 10 s connect, DNS 300 s', async (t) => {
  const agent = createAgent();
  t.after(() => agent.close());
  assert.deepEqual(agent.options, {
    limit: 100,
    limitPerHost: 10,
    keepAliveTimeout: 4000,
    keepAliveMaxTimeout: 4000,
    connectTimeout: 10_000,
    dnsTtl: 300_000,
    dnsNegativeTtl: 2000,
    dnsCacheSize: 1000,
    denyPrivateAddresses: false,
    allowAddresses: [],
    denyAddresses: [],
    allowH2: false,
    retryStaleConnections: true,
  });
});

test('a small global limit lowers the per-host default to it', async (t) => {
  const agent = createAgent({ limit: 4 });
  t.after(() => agent.close());
  assert.equal(agent.options.limitPerHost, 4);
});
