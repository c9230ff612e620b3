import { JitterOptionsError } from './errors.ts';
import type { BackoffOptions, RandomSource } from './options.ts';
import { checkAttempt, clampDelay, drawRandom, resolveBackoffOptions } from './options.ts';

/** Shapes the first delays (Polly's `pFactor`). */
const P_FACTOR = 4;
/** Scales the medians to about `base`, `2 * base`, `4 * base`... instead of 1.4 times those (Polly's `rpScalingFactor`). */
const RP_SCALING_FACTOR = 1 / 1.4;

/** One step of {@link decorrelatedJitterV2}. */
export type DecorrelatedJitterV2Step = {
  /** The delay to wait before this retry, in milliseconds, within `[0, cap]`. */
  readonly delay: number;
  /** The formula's value for this attempt; pass it as `previousIntrinsic` for the next attempt. */
  readonly intrinsic: number;
};

/**
 * Polly's decorrelated jitter v2 (`DecorrelatedJitterBackoffV2`, Polly.Contrib.WaitAndRetry, by George Cox;
 * also behind Polly v8's jittered exponential backoff and cockatiel's default `ExponentialBackoff` generator).
 *
 * With `t = (attempt - 1) + random()` and `intrinsic(t) = factor^t * tanh(sqrt(4 * t))`:
 * `delay = min(cap, (intrinsic(t) - previousIntrinsic) * base / 1.4)`.
 *
 * The delays telescope: the time from the first failure to retry `n` is
 * `intrinsic(t_n) * base / 1.4`, a smooth curve sampled at a random point of attempt `n`'s
 * interval, so retries spread evenly, with no spikes and no lockstep. With factor 2 the median
 * time to retry `n` is near `base * 2^(n - 1)` (about base, 2 base, 4 base... after the failure), so
 * the single delays are about base, base, 2 base, 4 base...: half of the envelope from the second
 * retry on. Polly fixes `factor` at 2; here it is configurable, as in cockatiel.
 *
 * Pass `previousIntrinsic` 0 for the first attempt, then the returned `intrinsic` each time. When
 * `factor^t` overflows the difference is unbounded and the delay is `cap`.
 *
 * @throws {JitterOptionsError} on an invalid option, `attempt` or `previousIntrinsic` (a number `>= 0`,
 *   `Infinity` allowed), or when `random()` is outside `[0, 1)`.
 * @example
 * let step = decorrelatedJitterV2(1, 0, Math.random);
 * step = decorrelatedJitterV2(2, step.intrinsic, Math.random);
 */
export function decorrelatedJitterV2(
  attempt: number,
  previousIntrinsic: number,
  random: RandomSource,
  options?: BackoffOptions,
): DecorrelatedJitterV2Step {
  checkAttempt(attempt);
  if (typeof previousIntrinsic !== 'number' || !(previousIntrinsic >= 0)) {
    throw new JitterOptionsError(
      'previousIntrinsic',
      previousIntrinsic,
      'must be a number >= 0 (0 for the first attempt)',
    );
  }
  const { base, factor, cap } = resolveBackoffOptions(options);
  const t = attempt - 1 + drawRandom(random);
  const intrinsic = factor ** t * Math.tanh(Math.sqrt(P_FACTOR * t));
  if (base === 0 || cap === 0) {
    return { delay: 0, intrinsic };
  }
  if (intrinsic === Number.POSITIVE_INFINITY) {
    // Beyond the largest double the true difference dwarfs any finite cap.
    return { delay: cap, intrinsic };
  }
  return { delay: clampDelay((intrinsic - previousIntrinsic) * RP_SCALING_FACTOR * base, cap), intrinsic };
}
