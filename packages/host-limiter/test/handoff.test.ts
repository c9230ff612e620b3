import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  type BodyConsumer,
  type BodyHandoff,
  type BodyWatcher,
  bodyHandoffKey,
  setHandoff,
} from '../src/body-handoff.ts';
import { createHostLimiter, type FetchFunction } from '../src/index.ts';
import { rejection } from './helpers.ts';

/** A consumer that records the watchers registered with it. */
function consumer(): BodyConsumer & { watched: { response: Response; watcher: BodyWatcher }[] } {
  const watched: { response: Response; watcher: BodyWatcher }[] = [];
  return {
    watched,
    watch(response, watcher) {
      watched.push({ response, watcher });
      return { fail() {} };
    },
  };
}

const URL_A = 'http://h.test/a';

function bodyResponse(): Response {
  return new Response(new ReadableStream({ pull() {} }), { status: 200 });
}

test('a hand-off addressed to the limiter: the response comes back as is, the slot is the watcher’s, released once', async () => {
  const limiter = createHostLimiter({ concurrency: 1 });
  const raw = bodyResponse();
  const inits: (RequestInit | undefined)[] = [];
  const inner: FetchFunction = async (_input, init) => {
    inits.push(init);
    return raw;
  };
  const limited = limiter.wrap(inner);
  const taker = consumer();
  const response = await limited(URL_A, setHandoff({}, taker, limited));
  assert.equal(response, raw, 'no wrapper of its own');
  assert.equal(taker.watched.length, 1);
  assert.equal(taker.watched[0]?.response, raw);
  const watcher = taker.watched[0]!.watcher;
  assert.equal(watcher.settleUnread, true, 'a reset between reads releases the slot');
  const forwarded = (inits[0] as Record<symbol, BodyHandoff>)[bodyHandoffKey];
  assert.equal(forwarded?.consumer, taker, 'the hand-off goes on');
  assert.equal(forwarded?.to, inner, 'addressed to the fetch the limiter calls');
  assert.equal(limiter.stats('http://h.test')?.active, 1);
  watcher.end(new TypeError('terminated'));
  watcher.end();
  assert.equal(limiter.stats('http://h.test')?.active, 0);
  // The slot was released once: two more calls hold two slots in turn, never more than one.
  const second = limiter.wrap(async () => bodyResponse());
  const held = await second(URL_A);
  assert.equal(limiter.stats('http://h.test')?.active, 1);
  await held.body?.cancel();
  assert.equal(limiter.stats('http://h.test')?.active, 0);
});

test('a hand-off addressed to another function is ignored: the limiter wraps the body itself', async () => {
  const limiter = createHostLimiter({ concurrency: 1 });
  const raw = bodyResponse();
  const inits: (RequestInit | undefined)[] = [];
  const limited = limiter.wrap(async (_input, init) => {
    inits.push(init);
    return raw;
  });
  const taker = consumer();
  const elsewhere: FetchFunction = async () => bodyResponse();
  const init = setHandoff({}, taker, elsewhere);
  const response = await limited(URL_A, init);
  assert.notEqual(response, raw);
  assert.equal(taker.watched.length, 0);
  assert.equal(inits[0], init, 'the init goes on untouched');
  assert.equal(limiter.stats('http://h.test')?.active, 1);
  await response.body?.cancel();
  assert.equal(limiter.stats('http://h.test')?.active, 0);
});

test('with a hand-off, a response without a body and a failed fetch release the slot at once', async () => {
  const limiter = createHostLimiter({ concurrency: 1 });
  const taker = consumer();
  const empty = limiter.wrap(async () => new Response(null, { status: 204 }));
  await empty(URL_A, setHandoff({}, taker, empty));
  assert.equal(limiter.stats('http://h.test')?.active, 0);
  const boom = new Error('boom');
  const failing = limiter.wrap(async () => {
    throw boom;
  });
  assert.equal(await rejection(failing(URL_A, setHandoff({}, taker, failing))), boom);
  assert.equal(limiter.stats('http://h.test')?.active, 0);
  assert.equal(taker.watched.length, 0);
});
