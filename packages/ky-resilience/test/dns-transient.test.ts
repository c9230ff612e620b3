import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Resolver } from '@ky-resilience/agent';
import { startUpstream } from '@ky-resilience/testing';
import { createClient, type RetryEvent } from '../src/index.ts';

test('a transient DNS failure is retried, and the retry looks the name up again', async (t) => {
  const upstream = await startUpstream();
  t.after(() => upstream.close());
  let lookups = 0;
  const resolver: Resolver = async (hostname) => {
    lookups += 1;
    if (lookups === 1)
      throw Object.assign(new Error(`getaddrinfo EAI_AGAIN ${hostname}`), { code: 'EAI_AGAIN' });
    return [{ address: '127.0.0.1', family: 4 }];
  };
  const client = createClient({ agent: { resolver }, retry: { backoff: { base: 1 }, budget: false } });
  t.after(() => client.close());
  const retries: RetryEvent[] = [];
  client.on('retry', (event) => retries.push(event));
  assert.match(await client.get(`http://flaky.test:${upstream.port}/`).text(), /"ok":true/);
  assert.equal(lookups, 2);
  assert.equal(retries.length, 1);
  assert.equal(upstream.counters().requests, 1);
});
