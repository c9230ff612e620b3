import assert from 'node:assert/strict';
import { test } from 'node:test';
import { startUpstream } from '@ky-resilience/testing';
import ky from 'ky';
import { circuitBreakerPlugin } from '../src/index.ts';
import { closeAfter, rejection } from './helpers.ts';

test('a snapshot round trip keeps the LRU order: the next new key evicts the least recently used breaker', async (t) => {
  const upstream = closeAfter(t, await startUpstream({ routes: { '*': { steps: [{ status: 503 }] } } }));
  const options = {
    maxHosts: 2,
    policy: { kind: 'consecutive', failures: 1 },
    key: (request: Request) => new URL(request.url).searchParams.get('k') ?? 'none',
  } as const;
  const live = circuitBreakerPlugin(options);
  const api = ky.create({ retry: 0 }).extend(live.kyOptions);
  await rejection(api.get(`${upstream.url}?k=old`));
  await rejection(api.get(`${upstream.url}?k=recent`));

  const restored = circuitBreakerPlugin(options);
  restored.restore(JSON.parse(JSON.stringify(live.toJSON())));
  assert.deepEqual(restored.stats().states.open, 2);

  for (const registry of [live, restored]) {
    const client = ky.create({ retry: 0, throwHttpErrors: false }).extend(registry.kyOptions);
    upstream.route('*', { steps: [{ status: 200 }] });
    await client.get(`${upstream.url}?k=new`); // a third key: one breaker must go
  }
  assert.equal(live.describe('recent')?.state, 'open', 'live: the least recently used (old) was evicted');
  assert.equal(live.describe('old'), undefined);
  assert.equal(
    restored.describe('recent')?.state,
    'open',
    'restored: the most recently used breaker was evicted instead of the least recently used',
  );
});
