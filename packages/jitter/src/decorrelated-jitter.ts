import { JitterOptionsError } from './errors.ts';
import type { BackoffOptions, RandomSource } from './options.ts';
import { clampDelay, drawRandom, resolveBackoffOptions } from './options.ts';

/**
 * "Decorrelated jitter" (AWS, Exponential Backoff And Jitter, 2015):
 * `sleep = min(cap, random_between(base, sleep * 3))`, where `sleep` is the previous delay and the
 * first call passes `base` (or `undefined`, which means `base`).
 *
 * Each delay depends on the previous one, not on the attempt number, so `factor` is not used: the
 * growth comes from the `* 3`. `random_between(base, hi)` is `base + random() * (hi - base)` with
 * `hi = max(base, previousDelay * 3)`, so a previous delay below `base / 3` still gives at least `base`
 * (before the cap). With `base` 0 every delay is 0.
 *
 * @throws {JitterOptionsError} on an invalid option or `previousDelay` (must be a finite number `>= 0`),
 *   or when `random()` is outside `[0, 1)`.
 * @example
 * let sleep = decorrelatedJitter(undefined, Math.random); // first retry, in [base, 3 * base)
 * sleep = decorrelatedJitter(sleep, Math.random);          // next retry, in [base, 3 * sleep)
 */
export function decorrelatedJitter(
  previousDelay: number | undefined,
  random: RandomSource,
  options?: BackoffOptions,
): number {
  const { base, cap } = resolveBackoffOptions(options);
  const previous = previousDelay ?? base;
  if (typeof previous !== 'number' || !Number.isFinite(previous) || previous < 0) {
    throw new JitterOptionsError(
      'previousDelay',
      previousDelay,
      'must be a finite number >= 0 (milliseconds)',
    );
  }
  // `previous * 3` overflows to Infinity above Number.MAX_VALUE / 3; `0 * Infinity` would then be NaN
  // (clamped to `cap`) where the formula gives `base`. Any cap is at most Number.MAX_VALUE.
  const high = Math.max(base, Math.min(previous * 3, Number.MAX_VALUE));
  return clampDelay(base + drawRandom(random) * (high - base), cap);
}
