import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createHostLimiter, isHostLimiterOptionsError } from '../src/index.ts';
import { manualTime } from './helpers.ts';

// NaN (or undefined from JavaScript) would pass the "only ever extends" test (`until <= pausedUntil` is false
// for NaN) and replace the pause in force; Infinity would hold the key for good.
for (const bad of [Number.NaN, undefined, Number.POSITIVE_INFINITY, '2026-12-06']) {
  test(`limiter.pause(key, ${String(bad)}) is refused and keeps the pause in force`, () => {
    const time = manualTime();
    const limiter = createHostLimiter({ clock: time.clock, timers: time.timers });
    const until = time.clock() + 10_000;
    limiter.pause('k', until);
    assert.throws(
      () => limiter.pause('k', bad as unknown as number),
      (e: unknown) => isHostLimiterOptionsError(e) && e.option === 'pause.until' && Object.is(e.value, bad),
    );
    assert.equal(limiter.stats('k')?.pausedUntil, until, 'the pause in force is kept');
  });
}
