import assert from 'node:assert/strict';
import { test } from 'node:test';
import { startUpstream } from '@ky-resilience/testing';
import ky from 'ky';
import { retryPlugin } from '../src/index.ts';

test('a response whose body the retry tier buffers or taps keeps url and type, and so do its clones', async (t) => {
  const upstream = await startUpstream({
    routes: { '/drip': { steps: [{ drip: { chunks: 2, intervalMs: 5 } }] } },
  });
  t.after(() => upstream.close());
  const url = `${upstream.url}/drip`;
  for (const bufferBody of [true, false]) {
    const seen: string[] = [];
    const api = ky
      .create({ fetch: (input, init) => fetch(input, init) })
      .extend(retryPlugin({ bufferBody }))
      .extend({
        hooks: { afterResponse: [({ response }) => void seen.push(`${response.url} ${response.type}`)] },
      });
    const response = await api.get(url);
    const copy = response.clone();
    assert.equal(response.url, url, `bufferBody ${bufferBody}`);
    assert.equal(copy.url, url, `bufferBody ${bufferBody}: the clone`);
    assert.equal(copy.type, 'basic');
    assert.deepEqual(seen, [`${url} basic`]);
    await Promise.all([response.text(), copy.text()]);
  }
});
