import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { RandomSource } from '../src/index.ts';
import { createBackoff, isJitterStrategy, jitterStrategies, seededRandom } from '../src/index.ts';

/** A random source that returns the given values in turn and counts its calls. */
function scripted(...values: number[]): RandomSource & { calls: number } {
  const random = Object.assign(
    (): number => {
      const value = values[random.calls % values.length]!;
      random.calls += 1;
      return value;
    },
    { calls: 0 },
  );
  return random;
}

describe('createBackoff', () => {
  it("'none' follows the envelope and counts attempts", () => {
    const backoff = createBackoff('none', { base: 10, factor: 3, cap: 500 });
    assert.equal(backoff.attempt, 0);
    assert.deepEqual(
      Array.from({ length: 6 }, () => backoff.next()),
      [10, 30, 90, 270, 500, 500],
    );
    assert.equal(backoff.attempt, 6);
    assert.equal(backoff.strategy, 'none');
    assert.deepEqual(backoff.options, { base: 10, factor: 3, cap: 500 });
  });

  it("'full' and 'equal' scale the envelope of each attempt", () => {
    const full = createBackoff('full', { random: scripted(0.5) });
    assert.deepEqual([full.next(), full.next(), full.next()], [50, 100, 200]);
    const equal = createBackoff('equal', { random: scripted(0, 0.5) });
    assert.deepEqual([equal.next(), equal.next(), equal.next()], [50, 150, 200]);
  });

  it("'decorrelated' feeds each delay into the next", () => {
    const backoff = createBackoff('decorrelated', { random: scripted(0.5) });
    // 100 + 0.5 * (300 - 100) = 200; 100 + 0.5 * (600 - 100) = 350; 100 + 0.5 * (1050 - 100) = 575
    assert.deepEqual([backoff.next(), backoff.next(), backoff.next()], [200, 350, 575]);
  });

  it("'decorrelated-v2' carries the intrinsic value between attempts", () => {
    const backoff = createBackoff('decorrelated-v2', { random: scripted(0.5, 0.25) });
    const first = backoff.next();
    const second = backoff.next();
    assert.ok(Math.abs(first - 89.74049355792) < 1e-9, String(first));
    assert.ok(Math.abs(second - 76.30887570592937) < 1e-9, String(second));
  });

  it('calls random exactly once per jittered delay, never for none', () => {
    for (const strategy of jitterStrategies) {
      const random = scripted(0.3);
      const backoff = createBackoff(strategy, { random });
      for (let i = 0; i < 5; i++) {
        backoff.next();
      }
      assert.equal(random.calls, strategy === 'none' ? 0 : 5, strategy);
    }
  });

  it('reset() starts over from the first retry', () => {
    const none = createBackoff('none');
    none.next();
    none.next();
    none.reset();
    assert.equal(none.attempt, 0);
    assert.equal(none.next(), 100);

    const decorrelated = createBackoff('decorrelated', { random: scripted(0.5) });
    decorrelated.next();
    decorrelated.next();
    decorrelated.reset();
    assert.equal(decorrelated.next(), 200);

    const v2 = createBackoff('decorrelated-v2', { random: scripted(0.5) });
    const first = v2.next();
    v2.next();
    v2.reset();
    assert.equal(v2.next(), first);
  });

  it('leaves its state unchanged when random() misbehaves', () => {
    const random = scripted(0.5, 2, 0.5);
    const backoff = createBackoff('decorrelated', { random });
    assert.equal(backoff.next(), 200);
    assert.throws(() => backoff.next(), { name: 'JitterOptionsError' });
    assert.equal(backoff.attempt, 1);
    assert.equal(backoff.next(), 350);
    assert.equal(backoff.attempt, 2);
  });

  it('gives the cap at attempt 10^6 with factor 10, for every strategy', () => {
    for (const strategy of jitterStrategies) {
      const backoff = createBackoff(strategy, { factor: 10, random: seededRandom(3) });
      let last = 0;
      for (let i = 0; i < 1_000_000; i++) {
        last = backoff.next();
      }
      assert.ok(Number.isFinite(last) && last >= 0 && last <= 20_000, `${strategy}: ${last}`);
      if (strategy === 'none') {
        assert.equal(last, 20_000);
      }
    }
  });

  it('reads Math.random when created, not when the module is imported', () => {
    const original = Math.random;
    Math.random = () => 0.5;
    let backoff: ReturnType<typeof createBackoff>;
    try {
      backoff = createBackoff('full');
    } finally {
      Math.random = original;
    }
    assert.equal(backoff.next(), 50);
  });

  it('isJitterStrategy knows the five names', () => {
    assert.deepEqual(jitterStrategies, ['none', 'full', 'equal', 'decorrelated', 'decorrelated-v2']);
    assert.ok(jitterStrategies.every(isJitterStrategy));
    assert.equal(isJitterStrategy('Full'), false);
    assert.equal(isJitterStrategy(undefined), false);
  });
});
