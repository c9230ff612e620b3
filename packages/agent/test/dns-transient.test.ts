import assert from 'node:assert/strict';
import { test } from 'node:test';
import { startUpstream } from '@ky-resilience/testing';
import { createAgent, isDnsLookupError, type Resolver } from '../src/index.ts';
import { failure, fakeClock } from './helpers.ts';

test('a temporary lookup failure (EAI_AGAIN) is not cached: the next request looks the name up again', async (t) => {
  const upstream = await startUpstream();
  t.after(() => upstream.close());
  const clock = fakeClock();
  const calls: string[] = [];
  const resolver: Resolver = async (hostname) => {
    calls.push(hostname);
    if (calls.length === 1) {
      throw Object.assign(new Error(`getaddrinfo EAI_AGAIN ${hostname}`), { code: 'EAI_AGAIN' });
    }
    return [{ address: '127.0.0.1', family: 4 }];
  };
  const agent = createAgent({ resolver, clock: clock.now, dnsNegativeTtl: 2000 });
  t.after(() => agent.close());
  const first = await failure(agent.fetch(`http://flaky.test:${upstream.port}/`));
  assert.ok(isDnsLookupError(first));
  assert.equal((first as { code: string }).code, 'EAI_AGAIN');
  // No time has passed on the agent's clock: a cached failure would answer this one.
  const response = await agent.fetch(`http://flaky.test:${upstream.port}/`);
  assert.equal(response.status, 200);
  await response.text();
  assert.equal(calls.length, 2);
  assert.equal(agent.stats().dns.failures, 1);
});
