import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  decorrelatedJitter,
  decorrelatedJitterV2,
  equalJitter,
  exponentialEnvelope,
  fullJitter,
  noJitter,
  seededRandom,
} from '../src/index.ts';

/** The largest double below 1. */
const almostOne = 1 - 2 ** -53;
const constant = (value: number) => (): number => value;

describe('exponentialEnvelope', () => {
  it('is base * factor^(attempt - 1) with the defaults (100 ms, x2, 20 s cap)', () => {
    assert.deepEqual(
      [1, 2, 3, 4, 8].map((attempt) => exponentialEnvelope(attempt)),
      [100, 200, 400, 800, 12_800],
    );
  });

  it('stops at the cap', () => {
    assert.equal(exponentialEnvelope(9), 20_000);
    assert.equal(exponentialEnvelope(5, { base: 1000, factor: 3, cap: 30_000 }), 30_000);
  });

  it('is base for every attempt with factor 1', () => {
    assert.deepEqual(
      [1, 2, 100, 1_000_000].map((attempt) => exponentialEnvelope(attempt, { base: 250, factor: 1 })),
      [250, 250, 250, 250],
    );
  });

  it('is the cap when base > cap, and 0 when base or cap is 0', () => {
    assert.equal(exponentialEnvelope(1, { base: 5000, cap: 1000 }), 1000);
    assert.equal(exponentialEnvelope(1_000_000, { base: 0, factor: 10 }), 0);
    assert.equal(exponentialEnvelope(3, { base: 100, cap: 0 }), 0);
  });

  it('gives the cap, never Infinity or NaN, at attempt 10^6 with factor 10', () => {
    assert.equal(exponentialEnvelope(1_000_000, { factor: 10 }), 20_000);
    assert.equal(exponentialEnvelope(1_000_000, { factor: 10, cap: Number.MAX_VALUE }), Number.MAX_VALUE);
  });

  it('noJitter is the envelope', () => {
    assert.equal(noJitter(3, { base: 10, factor: 3 }), 90);
    assert.equal(noJitter(1_000_000), 20_000);
  });
});

describe('fullJitter: random_between(0, envelope)', () => {
  it('scales the envelope by random()', () => {
    assert.equal(fullJitter(3, constant(0)), 0);
    assert.equal(fullJitter(3, constant(0.5)), 200);
    assert.equal(fullJitter(3, constant(0.25), { base: 1000, factor: 3 }), 2250);
  });

  it('stays below the envelope for a random() just below 1', () => {
    const delay = fullJitter(3, constant(almostOne));
    assert.ok(delay < 400 && delay > 399.999_999, String(delay));
    assert.ok(fullJitter(50, constant(almostOne)) <= 20_000);
  });

  it('returns +0, not -0, for random() = -0', () => {
    assert.ok(Object.is(fullJitter(2, constant(-0)), 0));
  });
});

describe('equalJitter: temp / 2 + random_between(0, temp / 2)', () => {
  it('keeps half of the envelope and jitters the other half', () => {
    assert.equal(equalJitter(3, constant(0)), 200);
    assert.equal(equalJitter(3, constant(0.5)), 300);
    assert.equal(equalJitter(1, constant(0.5), { base: 1000 }), 750);
  });

  it('stays within [temp / 2, temp] for a random() just below 1, also when capped', () => {
    const delay = equalJitter(3, constant(almostOne));
    assert.ok(delay >= 399.999_999 && delay <= 400, String(delay));
    const capped = equalJitter(40, constant(almostOne));
    assert.ok(capped >= 10_000 && capped <= 20_000, String(capped));
    assert.equal(equalJitter(40, constant(0)), 10_000);
  });
});

