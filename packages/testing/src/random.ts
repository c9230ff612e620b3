import { assertFinite } from './validate.ts';

/**
 * A small deterministic PRNG (mulberry32) returning numbers in [0, 1).
 * The same seed always gives the same sequence.
 *
 * @example const random = seededRandom(42); random(); // 0.6011...
 */
export function seededRandom(seed: number = 1): () => number {
  let state = assertFinite('seed', seed) >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}
