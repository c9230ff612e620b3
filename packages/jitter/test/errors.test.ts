import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { JitterStrategy, RandomSource } from '../src/index.ts';
import {
  createBackoff,
  decorrelatedJitter,
  decorrelatedJitterV2,
  equalJitter,
  exponentialEnvelope,
  fullJitter,
  isJitterOptionsError,
  JitterOptionsError,
  noJitter,
  resolveBackoffOptions,
  seededRandom,
} from '../src/index.ts';

function assertOptionsError(fn: () => unknown, option: string, value: unknown): void {
  assert.throws(fn, (error: unknown) => {
    assert.ok(error instanceof JitterOptionsError, `not a JitterOptionsError: ${String(error)}`);
    assert.ok(error instanceof RangeError);
    assert.ok(isJitterOptionsError(error));
    assert.equal(error.name, 'JitterOptionsError');
    assert.equal(error.option, option);
    assert.ok(Object.is(error.value, value), `value ${String(error.value)} is not ${String(value)}`);
    assert.match(error.message, new RegExp(`\`${option}\``));
    return true;
  });
}

const half: RandomSource = () => 0.5;

describe('JitterOptionsError for bad options', () => {
  const bad: [option: 'base' | 'factor' | 'cap', value: unknown][] = [
    ['base', -1],
    ['base', Number.NaN],
    ['base', Number.POSITIVE_INFINITY],
    ['base', '100'],
    ['base', null],
    ['factor', 0.999],
    ['factor', 0],
    ['factor', Number.NaN],
    ['factor', Number.POSITIVE_INFINITY],
    ['cap', -0.5],
    ['cap', Number.POSITIVE_INFINITY],
    ['cap', Number.NaN],
  ];
  for (const [option, value] of bad) {
    it(`rejects ${option} = ${String(value)} in every function`, () => {
      const options = { [option]: value } as never;
      assertOptionsError(() => exponentialEnvelope(1, options), option, value);
      assertOptionsError(() => noJitter(1, options), option, value);
      assertOptionsError(() => fullJitter(1, half, options), option, value);
      assertOptionsError(() => equalJitter(1, half, options), option, value);
      assertOptionsError(() => decorrelatedJitter(undefined, half, options), option, value);
      assertOptionsError(() => decorrelatedJitterV2(1, 0, half, options), option, value);
      assertOptionsError(() => createBackoff('full', options), option, value);
    });
  }

  it('accepts base > cap (every delay is then at most cap), factor 1 and zeros', () => {
    assert.deepEqual(resolveBackoffOptions({ base: 500, cap: 100 }), { base: 500, factor: 2, cap: 100 });
    assert.deepEqual(resolveBackoffOptions({ base: 0, factor: 1, cap: 0 }), { base: 0, factor: 1, cap: 0 });
  });

  it('normalises -0 to 0', () => {
    const resolved = resolveBackoffOptions({ base: -0, cap: -0 });
    assert.ok(Object.is(resolved.base, 0) && Object.is(resolved.cap, 0));
  });

  it('rejects a non-object options argument', () => {
    assertOptionsError(() => exponentialEnvelope(1, 5 as never), 'options', 5);
  });

  it('rejects an unknown key in every function (a misspelt option is not lost silently)', () => {
    const options = { bas: 5 } as never;
    assertOptionsError(() => exponentialEnvelope(1, options), 'bas', 5);
    assertOptionsError(() => noJitter(1, options), 'bas', 5);
    assertOptionsError(() => fullJitter(1, half, options), 'bas', 5);
    assertOptionsError(() => equalJitter(1, half, options), 'bas', 5);
    assertOptionsError(() => decorrelatedJitter(undefined, half, options), 'bas', 5);
    assertOptionsError(() => decorrelatedJitterV2(1, 0, half, options), 'bas', 5);
    assertOptionsError(() => createBackoff('full', options), 'bas', 5);
    // `random` belongs to createBackoff only; a key set to undefined is no option.
    assertOptionsError(() => fullJitter(1, half, { random: half } as never), 'random', half);
    assert.equal(createBackoff('none', { base: 7, random: half }).next(), 7);
    assert.equal(noJitter(1, { base: 7, bas: undefined } as never), 7);
  });
});

