import { envelopeOf } from './envelope.ts';
import type { BackoffOptions, RandomSource } from './options.ts';
import { checkAttempt, clampDelay, drawRandom, resolveBackoffOptions } from './options.ts';

/**
 * "Full jitter" (AWS, Exponential Backoff And Jitter, 2015):
 * `random_between(0, min(cap, base * factor^(attempt - 1)))`, uniform in `[0, envelope)`.
 *
 * The AWS recommendation when many clients contend for one resource: fewest total calls and
 * least work. Also what ky's `jitter: true` does.
 *
 * @throws {JitterOptionsError} on an invalid option or `attempt`, or when `random()` is outside `[0, 1)`.
 * @example fullJitter(3, () => 0.5) // 200 (half of the 400 ms envelope)
 */
export function fullJitter(attempt: number, random: RandomSource, options?: BackoffOptions): number {
  checkAttempt(attempt);
  const resolved = resolveBackoffOptions(options);
  const envelope = envelopeOf(attempt, resolved);
  return clampDelay(drawRandom(random) * envelope, resolved.cap);
}
