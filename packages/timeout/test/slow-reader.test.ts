import assert from 'node:assert/strict';
import { test } from 'node:test';
import { startUpstream } from '@ky-resilience/testing';
import ky from 'ky';
import { timeoutPlugin } from '../src/index.ts';
import { closeAfter, recordingTimers, sleep } from './helpers.ts';

test('a caller who reads slowly (pauses longer than bodyIdle between reads) is not timed out', async (t) => {
  const upstream = closeAfter(
    t,
    await startUpstream({
      routes: { '/drip': { steps: [{ drip: { chunks: 4, intervalMs: 10, chunk: 'ab' } }] } },
    }),
  );
  const rec = recordingTimers();
  const api = ky
    .create({ retry: 0 })
    .extend(timeoutPlugin({ bodyIdle: 80, attempt: 10_000, timers: rec.timers }));
  const response = await api.get(`${upstream.url}/drip`);
  await sleep(200);
  const reader = (response.body as ReadableStream<Uint8Array>).getReader();
  let text = '';
  const decoder = new TextDecoder();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    text += decoder.decode(value);
    await sleep(200);
  }
  assert.equal(text, 'abababab');
  assert.equal(rec.pending, 0);
});
