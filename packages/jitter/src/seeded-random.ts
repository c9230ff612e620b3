import { JitterOptionsError } from './errors.ts';
import type { RandomSource } from './options.ts';

/**
 * A small deterministic PRNG (splitmix32) returning numbers in `[0, 1)` with 32 bits of
 * resolution, for tests and benchmarks. Not for cryptography.
 *
 * The same seed always gives the same sequence; every call of `seededRandom` starts a new,
 * independent sequence.
 *
 * @throws {JitterOptionsError} unless `seed` is a safe integer (only its low 32 bits are used).
 * @example
 * const random = seededRandom(42);
 * fullJitter(1, random);
 */
export function seededRandom(seed: number): RandomSource {
  if (!Number.isSafeInteger(seed)) {
    throw new JitterOptionsError('seed', seed, 'must be a safe integer');
  }
  let state = seed | 0;
  return (): number => {
    state = (state + 0x9e3779b9) | 0;
    let z = state;
    z = Math.imul(z ^ (z >>> 16), 0x21f0aaad);
    z = Math.imul(z ^ (z >>> 15), 0x735a2d97);
    z ^= z >>> 15;
    return (z >>> 0) / 4_294_967_296;
  };
}
