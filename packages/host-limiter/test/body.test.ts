import assert from 'node:assert/strict';
import { test } from 'node:test';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { startUpstream } from '@ky-resilience/testing';
import ky from 'ky';
import { createHostLimiter } from '../src/index.ts';
import { closeAfter, rejection, tick, until } from './helpers.ts';

test('the slot is held until the body has been read, then released', async (t) => {
  const upstream = closeAfter(
    t,
    await startUpstream({ routes: { '/drip': { steps: [{ drip: { chunks: 3, intervalMs: 5 } }] } } }),
  );
  const limiter = createHostLimiter({ concurrency: 1 });
  const api = ky.create({ retry: 0 }).extend(limiter.kyOptions);
  const response = await api.get(`${upstream.url}/drip`);
  assert.equal(limiter.stats(upstream.origin)?.active, 1);
  assert.equal(response.status, 200);
  assert.equal(response.url, `${upstream.url}/drip`, 'url survives the body wrapper');
  assert.equal(await response.text(), '...');
  assert.equal(limiter.stats(upstream.origin)?.active, 0);
});

test('ky’s .json() reads the body and releases the slot', async (t) => {
  const upstream = closeAfter(t, await startUpstream());
  const limiter = createHostLimiter({ concurrency: 1 });
  const api = ky.create({ retry: 0 }).extend(limiter.kyOptions);
  for (let i = 0; i < 5; i += 1) {
    assert.deepEqual(await api.get(upstream.url).json(), { ok: true, route: '/', n: i });
    assert.equal(limiter.stats(upstream.origin)?.active, 0);
  }
});

test('a body cancelled by the caller releases the slot, exactly once', async (t) => {
  const upstream = closeAfter(
    t,
    await startUpstream({ routes: { '/stall': { steps: [{ stallBody: true }] } } }),
  );
  const limiter = createHostLimiter({ concurrency: 2 });
  const api = ky.create({ retry: 0 }).extend(limiter.kyOptions);
  const one = await api.get(`${upstream.url}/stall`);
  const two = await api.get(`${upstream.url}/stall`);
  assert.equal(limiter.stats(upstream.origin)?.active, 2);
  await one.body?.cancel();
  await one.body?.cancel();
  await tick();
  assert.equal(limiter.stats(upstream.origin)?.active, 1, 'a second cancel releases nothing more');
  await two.body?.cancel();
  await tick();
  assert.equal(limiter.stats(upstream.origin)?.active, 0);
  assert.equal(limiter.globalStats().active, 0);
});

test('a reset while reading the body releases the slot (the error reaches the reader)', async (t) => {
  const upstream = closeAfter(
    t,
    await startUpstream({ routes: { '/reset': { steps: [{ reset: 'mid-body', bodyPrefix: 'partial' }] } } }),
  );
  const limiter = createHostLimiter({ concurrency: 1 });
  const api = ky.create({ retry: 0 }).extend(limiter.kyOptions);
  const response = await api.get(`${upstream.url}/reset`);
  assert.equal(limiter.stats(upstream.origin)?.active, 1);
  const error = await rejection(response.text());
  assert.ok(error instanceof Error);
  await until(() => limiter.stats(upstream.origin)?.active === 0);
  // The next request gets the slot.
  upstream.route('/reset', {});
  assert.match(await api.get(`${upstream.url}/reset`).text(), /"ok":true/);
});

test('a reset of a body nobody reads releases the slot', async (t) => {
  const upstream = closeAfter(
    t,
    await startUpstream({ routes: { '/reset': { steps: [{ reset: 'mid-body', bodyPrefix: 'partial' }] } } }),
  );
  const limiter = createHostLimiter({ concurrency: 1 });
  const api = ky.create({ retry: 0 }).extend(limiter.kyOptions);
  const response = await api.get(`${upstream.url}/reset`);
  assert.equal(response.status, 200);
  await until(() => limiter.stats(upstream.origin)?.active === 0);
});

