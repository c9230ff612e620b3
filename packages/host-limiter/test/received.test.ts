import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createAgent } from '@ky-resilience/agent';
import { startUpstream } from '@ky-resilience/testing';
import { type BodyConsumer, type BodyWatcher, setHandoff } from '../src/body-handoff.ts';
import { createHostLimiter, type FetchFunction } from '../src/index.ts';
import { closeAfter, until } from './helpers.ts';

const bodyReceivedKey = Symbol.for('@ky-resilience/body-received@1');

function receivedLength(response: Response): unknown {
  const received = (response as unknown as Record<symbol, unknown>)[bodyReceivedKey];
  return typeof received === 'function' ? received.call(response) : undefined;
}

/** The agent's fetch, recording each response; with `awaitBody`, it returns once the body has arrived in full. */
function recording(t: { after(fn: () => Promise<unknown>): void }, awaitBody: boolean) {
  const agent = createAgent();
  t.after(() => agent.close());
  const responses: Response[] = [];
  const fetch: FetchFunction = async (input, init) => {
    const response = await agent.fetch(input, init);
    if (awaitBody) await until(() => receivedLength(response) !== undefined);
    responses.push(response);
    return response;
  };
  return { fetch, responses };
}

test('a body received in full: the agent’s response as is, the slot free before the body is read', async (t) => {
  const upstream = closeAfter(t, await startUpstream({}));
  const below = recording(t, true);
  const limiter = createHostLimiter({ concurrency: 1, queueTimeout: false });
  const limited = limiter.wrap(below.fetch);
  const first = await limited(`${upstream.url}/first`);
  assert.equal(first, below.responses[0], 'no wrapper');
  assert.equal(limiter.stats(upstream.origin)?.active, 0);
  const second = await limited(`${upstream.url}/second`);
  assert.match(
    await second.text(),
    /"route":"\/second"/,
    'the slot went to the next request, the first body unread',
  );
  assert.match(await first.text(), /"route":"\/first"/);
  assert.equal(limiter.stats(upstream.origin)?.active, 0, 'released exactly once');
});

test('through the agent, a dripping body holds the slot until it has been read', async (t) => {
  const upstream = closeAfter(
    t,
    await startUpstream({
      routes: { '/drip': { steps: [{ drip: { chunks: 4, intervalMs: 20, chunk: '.' } }] } },
    }),
  );
  const below = recording(t, false);
  const limiter = createHostLimiter({ concurrency: 1, queueTimeout: false });
  const limited = limiter.wrap(below.fetch);
  const response = await limited(`${upstream.url}/drip`);
  assert.notEqual(response, below.responses[0], 'the body is wrapped');
  assert.equal(limiter.stats(upstream.origin)?.active, 1);
  assert.equal(await response.text(), '....');
  assert.equal(limiter.stats(upstream.origin)?.active, 0);
});

test('through the agent, a stalled body holds the slot until it is cancelled, released once', async (t) => {
  const upstream = closeAfter(
    t,
    await startUpstream({ routes: { '/stall': { steps: [{ stallBody: true, bodyPrefix: 'x' }] } } }),
  );
  const below = recording(t, false);
  const limiter = createHostLimiter({ concurrency: 1, queueTimeout: false });
  const limited = limiter.wrap(below.fetch);
  const response = await limited(`${upstream.url}/stall`);
  assert.notEqual(response, below.responses[0], 'the body is wrapped');
  const queued = limited(`${upstream.url}/queued`);
  await until(() => limiter.stats(upstream.origin)?.queued === 1);
  await response.body?.cancel();
  assert.match(await (await queued).text(), /"route":"\/queued"/);
  assert.equal(limiter.stats(upstream.origin)?.active, 0);
});

test('a hand-off addressed to the limiter: a body received in full is still left to the consumer, released once', async (t) => {
  const upstream = closeAfter(t, await startUpstream({}));
  const below = recording(t, true);
  const limiter = createHostLimiter({ concurrency: 1, queueTimeout: false });
  const limited = limiter.wrap(below.fetch);
  const watched: { response: Response; watcher: BodyWatcher }[] = [];
  const taker: BodyConsumer = {
    watch(response, watcher) {
      watched.push({ response, watcher });
      return { fail() {} };
    },
  };
  const response = await limited(`${upstream.url}/small`, setHandoff({}, taker, limited));
  assert.equal(response, below.responses[0]);
  assert.equal(watched.length, 1, 'the consumer holds the body work');
  assert.equal(limiter.stats(upstream.origin)?.active, 1, 'the slot is the watcher’s until it ends');
  watched[0]?.watcher.end();
  watched[0]?.watcher.end();
  assert.equal(limiter.stats(upstream.origin)?.active, 0);
  assert.match(await response.text(), /"ok":true/);
  const next = await limited(`${upstream.url}/next`);
  assert.equal(limiter.stats(upstream.origin)?.active, 0);
  assert.match(await next.text(), /"route":"\/next"/);
});
