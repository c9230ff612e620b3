import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { seededRandom } from '../src/index.ts';

describe('seededRandom', () => {
  it('returns numbers in [0, 1) for any seed', () => {
    fc.assert(
      fc.property(fc.integer({ min: Number.MIN_SAFE_INTEGER, max: Number.MAX_SAFE_INTEGER }), (seed) => {
        const random = seededRandom(seed);
        for (let i = 0; i < 200; i++) {
          const value = random();
          assert.ok(value >= 0 && value < 1, String(value));
        }
      }),
      { numRuns: 300 },
    );
  });

  it('repeats the same sequence for the same seed', () => {
    const a = seededRandom(12_345);
    const b = seededRandom(12_345);
    const first = Array.from({ length: 50 }, () => a());
    assert.deepEqual(
      Array.from({ length: 50 }, () => b()),
      first,
    );
    assert.notDeepEqual(Array.from({ length: 50 }, seededRandom(12_346)), first);
  });

  it('is roughly uniform (mean and deciles of 100 000 draws, seed 1)', () => {
    const random = seededRandom(1);
    const deciles = new Array<number>(10).fill(0);
    let sum = 0;
    const n = 100_000;
    for (let i = 0; i < n; i++) {
      const value = random();
      sum += value;
      deciles[Math.floor(value * 10)]! += 1;
    }
    assert.ok(Math.abs(sum / n - 0.5) < 0.01, `mean ${sum / n}`);
    for (const count of deciles) {
      assert.ok(Math.abs(count - n / 10) < n / 100, `decile count ${count}`);
    }
  });

  it('gives 0 and values just below 1 only as 32-bit fractions', () => {
    const random = seededRandom(0);
    for (let i = 0; i < 1000; i++) {
      const value = random() * 4_294_967_296;
      assert.equal(value, Math.floor(value));
    }
  });
});
