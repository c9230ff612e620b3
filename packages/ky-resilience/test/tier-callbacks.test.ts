import assert from 'node:assert/strict';
import diagnosticsChannel from 'node:diagnostics_channel';
import { test } from 'node:test';
import { startUpstream } from '@ky-resilience/testing';
import { type BreakerRejectedEvent, type BreakerStateChangeEvent, createClient } from '../src/index.ts';

// A tier callback's exception is rethrown from a microtask, as the breaker does with its listeners: it
// does not cost the client's listeners and the diagnostics channels their event.
test('a throwing circuitBreaker.onStateChange / onRejected does not swallow the client events and channels', async (t) => {
  const upstream = await startUpstream({ routes: { '/down': { steps: [{ status: 503 }] } } });
  t.after(() => upstream.close());
  const uncaught: unknown[] = [];
  process.setUncaughtExceptionCaptureCallback((error) => {
    uncaught.push(error);
  });
  t.after(() => process.setUncaughtExceptionCaptureCallback(null));
  const client = createClient({
    circuitBreaker: {
      policy: { kind: 'consecutive', failures: 1 },
      onStateChange: () => {
        throw new Error('onStateChange bug');
      },
      onRejected: () => {
        throw new Error('onRejected bug');
      },
    },
    retry: false,
  });
  t.after(() => client.close());
  const changes: BreakerStateChangeEvent[] = [];
  const rejections: BreakerRejectedEvent[] = [];
  client.on('breakerStateChange', (event) => changes.push(event));
  client.on('breakerRejected', (event) => rejections.push(event));
  const published: unknown[] = [];
  const onMessage = (message: unknown): void => {
    published.push(message);
  };
  diagnosticsChannel.subscribe('ky-resilience:breaker:state-change', onMessage);
  diagnosticsChannel.subscribe('ky-resilience:breaker:rejected', onMessage);
  t.after(() => {
    diagnosticsChannel.unsubscribe('ky-resilience:breaker:state-change', onMessage);
    diagnosticsChannel.unsubscribe('ky-resilience:breaker:rejected', onMessage);
  });

  await client.get(`${upstream.url}/down`).catch(() => {}); // opens the breaker
  await client.get(`${upstream.url}/down`).catch(() => {}); // turned away
  await new Promise((resolve) => setImmediate(resolve));

  assert.equal(client.breakers?.state(upstream.origin), 'open');
  assert.equal(upstream.counters('/down').requests, 1);
  assert.equal(uncaught.length, 2, 'both tier callbacks threw (rethrown from a microtask)');
  assert.deepEqual(
    { changes: changes.length, rejections: rejections.length, published: published.length },
    { changes: 1, rejections: 1, published: 2 },
  );
});
