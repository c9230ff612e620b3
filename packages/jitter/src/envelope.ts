import type { BackoffOptions, ResolvedBackoffOptions } from './options.ts';
import { checkAttempt, resolveBackoffOptions } from './options.ts';

/**
 * The un-jittered exponential schedule: `min(cap, base * factor^(attempt - 1))`, with `attempt`
 * 1-based (attempt 1, the first retry, gives `base`, capped).
 *
 * Overflow-safe: `factor^(attempt - 1)` may overflow to `Infinity`, which the cap absorbs; the
 * only NaN source, `0 * Infinity` when `base` is 0, is excluded. Non-decreasing in `attempt`.
 *
 * @throws {JitterOptionsError} on an invalid option or an `attempt` that is not an integer `>= 1`.
 * @example exponentialEnvelope(3, { base: 100 }) // 400
 */
export function exponentialEnvelope(attempt: number, options?: BackoffOptions): number {
  checkAttempt(attempt);
  return envelopeOf(attempt, resolveBackoffOptions(options));
}

/** {@link exponentialEnvelope} for options that are already resolved and an attempt already checked. */
export function envelopeOf(attempt: number, { base, factor, cap }: ResolvedBackoffOptions): number {
  if (base === 0 || cap === 0) {
    return 0;
  }
  return Math.min(cap, base * factor ** (attempt - 1));
}
