import assert from 'node:assert/strict';
import { test } from 'node:test';
import { getRetryDecision } from '@ky-resilience/retry';
import { startUpstream } from '@ky-resilience/testing';
import { HTTPError } from 'ky';
import { readmeStack } from './compose-helpers.ts';

const fastRetry = { limit: 2, budget: false, backoff: { strategy: 'none' as const, base: 1 } };

test('hooks: beforeRequest once per call, afterResponse and beforeRetry per retry, beforeError once', async (t) => {
  const up = await startUpstream({ routes: { '/f': { steps: [{ status: 503 }, { status: 200 }] } } });
  t.after(() => up.close());
  const s = readmeStack(`${up.url}/`, { retry: fastRetry });
  t.after(() => s.agent.close());
  const seen: string[] = [];
  const api = s.api.extend({
    hooks: {
      beforeRequest: [({ request }) => void request.headers.set('x-trace', 't1')],
      afterResponse: [({ response }) => void seen.push(`after:${response.status}`)],
      beforeRetry: [({ retryCount }) => void seen.push(`retry:${retryCount}`)],
    },
  });
  const body = await api.get('f', { searchParams: { q: 'a b', n: 1 } }).json<{ ok: boolean }>();
  assert.equal(body.ok, true);
  assert.deepEqual(seen, ['after:503', 'retry:1', 'after:200']);
  const h = up.counters('/f').headers;
  assert.equal(h.length, 2);
  assert.equal(h[1]?.['x-trace'], 't1');
});

test('searchParams survive retries', async (t) => {
  const up = await startUpstream({ routes: { '*': { steps: [{ status: 503 }, { status: 200 }] } } });
  t.after(() => up.close());
  const s = readmeStack(`${up.url}/`, { retry: fastRetry });
  t.after(() => s.agent.close());
  const urls: string[] = [];
  const api = s.api.extend({ hooks: { afterResponse: [({ response }) => void urls.push(response.url)] } });
  await api.get('p', { searchParams: { q: 'a b', n: 1 } }).text();
  assert.equal(urls.length, 2);
  for (const u of urls) assert.equal(new URL(u).search, '?q=a+b&n=1');
});

test('HTTPError carries the final response and its data; the decision is attached; the slot is free', async (t) => {
  const up = await startUpstream({
    routes: {
      '/e': {
        steps: [{ status: 503, body: '{"why":"down"}', headers: { 'content-type': 'application/json' } }],
      },
    },
  });
  t.after(() => up.close());
  const s = readmeStack(`${up.url}/`, {
    retry: fastRetry,
    breaker: { policy: { kind: 'consecutive', failures: 50 } },
  });
  t.after(() => s.agent.close());
  const e = await s.api
    .get('e')
    .json()
    .catch((x: unknown) => x);
  assert.ok(e instanceof HTTPError, String(e));
  assert.equal(e.response.status, 503);
  assert.deepEqual(e.data, { why: 'down' });
  assert.equal(getRetryDecision(e)?.reason, 'limit-reached');
  assert.equal(up.counters('/e').requests, 3);
  assert.equal(s.limiter.stats(up.origin)?.active, 0);
});

test('throwHttpErrors: false returns the response; the limiter slot is released when its body is read', async (t) => {
  const up = await startUpstream({ routes: { '/e': { steps: [{ status: 404, body: '{"nf":1}' }] } } });
  t.after(() => up.close());
  const s = readmeStack(`${up.url}/`, { retry: fastRetry });
  t.after(() => s.agent.close());
  const r = await s.api.get('e', { throwHttpErrors: false });
  assert.equal(r.status, 404);
  assert.deepEqual(await r.json(), { nf: 1 });
  assert.equal(up.counters('/e').requests, 1);
  assert.equal(s.limiter.stats(up.origin)?.active, 0);
});

test('throwHttpErrors: false with a 503 returns it without a retry, as ky alone does (undocumented)', async (t) => {
  const up = await startUpstream({ routes: { '/e': { steps: [{ status: 503 }, { status: 200 }] } } });
  t.after(() => up.close());
  const s = readmeStack(`${up.url}/`, { retry: fastRetry });
  t.after(() => s.agent.close());
  const r = await s.api.get('e', { throwHttpErrors: false });
  await r.text();
  assert.equal(s.limiter.stats(up.origin)?.active, 0);
  // ky alone does not retry a non-thrown status; note what the stack does.
  assert.equal(up.counters('/e').requests, 1, `requests ${up.counters('/e').requests}, status ${r.status}`);
});

test('onDownloadProgress reports the whole body through the stack and the slot is released', async (t) => {
  const up = await startUpstream({
    routes: { '/d': { steps: [{ status: 503 }, { drip: { chunks: 5, intervalMs: 5, chunk: 'abcd' } }] } },
  });
  t.after(() => up.close());
  const s = readmeStack(`${up.url}/`, { retry: fastRetry });
  t.after(() => s.agent.close());
  const progress: number[] = [];
  const text = await s.api
    .get('d', { onDownloadProgress: (p) => void progress.push(p.transferredBytes) })
    .text();
  assert.equal(text, 'abcd'.repeat(5));
  assert.equal(progress.at(-1), 20);
  assert.equal(s.limiter.stats(up.origin)?.active, 0);
});
