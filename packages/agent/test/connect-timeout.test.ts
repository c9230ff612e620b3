import assert from 'node:assert/strict';
import { test } from 'node:test';
import { hangingListener } from '@ky-resilience/testing';
import { createAgent, isConnectTimeoutError } from '../src/index.ts';
import { failure } from './helpers.ts';

test('a connect that never completes fails with a typed ConnectTimeoutError; the request was never sent', async (t) => {
  const listener = await hangingListener();
  t.after(() => listener.close());
  const agent = createAgent({ connectTimeout: 150 });
  t.after(() => agent.close());
  const error = await failure(agent.fetch(`${listener.url}/never`));
  assert.ok(isConnectTimeoutError(error), String(error));
  assert.equal(error.code, 'UND_ERR_CONNECT_TIMEOUT');
  assert.equal(error.host, '127.0.0.1');
  assert.equal(error.timeout, 150);
  assert.equal(error.address, '127.0.0.1');
  assert.equal(agent.stats().inFlight, 0);
});

test('a resolver that hangs is bounded by the connect timeout too', async (t) => {
  const agent = createAgent({ connectTimeout: 100, resolver: () => new Promise(() => {}) });
  t.after(() => agent.close());
  const error = await failure(agent.fetch('http://slow-dns.test/'));
  assert.ok(isConnectTimeoutError(error), String(error));
  assert.equal(error.host, 'slow-dns.test');
  assert.equal(error.address, undefined);
});
