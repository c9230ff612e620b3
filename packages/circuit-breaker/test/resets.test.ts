import assert from 'node:assert/strict';
import { test } from 'node:test';
import { startUpstream } from '@ky-resilience/testing';
import ky from 'ky';
import { circuitBreakerPlugin, isCircuitOpenError } from '../src/index.ts';
import { closeAfter, rejection } from './helpers.ts';

test('a connection reset before the response head counts as a failure', async (t) => {
  const upstream = closeAfter(
    t,
    await startUpstream({ routes: { '*': { steps: [{ reset: 'before-headers' }] } } }),
  );
  const breakers = circuitBreakerPlugin({ policy: { kind: 'consecutive', failures: 2 } });
  const api = ky.create({ retry: 0 }).extend(breakers.kyOptions);
  await rejection(api.get(upstream.url));
  await rejection(api.get(upstream.url));
  assert.equal(breakers.state(upstream.origin), 'open');
  assert.ok(isCircuitOpenError(await rejection(api.get(upstream.url))));
  assert.equal(upstream.counters().requests, 2);
});

test('as documented, a reset while the body is read is not counted (the verdict was given at the head)', async (t) => {
  const upstream = closeAfter(
    t,
    await startUpstream({ routes: { '*': { steps: [{ reset: 'mid-body', bodyPrefix: '{"a":' }] } } }),
  );
  const breakers = circuitBreakerPlugin({ policy: { kind: 'consecutive', failures: 1 } });
  const api = ky.create({ retry: 0 }).extend(breakers.kyOptions);
  for (let i = 0; i < 3; i += 1) {
    const error = await rejection(api.get(upstream.url).text());
    assert.ok(!isCircuitOpenError(error), String(error));
  }
  assert.equal(breakers.state(upstream.origin), 'closed');
  assert.equal(upstream.counters().requests, 3);
});
