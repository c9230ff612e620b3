import { envelopeOf } from './envelope.ts';
import type { BackoffOptions } from './options.ts';
import { checkAttempt, resolveBackoffOptions } from './options.ts';

/**
 * No jitter: the delay is the exponential envelope itself, `min(cap, base * factor^(attempt - 1))`.
 * Every client retries in lockstep; use it only when there is a single client or for tests.
 *
 * @throws {JitterOptionsError} on an invalid option or `attempt`.
 * @example noJitter(2) // 200
 */
export function noJitter(attempt: number, options?: BackoffOptions): number {
  checkAttempt(attempt);
  return envelopeOf(attempt, resolveBackoffOptions(options));
}
