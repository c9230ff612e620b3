import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import type { BackoffOptions, JitterStrategy } from '../src/index.ts';
import {
  createBackoff,
  decorrelatedJitter,
  decorrelatedJitterV2,
  equalJitter,
  exponentialEnvelope,
  fullJitter,
  jitterStrategies,
  noJitter,
  seededRandom,
} from '../src/index.ts';

const numRuns = 500;

/** Everyday values and the extremes: 0, tiny, huge (up to Number.MAX_VALUE), base above cap. */
const milliseconds = fc.oneof(
  fc.constant(0),
  fc.double({ min: 0, max: 100_000, noNaN: true }),
  fc.double({ min: 0, max: Number.MAX_VALUE, noNaN: true, noDefaultInfinity: true }),
);
const factors = fc.oneof(
  fc.constant(1),
  fc.constant(2),
  fc.double({ min: 1, max: 10, noNaN: true }),
  fc.double({ min: 1, max: Number.MAX_VALUE, noNaN: true, noDefaultInfinity: true }),
);
const options = fc.record({ base: milliseconds, factor: factors, cap: milliseconds });
const attempts = fc.oneof(
  fc.integer({ min: 1, max: 64 }),
  fc.integer({ min: 1, max: 1_000_000 }),
  fc.constant(1_000_000),
);
/** random() values, with both ends of [0, 1) forced in. */
const unitValues = fc.oneof(
  fc.constant(0),
  fc.constant(1 - 2 ** -53),
  fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }),
);

function assertDelay(delay: number, cap: number): void {
  assert.ok(Number.isFinite(delay), `not finite: ${delay}`);
  assert.ok(delay >= 0 && delay <= cap, `${delay} outside [0, ${cap}]`);
  assert.ok(!Object.is(delay, -0), 'returned -0');
}

function capOf(value: BackoffOptions): number {
  return value.cap ?? 20_000;
}

describe('exponentialEnvelope (property)', () => {
  it('is finite and within [0, cap] for every attempt up to 10^6', () => {
    fc.assert(
      fc.property(attempts, options, (attempt, value) => {
        assertDelay(exponentialEnvelope(attempt, value), capOf(value));
      }),
      { numRuns },
    );
  });

  it('is non-decreasing in attempt', () => {
    fc.assert(
      fc.property(attempts, attempts, options, (a, b, value) => {
        const [low, high] = a <= b ? [a, b] : [b, a];
        assert.ok(exponentialEnvelope(low, value) <= exponentialEnvelope(high, value));
      }),
      { numRuns },
    );
  });

  it('is non-decreasing step by step over the first 1100 attempts (past the overflow of 2^t)', () => {
    fc.assert(
      fc.property(options, (value) => {
        let previous = 0;
        for (let attempt = 1; attempt <= 1100; attempt++) {
          const envelope = exponentialEnvelope(attempt, value);
          assert.ok(envelope >= previous, `attempt ${attempt}: ${envelope} < ${previous}`);
          previous = envelope;
        }
      }),
      { numRuns: 100 },
    );
  });

  it('equals min(cap, base * factor^(attempt - 1)) wherever that product is finite', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 40 }), options, (attempt, value) => {
        const product = value.base * value.factor ** (attempt - 1);
        fc.pre(Number.isFinite(product));
        assert.equal(exponentialEnvelope(attempt, value), Math.min(value.cap, product));
      }),
      { numRuns },
    );
  });
});