describe('JitterOptionsError for bad arguments', () => {
  for (const attempt of [0, -1, 1.5, Number.NaN, Number.POSITIVE_INFINITY]) {
    it(`rejects attempt = ${attempt}`, () => {
      assertOptionsError(() => exponentialEnvelope(attempt), 'attempt', attempt);
      assertOptionsError(() => noJitter(attempt), 'attempt', attempt);
      assertOptionsError(() => fullJitter(attempt, half), 'attempt', attempt);
      assertOptionsError(() => equalJitter(attempt, half), 'attempt', attempt);
      assertOptionsError(() => decorrelatedJitterV2(attempt, 0, half), 'attempt', attempt);
    });
  }

  for (const previous of [-1, Number.NaN, Number.POSITIVE_INFINITY]) {
    it(`rejects previousDelay = ${previous}`, () => {
      assertOptionsError(() => decorrelatedJitter(previous, half), 'previousDelay', previous);
    });
  }

  for (const previous of [-1, Number.NaN]) {
    it(`rejects previousIntrinsic = ${previous}`, () => {
      assertOptionsError(() => decorrelatedJitterV2(1, previous, half), 'previousIntrinsic', previous);
    });
  }

  it('rejects an unknown strategy', () => {
    assertOptionsError(() => createBackoff('exponential' as JitterStrategy), 'strategy', 'exponential');
  });

  for (const seed of [1.5, Number.NaN, 2 ** 53]) {
    it(`rejects seed = ${seed}`, () => {
      assertOptionsError(() => seededRandom(seed), 'seed', seed);
    });
  }
});

describe('JitterOptionsError for a bad random source', () => {
  for (const value of [1, 1.5, -0.001, Number.NaN, Number.POSITIVE_INFINITY, '0.5', undefined]) {
    it(`rejects random() returning ${String(value)}`, () => {
      const random = (() => value) as RandomSource;
      assertOptionsError(() => fullJitter(1, random), 'random', value);
      assertOptionsError(() => equalJitter(1, random), 'random', value);
      assertOptionsError(() => decorrelatedJitter(undefined, random), 'random', value);
      assertOptionsError(() => decorrelatedJitterV2(1, 0, random), 'random', value);
      assertOptionsError(() => createBackoff('decorrelated-v2', { random }).next(), 'random', value);
    });
  }

  it('rejects a random that is not a function', () => {
    assertOptionsError(() => fullJitter(1, 0.5 as never), 'random', 0.5);
    assertOptionsError(() => createBackoff('full', { random: 0.5 as never }), 'random', 0.5);
  });

  it('does not call random for a delay with no jitter', () => {
    const backoff = createBackoff('none', { random: (() => 7) as RandomSource });
    assert.equal(backoff.next(), 100);
  });
});

describe('isJitterOptionsError', () => {
  it('is false for other values', () => {
    assert.equal(isJitterOptionsError(new RangeError('x')), false);
    assert.equal(isJitterOptionsError({ name: 'JitterOptionsError', option: 'base' }), false);
    assert.equal(isJitterOptionsError(null), false);
    assert.equal(isJitterOptionsError('JitterOptionsError'), false);
  });

  it('recognises the brand of another copy of the class', () => {
    const foreign = Object.create(null) as object;
    Object.defineProperty(foreign, Symbol.for('@ky-resilience/jitter.JitterOptionsError'), { value: true });
    assert.equal(isJitterOptionsError(foreign), true);
  });

  it('names the option and shows the value in the message', () => {
    const error = new JitterOptionsError('cap', -3, 'must be a finite number >= 0');
    assert.equal(error.message, 'Invalid `cap`: -3; must be a finite number >= 0');
  });
});
