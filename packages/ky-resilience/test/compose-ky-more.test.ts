import assert from 'node:assert/strict';
import { test } from 'node:test';
import { startUpstream } from '@ky-resilience/testing';
import ky from 'ky';
import { readmeStack } from './compose-helpers.ts';

const fastRetry = { limit: 2, budget: false, backoff: { strategy: 'none' as const, base: 1 } };

test('onUploadProgress with a JSON PUT: retried with the same body', async (t) => {
  const up = await startUpstream({ routes: { '/u': { steps: [{ status: 503 }, { status: 200 }] } } });
  t.after(() => up.close());
  const s = readmeStack(`${up.url}/`, { retry: fastRetry });
  t.after(() => s.agent.close());
  const progress: number[] = [];
  const out = await s.api
    .put('u', { json: { a: 1 }, onUploadProgress: (p) => void progress.push(p.transferredBytes) })
    .json<{ ok: boolean }>()
    .catch((e: unknown) => e);
  t.diagnostic(`bodies ${JSON.stringify(up.counters('/u').bodies)} progress ${JSON.stringify(progress)}`);
  assert.deepEqual(out, { ok: true, route: '/u', n: 1 });
  assert.deepEqual(up.counters('/u').bodies, ['{"a":1}', '{"a":1}']);
  assert.equal(s.limiter.stats(up.origin)?.active, 0);
});

test('HEAD and 204 through the stack release their slots', async (t) => {
  const up = await startUpstream({ routes: { '/h': {}, '/n': { steps: [{ status: 204 }] } } });
  t.after(() => up.close());
  const s = readmeStack(`${up.url}/`, { retry: fastRetry, limiter: { concurrency: 1 } });
  t.after(() => s.agent.close());
  for (let i = 0; i < 3; i += 1) {
    assert.equal((await s.api.head('h')).status, 200);
    assert.equal((await s.api.delete('n')).status, 204);
  }
  assert.equal(s.limiter.stats(up.origin)?.active, 0);
});

test('a forced retry from afterResponse with bufferBody false: the first response releases its slot', async (t) => {
  const up = await startUpstream({
    routes: {
      '/f': {
        steps: [
          { status: 200, body: '{"v":1}' },
          { status: 200, body: '{"v":2}' },
        ],
      },
    },
  });
  t.after(() => up.close());
  const s = readmeStack(`${up.url}/`, {
    retry: { ...fastRetry, bufferBody: false },
    limiter: { concurrency: 1, queueTimeout: 2_000 },
  });
  t.after(() => s.agent.close());
  const api = s.api.extend({
    hooks: { afterResponse: [({ retryCount }) => (retryCount === 0 ? ky.retry() : undefined)] },
  });
  const v = await api.get('f').text();
  assert.equal(v, '{"v":2}');
  assert.equal(s.limiter.stats(up.origin)?.active, 0);
});

test('a streamed (unbuffered) response with an afterResponse hook: the slot is released when the body is read', async (t) => {
  const up = await startUpstream({
    routes: { '/d': { steps: [{ drip: { chunks: 4, intervalMs: 5, chunk: 'ab' } }] } },
  });
  t.after(() => up.close());
  const s = readmeStack(`${up.url}/`, {
    retry: { ...fastRetry, bufferBody: false },
    limiter: { concurrency: 1, queueTimeout: 2_000 },
  });
  t.after(() => s.agent.close());
  const api = s.api.extend({ hooks: { afterResponse: [() => undefined] } });
  for (let i = 0; i < 3; i += 1) assert.equal(await api.get('d').text(), 'abababab');
  assert.equal(s.limiter.stats(up.origin)?.active, 0);
});
