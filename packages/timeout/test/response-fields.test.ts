import assert from 'node:assert/strict';
import { test } from 'node:test';
import { startUpstream } from '@ky-resilience/testing';
import ky from 'ky';
import { timeoutPlugin } from '../src/index.ts';

test('a response whose body the tiers watch keeps url, redirected and type, and so do its clones', async (t) => {
  const upstream = await startUpstream({
    routes: { '/drip': { steps: [{ drip: { chunks: 2, intervalMs: 5 } }] } },
  });
  t.after(() => upstream.close());
  const seen: { url: string; type: string }[] = [];
  // Node's own fetch: its responses are wrapped (the body phase is bounded by the attempt and body-idle timers).
  const api = ky
    .create({ fetch: (input, init) => fetch(input, init) })
    .extend(timeoutPlugin())
    .extend({
      hooks: {
        afterResponse: [({ response }) => void seen.push({ url: response.url, type: response.type })],
      },
    });
  const url = `${upstream.url}/drip`;
  const response = await api.get(url);
  const copy = response.clone();
  assert.equal(response.url, url);
  assert.equal(copy.url, url);
  assert.equal(copy.clone().url, url);
  assert.equal(copy.type, 'basic');
  assert.equal(copy.redirected, false);
  assert.deepEqual(seen, [{ url, type: 'basic' }]);
  await Promise.all([response.text(), copy.text()]);
});
