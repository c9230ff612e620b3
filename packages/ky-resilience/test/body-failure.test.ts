import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isCircuitOpenError } from '@ky-resilience/circuit-breaker';
import { startUpstream } from '@ky-resilience/testing';
import { createClient } from '../src/index.ts';

test('connections reset while the body arrives open the breaker (the retry tier reads the body inside the attempt)', async (t) => {
  const upstream = await startUpstream({
    routes: { '*': { steps: [{ reset: 'mid-body', bodyPrefix: '{"items":[' }] } },
  });
  t.after(() => upstream.close());
  const client = createClient({
    circuitBreaker: { policy: { kind: 'consecutive', failures: 3 } },
    retry: { limit: 2, backoff: { base: 1 }, budget: false },
  });
  t.after(() => client.close());
  // Every response is a 200 head whose body is cut: three attempts, three failures.
  const first = await client
    .get(upstream.url)
    .text()
    .then(
      () => assert.fail('the body was cut'),
      (error: unknown) => error,
    );
  assert.ok(!isCircuitOpenError(first));
  assert.equal(upstream.counters().requests, 3);
  assert.equal(client.breakers?.state(upstream.origin), 'open');
  const second = await client
    .get(upstream.url)
    .text()
    .then(
      () => assert.fail('the circuit is open'),
      (error: unknown) => error,
    );
  assert.ok(isCircuitOpenError(second));
  assert.equal(upstream.counters().requests, 3, 'nothing was sent while the circuit is open');
});
