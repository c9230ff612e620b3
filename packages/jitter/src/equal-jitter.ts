import { envelopeOf } from './envelope.ts';
import type { BackoffOptions, RandomSource } from './options.ts';
import { checkAttempt, clampDelay, drawRandom, resolveBackoffOptions } from './options.ts';

/**
 * "Equal jitter" (AWS, Exponential Backoff And Jitter, 2015): with
 * `temp = min(cap, base * factor^(attempt - 1))`, the delay is `temp / 2 + random_between(0, temp / 2)`,
 * uniform in `[temp / 2, temp)`.
 *
 * Keeps at least half of the exponential wait (never retries almost at once) at the cost of more
 * contention than full jitter.
 *
 * @throws {JitterOptionsError} on an invalid option or `attempt`, or when `random()` is outside `[0, 1)`.
 * @example equalJitter(3, () => 0.5) // 300 (200 + 0.5 * 200)
 */
export function equalJitter(attempt: number, random: RandomSource, options?: BackoffOptions): number {
  checkAttempt(attempt);
  const resolved = resolveBackoffOptions(options);
  const envelope = envelopeOf(attempt, resolved);
  const half = envelope / 2;
  // `min` guards subnormal envelopes, where halving rounds and the sum can pass the envelope by an ulp.
  return clampDelay(Math.min(envelope, half + drawRandom(random) * half), resolved.cap);
}
