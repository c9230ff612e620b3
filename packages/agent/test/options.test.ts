import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
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
  ['maxQueue', -1],
  ['maxQueue', 1.5],
  ['maxQueue', Number.NaN],
  ['maxQueue', Number.NEGATIVE_INFINITY],
  ['maxQueue', '100'],
  ['maxQueue', null],
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
  // A trailing slash or a prefix that is not plain digits: `Number` would read "" as 0 (every address).
  ['allowAddresses', ['203.0.113.7/']],
  ['allowAddresses', ['10.0.0.1/ 8']],
  ['allowAddresses', ['10.0.0.1/+8']],
  ['allowAddresses', ['10.0.0.1/0x8']],
  ['allowAddresses', ['fd00::/']],
  ['denyAddresses', ['10.0.0.0/']],
  ['denyAddresses', ['10.0.0.0/8.0']],
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
    maxQueue: 10_000,
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
    tls: { secureContext: undefined, rejectUnauthorized: true },
    retryStaleConnections: true,
  });
});

test('maxQueue accepts 0 (no waiting), a positive integer and Infinity (no bound)', async () => {
  for (const maxQueue of [0, 1, 250, Number.POSITIVE_INFINITY]) {
    const agent = createAgent({ maxQueue });
    assert.equal(agent.options.maxQueue, maxQueue);
    await agent.close();
  }
});

test('a small global limit lowers the per-host default to it', async (t) => {
  const agent = createAgent({ limit: 4 });
  t.after(() => agent.close());
  assert.equal(agent.options.limitPerHost, 4);
});

const tlsCert = readFileSync(new URL('./fixtures/cert.pem', import.meta.url));
const tlsKey = readFileSync(new URL('./fixtures/key.pem', import.meta.url));

test('createAgent accepts tls: ca (string, Buffer, list), cert + key, rejectUnauthorized', async () => {
  for (const tls of [
    { ca: tlsCert },
    { ca: tlsCert.toString() },
    { ca: [tlsCert, tlsCert.toString()] },
    { cert: tlsCert, key: tlsKey },
    { ca: tlsCert, cert: tlsCert.toString(), key: tlsKey.toString(), rejectUnauthorized: true },
    { rejectUnauthorized: false },
    {},
  ]) {
    const agent = createAgent({ tls });
    assert.equal(agent.options.tls.rejectUnauthorized, tls.rejectUnauthorized ?? true);
    assert.equal(agent.options.tls.secureContext === undefined, !('ca' in tls || 'cert' in tls));
    await agent.close();
  }
});

const badTls: Array<[string, unknown, string]> = [
  ['tls', 'yes', 'tls'],
  ['tls', [], 'tls'],
  ['tls.servername', { servername: 'example.com' }, 'tls.servername'],
  ['unknown tls key', { ciphers: 'x' }, 'tls.ciphers'],
  ['ca of a number', { ca: 1 }, 'tls.ca'],
  ['empty ca', { ca: '' }, 'tls.ca'],
  ['ca that does not parse', { ca: 'not a certificate' }, 'tls.ca'],
  ['rejectUnauthorized not a boolean', { rejectUnauthorized: 'no' }, 'tls.rejectUnauthorized'],
  ['cert without key', { cert: tlsCert }, 'tls.key'],
  ['key without cert', { key: tlsKey }, 'tls.cert'],
];

for (const [name, tls, option] of badTls) {
  test(`createAgent refuses tls: ${name}`, () => {
    assert.throws(
      () => createAgent({ tls } as never),
      (error: unknown) => {
        assert.ok(isAgentOptionsError(error));
        assert.equal(error.option, option);
        assert.match(error.message, new RegExp(`\`${option.replace('.', '\\.')}\``));
        return true;
      },
    );
  });
}

test('createAgent never echoes key material in a tls error', () => {
  const keyText = tlsKey.toString();
  const secret = keyText.split('\n')[1]!;
  const cases: Array<[unknown, string]> = [
    [{ cert: tlsCert, key: 42 }, 'tls.key'],
    [{ cert: tlsCert, key: { pem: keyText } }, 'tls.key'],
    [{ cert: keyText, key: keyText }, 'tls.cert'],
    [{ cert: tlsCert, key: keyText.replace(secret, secret.split('').reverse().join('')) }, 'tls.cert'],
    [{ passphrase: keyText }, 'tls.passphrase'],
    [{ pfx: tlsKey }, 'tls.pfx'],
  ];
  for (const [tls, option] of cases) {
    assert.throws(
      () => createAgent({ tls } as never),
      (error: unknown) => {
        assert.ok(isAgentOptionsError(error));
        assert.equal(error.option, option);
        const shown = `${error.message} ${JSON.stringify(error.value)} ${String(error.stack)}`;
        assert.ok(!shown.includes(secret), shown);
        assert.ok(!shown.includes('PRIVATE KEY'), shown);
        assert.match(String(error.value), /^\(an? (string|number|object|Buffer|array)\)$/);
        return true;
      },
    );
  }
});