describe('decorrelatedJitter: min(cap, random_between(base, previous * 3))', () => {
  it('starts from base when there is no previous delay', () => {
    assert.equal(decorrelatedJitter(undefined, constant(0)), 100);
    assert.equal(decorrelatedJitter(undefined, constant(0.5)), 200);
    assert.equal(decorrelatedJitter(100, constant(0.5)), 200);
  });

  it('grows from the previous delay', () => {
    assert.equal(decorrelatedJitter(1000, constant(0.5)), 100 + 0.5 * 2900);
    assert.equal(decorrelatedJitter(1000, constant(0)), 100);
  });

  it('is capped', () => {
    assert.equal(decorrelatedJitter(10_000, constant(0.9)), 20_000);
    assert.equal(decorrelatedJitter(20_000, constant(almostOne)), 20_000);
    assert.equal(decorrelatedJitter(undefined, constant(0.5), { base: 5000, cap: 1000 }), 1000);
  });

  it('never goes below base when the previous delay is below base / 3', () => {
    assert.equal(decorrelatedJitter(10, constant(0.7)), 100);
    assert.equal(decorrelatedJitter(0, constant(0.7)), 100);
  });

  it('gives base for random() = 0 even when previous * 3 overflows (it gave cap)', () => {
    const options = { base: 1, cap: Number.MAX_VALUE };
    assert.equal(decorrelatedJitter(Number.MAX_VALUE / 2, constant(0), options), 1);
    assert.equal(decorrelatedJitter(Number.MAX_VALUE, constant(0), options), 1);
    const top = decorrelatedJitter(Number.MAX_VALUE, constant(almostOne), options);
    assert.ok(top > Number.MAX_VALUE * 0.999 && top <= Number.MAX_VALUE, String(top));
    assert.equal(decorrelatedJitter(Number.MAX_VALUE, constant(0.5), options), Number.MAX_VALUE / 2 + 0.5);
  });

  it('stays at 0 with base 0 (a property of the AWS formula)', () => {
    assert.equal(decorrelatedJitter(undefined, constant(0.5), { base: 0 }), 0);
    assert.equal(decorrelatedJitter(0, constant(0.5), { base: 0 }), 0);
  });
});

describe("decorrelatedJitterV2: Polly's (2^t * tanh(sqrt(4t)) - previous) * base / 1.4", () => {
  // Reference values computed independently (Python, IEEE doubles).
  it('matches the formula at t = 0.5 and then t = 1.25', () => {
    const first = decorrelatedJitterV2(1, 0, constant(0.5));
    assert.ok(Math.abs(first.intrinsic - 1.2563669098108798) < 1e-12, String(first.intrinsic));
    assert.ok(Math.abs(first.delay - 89.74049355792) < 1e-9, String(first.delay));
    const second = decorrelatedJitterV2(2, first.intrinsic, constant(0.25));
    assert.ok(Math.abs(second.intrinsic - 2.324691169693891) < 1e-12, String(second.intrinsic));
    assert.ok(Math.abs(second.delay - 76.30887570592937) < 1e-9, String(second.delay));
  });

  it('gives 0 for the first attempt with random() = 0 (t = 0, tanh(0) = 0)', () => {
    assert.deepEqual(decorrelatedJitterV2(1, 0, constant(0)), { delay: 0, intrinsic: 0 });
  });

  it('stays finite for a random() just below 1', () => {
    const step = decorrelatedJitterV2(1, 0, constant(almostOne));
    assert.ok(Math.abs(step.delay - 137.7182257251167) < 1e-9, String(step.delay));
  });

  it('gives the cap, not NaN, once 2^t overflows, even with an infinite previous value', () => {
    const far = decorrelatedJitterV2(1_000_000, 0, constant(0.5));
    assert.deepEqual(far, { delay: 20_000, intrinsic: Number.POSITIVE_INFINITY });
    assert.equal(decorrelatedJitterV2(1_000_001, far.intrinsic, constant(0.5)).delay, 20_000);
    assert.equal(decorrelatedJitterV2(1_000_000, 0, constant(0.5), { factor: 10, base: 0 }).delay, 0);
  });

  it('clamps a previous value larger than the current one to 0', () => {
    assert.equal(decorrelatedJitterV2(1, 1e9, constant(0.5)).delay, 0);
  });

  it('puts the median time of retry n (the sum of the first n delays) near base * 2^(n - 1), as Polly documents', () => {
    const samples = 2001;
    const random = seededRandom(2024);
    const totals: number[][] = [[], [], [], [], [], []];
    for (let i = 0; i < samples; i++) {
      let intrinsic = 0;
      let total = 0;
      for (let attempt = 1; attempt <= totals.length; attempt++) {
        const step = decorrelatedJitterV2(attempt, intrinsic, random, { cap: 1e12 });
        intrinsic = step.intrinsic;
        total += step.delay;
        totals[attempt - 1]!.push(total);
      }
    }
    totals.forEach((sums, index) => {
      sums.sort((a, b) => a - b);
      const median = sums[(samples - 1) / 2]!;
      const target = 100 * 2 ** index;
      assert.ok(median > target * 0.85 && median < target * 1.15, `retry ${index + 1}: median ${median}`);
    });
  });

  it('has delays that telescope: their sum is the last intrinsic value * base / 1.4', () => {
    const random = seededRandom(7);
    let intrinsic = 0;
    let total = 0;
    for (let attempt = 1; attempt <= 12; attempt++) {
      const step = decorrelatedJitterV2(attempt, intrinsic, random, { base: 50, cap: 1e12 });
      intrinsic = step.intrinsic;
      total += step.delay;
    }
    assert.ok(
      Math.abs(total - (intrinsic * 50) / 1.4) < 1e-6 * total,
      `${total} vs ${(intrinsic * 50) / 1.4}`,
    );
  });
});