describe('each strategy (property)', () => {
  it('noJitter is the envelope', () => {
    fc.assert(
      fc.property(attempts, options, (attempt, value) => {
        assert.equal(noJitter(attempt, value), exponentialEnvelope(attempt, value));
      }),
      { numRuns },
    );
  });

  it('fullJitter is within [0, envelope], finite, for every attempt up to 10^6', () => {
    fc.assert(
      fc.property(attempts, options, unitValues, (attempt, value, u) => {
        const delay = fullJitter(attempt, () => u, value);
        assertDelay(delay, capOf(value));
        assert.ok(delay <= exponentialEnvelope(attempt, value));
      }),
      { numRuns },
    );
  });

  it('equalJitter is within [envelope / 2, envelope], finite, for every attempt up to 10^6', () => {
    fc.assert(
      fc.property(attempts, options, unitValues, (attempt, value, u) => {
        const delay = equalJitter(attempt, () => u, value);
        const envelope = exponentialEnvelope(attempt, value);
        assertDelay(delay, capOf(value));
        assert.ok(delay >= envelope / 2 && delay <= envelope, `${delay} vs envelope ${envelope}`);
      }),
      { numRuns },
    );
  });

  it('decorrelatedJitter is within [min(base, cap), cap] for any previous delay', () => {
    const previous = fc.oneof(fc.constant(undefined), milliseconds);
    fc.assert(
      fc.property(previous, options, unitValues, (previousDelay, value, u) => {
        const delay = decorrelatedJitter(previousDelay, () => u, value);
        assertDelay(delay, capOf(value));
        assert.ok(delay >= Math.min(value.base, value.cap), `${delay} below base`);
      }),
      { numRuns },
    );
  });

  it('decorrelatedJitterV2 is finite and within [0, cap] at any attempt up to 10^6, from any previous step', () => {
    fc.assert(
      fc.property(attempts, options, unitValues, unitValues, (attempt, value, u1, u2) => {
        const first = attempt > 1 ? decorrelatedJitterV2(attempt - 1, 0, () => u1, value).intrinsic : 0;
        const step = decorrelatedJitterV2(attempt, first, () => u2, value);
        assertDelay(step.delay, capOf(value));
        assert.ok(step.intrinsic >= first, 'the intrinsic curve went down');
      }),
      { numRuns },
    );
  });
});

describe('createBackoff (property)', () => {
  const strategies = fc.constantFrom<JitterStrategy>(...jitterStrategies);
  const seeds = fc.integer({ min: -(2 ** 31), max: 2 ** 32 });

  it('every delay of a 60-retry sequence is finite and within [0, cap]', () => {
    fc.assert(
      fc.property(strategies, options, seeds, (strategy, value, seed) => {
        const backoff = createBackoff(strategy, { ...value, random: seededRandom(seed) });
        for (let i = 1; i <= 60; i++) {
          assertDelay(backoff.next(), value.cap);
        }
        assert.equal(backoff.attempt, 60);
      }),
      { numRuns: 300 },
    );
  });

  it('is deterministic for a seeded random', () => {
    fc.assert(
      fc.property(strategies, options, seeds, (strategy, value, seed) => {
        const run = (): number[] => {
          const backoff = createBackoff(strategy, { ...value, random: seededRandom(seed) });
          return Array.from({ length: 20 }, () => backoff.next());
        };
        assert.deepEqual(run(), run());
      }),
      { numRuns: 300 },
    );
  });

  it("the 'none' schedule (the envelope) is non-decreasing", () => {
    fc.assert(
      fc.property(options, (value) => {
        const backoff = createBackoff('none', value);
        let previous = 0;
        for (let i = 0; i < 80; i++) {
          const delay = backoff.next();
          assert.ok(delay >= previous);
          previous = delay;
        }
      }),
      { numRuns: 200 },
    );
  });

  it('matches the pure functions step by step', () => {
    fc.assert(
      fc.property(
        strategies,
        options,
        fc.array(unitValues, { minLength: 1, maxLength: 30 }),
        (strategy, value, draws) => {
          let index = 0;
          const backoff = createBackoff(strategy, { ...value, random: () => draws[index++ % draws.length]! });
          let previousDelay: number | undefined;
          let intrinsic = 0;
          draws.forEach((u, i) => {
            const attempt = i + 1;
            const random = (): number => u;
            let expected: number;
            if (strategy === 'none') {
              expected = noJitter(attempt, value);
              index++;
            } else if (strategy === 'full') {
              expected = fullJitter(attempt, random, value);
            } else if (strategy === 'equal') {
              expected = equalJitter(attempt, random, value);
            } else if (strategy === 'decorrelated') {
              expected = decorrelatedJitter(previousDelay, random, value);
              previousDelay = expected;
            } else {
              const step = decorrelatedJitterV2(attempt, intrinsic, random, value);
              intrinsic = step.intrinsic;
              expected = step.delay;
            }
            assert.equal(backoff.next(), expected);
          });
        },
      ),
      { numRuns: 300 },
    );
  });
});
