import type { RetryDecision } from './decision.ts';

/**
 * Where the delay before a retry came from: the jittered backoff, the server (`Retry-After` or a
 * rate-limit reset), or an `afterResponse` hook that forced the retry with its own `delay`.
 */
export type DelaySource = 'backoff' | 'retry-after' | 'hook';

/**
 * Passed to `onRetry` when a retry is scheduled, before the delay; for a retry forced by an
 * `afterResponse` hook (`return ky.retry()`), when the retry starts, after the delay.
 */
export type RetryEvent = {
  /** The host (`new URL(request.url).host`). */
  readonly host: string;
  /** The attempt about to be made after the delay (2 for the first retry). */
  readonly attempt: number;
  /** The delay ky will sleep before that attempt, in milliseconds. */
  readonly delay: number;
  /**
   * The failure being retried: `'status 503'`, `'ECONNRESET'`, `'timeout:headers'`...; `'forced'` (or
   * `'forced: <code>'`) for a retry forced by an `afterResponse` hook.
   */
  readonly reason: string;
  /** Whether the delay is the jittered backoff, the server's Retry-After (or rate-limit reset), or a forcing hook's own. */
  readonly delaySource: DelaySource;
  /** The failed attempt's error. */
  readonly error: Error;
};

/** Passed to `onGiveUp` once when a call fails for good. */
export type GiveUpEvent = {
  /** The host (`new URL(request.url).host`). */
  readonly host: string;
  /** Attempts made (1 when the first attempt was not retried). */
  readonly attempts: number;
  /** The error the call rejects with. */
  readonly error: Error;
  /** Why it was not retried (again). */
  readonly decision: RetryDecision;
};

/** Called when a retry is scheduled. An exception thrown here rejects the call with it. */
export type OnRetry = (event: RetryEvent) => void;

/** Called once when a call fails for good. An exception thrown here rejects the call with it. */
export type OnGiveUp = (event: GiveUpEvent) => void;