test('responses without a body release the slot when the head arrives', async (t) => {
  const upstream = closeAfter(t, await startUpstream({ routes: { '/empty': { steps: [{ status: 204 }] } } }));
  const limiter = createHostLimiter({ concurrency: 1 });
  const api = ky.create({ retry: 0 }).extend(limiter.kyOptions);
  const noContent = await api.get(`${upstream.url}/empty`);
  assert.equal(noContent.status, 204);
  assert.equal(limiter.stats(upstream.origin)?.active, 0);
  const head = await api.head(upstream.url);
  assert.equal(head.status, 200);
  assert.equal(limiter.stats(upstream.origin)?.active, 0);
});

test('HTTP errors: ky reads the error body and the slot is released', async (t) => {
  const upstream = closeAfter(t, await startUpstream({ routes: { '/bad': { steps: [{ status: 404 }] } } }));
  const limiter = createHostLimiter({ concurrency: 1 });
  const api = ky.create({ retry: 0 }).extend(limiter.kyOptions);
  const error = await rejection(api.get(`${upstream.url}/bad`).json());
  assert.equal((error as Error).name, 'HTTPError');
  assert.equal(limiter.stats(upstream.origin)?.active, 0);
});

test('a fetch that throws or rejects releases the slot', async () => {
  const limiter = createHostLimiter({ concurrency: 1 });
  const boom = new Error('boom');
  const throwing = limiter.wrap(() => {
    throw boom;
  });
  const rejecting = limiter.wrap(() => Promise.reject(boom));
  for (const fetch of [throwing, rejecting, throwing]) {
    assert.equal(await rejection(fetch('http://h.test/x')), boom);
    assert.equal(limiter.stats('http://h.test')?.active, 0);
  }
});

test('a refused connection releases the slot', async () => {
  const { closedPort } = await import('@ky-resilience/testing');
  const port = await closedPort();
  const limiter = createHostLimiter({ concurrency: 1 });
  const api = ky.create({ retry: 0 }).extend(limiter.kyOptions);
  for (let i = 0; i < 3; i += 1) {
    const error = await rejection(api.get(`http://127.0.0.1:${port}/`));
    assert.equal((error as Error).name, 'NetworkError');
    assert.equal(limiter.stats(`http://127.0.0.1:${port}`)?.active, 0);
  }
});

test('a body nobody reads, cancels or aborts is released once the response is garbage-collected', async (t) => {
  const upstream = closeAfter(
    t,
    await startUpstream({ routes: { '/stall': { steps: [{ stallBody: true }] } } }),
  );
  setFlagsFromString('--expose-gc');
  const gc = runInNewContext('gc') as () => void;
  const limiter = createHostLimiter({ concurrency: 1 });
  const api = ky.create({ retry: 0 }).extend(limiter.kyOptions);
  await (async () => {
    const response = await api.get(`${upstream.url}/stall`);
    assert.equal(response.status, 200);
  })();
  assert.equal(limiter.stats(upstream.origin)?.active, 1);
  for (let i = 0; i < 50 && limiter.stats(upstream.origin)?.active !== 0; i += 1) {
    gc();
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  assert.equal(limiter.stats(upstream.origin)?.active, 0);
});

test('a response the limiter cannot take over gives its slot back and rejects', async () => {
  const limiter = createHostLimiter({ concurrency: 1 });
  // Not a WHATWG Response: its body has no reader (node-fetch 2 returns such objects).
  const odd = { status: 200, headers: new Headers(), body: { locked: false } } as unknown as Response;
  const limited = limiter.wrap(async () => odd);
  await assert.rejects(limited('http://127.0.0.1:9/odd'), TypeError);
  assert.equal(limiter.stats('http://127.0.0.1:9')?.active ?? 0, 0, 'the slot is free again');
  const fine = limiter.wrap(async () => new Response(null, { status: 204 }));
  assert.equal((await fine('http://127.0.0.1:9/next')).status, 204);
});
