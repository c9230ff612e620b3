import assert from 'node:assert/strict';
import { test } from 'node:test';
import { startUpstream } from '@ky-resilience/testing';
import ky from 'ky';
import { createHostLimiter } from '../src/index.ts';
import { closeAfter } from './helpers.ts';

// The limiter rebuilds a Response around its body; `new Response()` has no URL, and neither would a
// plain `clone()` of it. ky hands afterResponse hooks a clone, so clones must keep the fields too.
const drip = { routes: { '/drip': { steps: [{ drip: { chunks: 2, intervalMs: 5 } }] } } };

test('response.clone() through the limiter keeps the URL, as fetch’s own clone does', async (t) => {
  const upstream = closeAfter(t, await startUpstream(drip));
  const url = `${upstream.url}/drip`;
  const bare = await fetch(url);
  const bareCopy = bare.clone();
  assert.equal(bareCopy.url, url, 'control: fetch’s own clone keeps the URL');
  await Promise.all([bare.text(), bareCopy.text()]);

  const limiter = createHostLimiter();
  const response = await limiter.wrap((input, init) => fetch(input, init))(url);
  assert.equal(response.url, url);
  const copy = response.clone();
  const copyUrl = copy.url;
  await Promise.all([response.text(), copy.text()]);
  assert.equal(copyUrl, url, 'the clone’s URL');
});

test('a ky afterResponse hook sees the response URL with the limiter in place', async (t) => {
  const upstream = closeAfter(t, await startUpstream(drip));
  const url = `${upstream.url}/drip`;
  const seen: string[] = [];
  const hooks = { afterResponse: [({ response }: { response: Response }) => void seen.push(response.url)] };
  await ky.create({ retry: 0, hooks }).get(url).text();
  const limiter = createHostLimiter();
  await ky.create({ retry: 0, hooks }).extend(limiter.kyOptions).get(url).text();
  assert.deepEqual(seen, [url, url]);
});
