import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createHostLimiter, isQueueTimeoutError, type QueueTimeoutError } from '../src/index.ts';
import { manualTime, rejection, tick } from './helpers.ts';

/** A fetch that never answers: every call keeps its slot. */
const never = (): Promise<Response> => new Promise<Response>(() => {});

/** The QueueTimeoutError of a call to `url` that waits through `queueTimeout` on `time`'s clock. */
async function timedOut(
  limited: (input: string) => Promise<Response>,
  time: ReturnType<typeof manualTime>,
  url: string,
): Promise<QueueTimeoutError> {
  const waiting = rejection(limited(url));
  await tick();
  time.advance(1_000);
  const error = await waiting;
  assert.ok(isQueueTimeoutError(error), String(error));
  return error;
}

test('a queue timeout says what held the request back: its key full, the global cap, a pause, the rate limit', async () => {
  const time = manualTime();
  const base = { queueTimeout: 1_000, clock: time.clock, timers: time.timers };

  const keyFull = createHostLimiter({ ...base, concurrency: 1 }).wrap(never);
  void keyFull('http://a.test/1');
  const key = await timedOut(keyFull, time, 'http://a.test/2');
  assert.equal(key.waitedFor, 'key');
  assert.match(key.message, /every slot of the key taken/);

  const globalFull = createHostLimiter({ ...base, concurrency: 1, globalConcurrency: 1 }).wrap(never);
  void globalFull('http://a.test/1');
  // b.test has a free slot of its own; the one slot of the limiter is a.test's.
  const global = await timedOut(globalFull, time, 'http://b.test/1');
  assert.equal(global.waitedFor, 'global');
  assert.equal(global.active, 0);
  assert.match(global.message, /global cap reached/);

  const pausedLimiter = createHostLimiter({ ...base, concurrency: 1 });
  pausedLimiter.pause('http://a.test', time.clock() + 60_000);
  const paused = await timedOut(pausedLimiter.wrap(never), time, 'http://a.test/1');
  assert.equal(paused.waitedFor, 'pause');
  assert.equal(typeof paused.pausedUntil, 'number');

  const rated = createHostLimiter({ ...base, concurrency: 5, rate: 0.5, burst: 1 }).wrap(never);
  void rated('http://a.test/1');
  const rate = await timedOut(rated, time, 'http://a.test/2');
  assert.equal(rate.waitedFor, 'rate');
  assert.match(rate.message, /rate limit/);
});
