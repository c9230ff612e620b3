import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createHostLimiter, isHostLimiterOptionsError } from '../src/index.ts';
import { rejection, tick } from './helpers.ts';

/** A fetch whose responses come only when `release()` is called. */
function heldFetch(): {
  fetch: (input: Request | string | URL) => Promise<Response>;
  calls: string[];
  release(): void;
} {
  const calls: string[] = [];
  const waiting: (() => void)[] = [];
  return {
    calls,
    fetch: (input) => {
      calls.push(String(input instanceof Request ? input.url : input));
      return new Promise<Response>((resolve) =>
        waiting.push(() => resolve(new Response(null, { status: 204 }))),
      );
    },
    release() {
      for (const done of waiting.splice(0)) done();
    },
  };
}

test('beforeWait is asked only when a call would wait; an error it returns rejects the call at once, unsent', async () => {
  const asked: [string, string][] = [];
  const refusal = new Error('host is down');
  let refuse = true;
  const limiter = createHostLimiter({
    concurrency: 1,
    beforeWait: (input, key) => {
      asked.push([String(input), key]);
      return refuse ? refusal : undefined;
    },
  });
  const held = heldFetch();
  const limited = limiter.wrap(held.fetch);
  const first = limited('http://a.test/1');
  await tick();
  assert.deepEqual(asked, []);
  // The key's only slot is taken: the next call would wait, and is turned away instead.
  assert.equal(await rejection(limited('http://a.test/2')), refusal);
  assert.deepEqual(asked, [['http://a.test/2', 'http://a.test']]);
  assert.equal(limiter.stats('http://a.test')?.queued, 0);
  // Another key has a free slot: not asked.
  const other = limited('http://b.test/1');
  await tick();
  assert.equal(asked.length, 1);
  // `undefined`: the call waits as usual and is sent once the slot comes back.
  refuse = false;
  const waiting = limited('http://a.test/3');
  await tick();
  assert.equal(limiter.stats('http://a.test')?.queued, 1);
  held.release();
  await first;
  await tick();
  held.release();
  await Promise.all([waiting, other]);
  assert.deepEqual(held.calls, ['http://a.test/1', 'http://b.test/1', 'http://a.test/3']);
});

test('what beforeWait throws rejects the call; a bad beforeWait is an options error', async () => {
  const thrown = new Error('check failed');
  const limiter = createHostLimiter({
    concurrency: 1,
    beforeWait: () => {
      throw thrown;
    },
  });
  const held = heldFetch();
  const limited = limiter.wrap(held.fetch);
  const first = limited('http://a.test/1');
  assert.equal(await rejection(limited('http://a.test/2')), thrown);
  held.release();
  await first;
  let caught: unknown;
  try {
    createHostLimiter({ beforeWait: 5 as never });
  } catch (error) {
    caught = error;
  }
  assert.ok(isHostLimiterOptionsError(caught));
  assert.equal(caught.option, 'beforeWait');
  assert.equal(caught.value, 5);
});

test('recheck(key) asks beforeWait again about the waiters of a key; those it refuses leave the queue, unsent', async () => {
  let refuse = false;
  const refusal = new Error('circuit open');
  const asked: string[] = [];
  const limiter = createHostLimiter({
    concurrency: 1,
    beforeWait: (input) => {
      asked.push(String(input instanceof Request ? input.url : input));
      return refuse ? refusal : undefined;
    },
  });
  const held = heldFetch();
  const limited = limiter.wrap(held.fetch);
  const first = limited('http://a.test/1');
  await tick();
  const second = rejection(limited(new Request('http://a.test/2')));
  const third = rejection(limited('http://a.test/3'));
  await tick();
  assert.equal(limiter.stats('http://a.test')?.queued, 2);
  assert.equal(limiter.recheck('http://a.test'), 0);
  refuse = true;
  asked.length = 0;
  assert.equal(limiter.recheck('http://a.test'), 2);
  // Each waiter is asked with what its caller gave the limiter.
  assert.deepEqual(asked, ['http://a.test/2', 'http://a.test/3']);
  assert.equal(await second, refusal);
  assert.equal(await third, refusal);
  assert.equal(limiter.stats('http://a.test')?.queued, 0);
  assert.equal(limiter.recheck('http://unknown.test'), 0);
  held.release();
  await first;
  assert.deepEqual(held.calls, ['http://a.test/1']);
  // Without a beforeWait there is nothing to ask.
  assert.equal(createHostLimiter().recheck('http://a.test'), 0);
  assert.throws(
    () => limiter.recheck(5 as never),
    (error: unknown) =>
      isHostLimiterOptionsError(error) && error.option === 'recheck.key' && error.value === 5,
  );
});
