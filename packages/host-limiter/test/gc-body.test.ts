import assert from 'node:assert/strict';
import { test } from 'node:test';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { startUpstream } from '@ky-resilience/testing';
import ky from 'ky';
import { createHostLimiter } from '../src/index.ts';
import { closeAfter } from './helpers.ts';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

// A caller that keeps only the body stream (pipe it, return it, Readable.fromWeb(response.body))
// and lets the Response object go: the safety net for unread bodies must not fire while the body
// is still being read (it would release the slot early and end the stream short).
for (const via of ['wrap', 'ky'] as const) {
  test(`[${via}] a body still being read is not cut short when the Response object is collected`, async (t) => {
    const chunks = 30;
    const upstream = closeAfter(
      t,
      await startUpstream({
        routes: { '/drip': { steps: [{ drip: { chunks, intervalMs: 10, chunk: 'x' } }] } },
      }),
    );
    const limiter = createHostLimiter({ concurrency: 1 });
    const getBody = async (): Promise<ReadableStream<Uint8Array>> => {
      if (via === 'wrap') {
        const f = limiter.wrap((input, init) => fetch(input, init));
        const response = await f(`${upstream.url}/drip`);
        return response.body as ReadableStream<Uint8Array>;
      }
      const api = ky.create({ retry: 0 }).extend(limiter.kyOptions);
      const response = await api.get(`${upstream.url}/drip`);
      return response.body as ReadableStream<Uint8Array>;
    };
    const body = await getBody();
    const reader = body.getReader();
    let text = '';
    const decoder = new TextDecoder();
    const activeWhileReading: number[] = [];
    for (;;) {
      gc();
      const { done, value } = await reader.read();
      if (done) break;
      activeWhileReading.push(limiter.stats(upstream.origin)?.active ?? -1);
      text += decoder.decode(value, { stream: true });
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    assert.equal(text, 'x'.repeat(chunks), 'the whole body arrives');
    assert.ok(
      activeWhileReading.every((a) => a === 1),
      `the slot is held while the body is read (active seen: ${activeWhileReading.join(',')})`,
    );
  });
}

// The same through a plain ky feature: with onDownloadProgress, ky clones the response, cancels the
// original's branch and returns a new Response over the clone. The limiter's Response is then
// unreachable while the body still streams.
test('[ky onDownloadProgress] a download is not cut short by a garbage collection', async (t) => {
  const chunks = 30;
  const upstream = closeAfter(
    t,
    await startUpstream({
      routes: { '/drip': { steps: [{ drip: { chunks, intervalMs: 10, chunk: 'x' } }] } },
    }),
  );
  const limiter = createHostLimiter({ concurrency: 1 });
  const api = ky.create({ retry: 0 }).extend(limiter.kyOptions);
  let progressEvents = 0;
  const text = await api
    .get(`${upstream.url}/drip`, {
      onDownloadProgress: () => {
        progressEvents += 1;
        gc();
      },
    })
    .text();
  assert.ok(progressEvents > 1);
  assert.equal(text, 'x'.repeat(chunks), 'the whole body arrives');
});
