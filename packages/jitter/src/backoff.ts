import { decorrelatedJitter } from './decorrelated-jitter.ts';
import { decorrelatedJitterV2 } from './decorrelated-jitter-v2.ts';
import { envelopeOf } from './envelope.ts';
import { equalJitter } from './equal-jitter.ts';
import { JitterOptionsError } from './errors.ts';
import { fullJitter } from './full-jitter.ts';
import type { BackoffOptions, RandomSource, ResolvedBackoffOptions } from './options.ts';
import { resolveBackoffOptions } from './options.ts';

/** The jitter strategies {@link createBackoff} understands. */
export type JitterStrategy = 'none' | 'full' | 'equal' | 'decorrelated' | 'decorrelated-v2';

/** Every {@link JitterStrategy}, in a stable order. */
export const jitterStrategies: readonly JitterStrategy[] = Object.freeze([
  'none',
  'full',
  'equal',
  'decorrelated',
  'decorrelated-v2',
]);

/** True when `value` is one of the {@link JitterStrategy} names. */
export function isJitterStrategy(value: unknown): value is JitterStrategy {
  return typeof value === 'string' && (jitterStrategies as readonly string[]).includes(value);
}

/** Options of {@link createBackoff}: the schedule plus the random source. */
export type CreateBackoffOptions = BackoffOptions & {
  /**
   * The random source, called once per delay (never for `'none'`); must return numbers in `[0, 1)`.
   * Read when the backoff is created, so a test can pass {@link seededRandom}.
   * @default Math.random
   * @example { random: seededRandom(1) }
   */
  random?: RandomSource;
};

/** The delays of one call's retries, one `next()` per retry. */
export type Backoff = {
  /** The strategy this backoff follows. */
  readonly strategy: JitterStrategy;
  /** The schedule, with defaults applied. */
  readonly options: ResolvedBackoffOptions;
  /** How many delays `next()` has returned since creation or the last `reset()`; the attempt of the last delay. */
  readonly attempt: number;
  /**
   * The delay before the next retry in milliseconds, finite and within `[0, cap]`; advances `attempt`.
   * @throws {JitterOptionsError} when `random()` returns a value outside `[0, 1)`; the state is then unchanged.
   */
  next(): number;
  /** Starts the schedule over from the first retry. */
  reset(): void;
};

/**
 * Creates a stateful backoff for one call's retries: the n-th `next()` is the delay before retry n.
 * Options are validated here, once.
 *
 * @throws {JitterOptionsError} on an unknown strategy or an invalid option.
 * @example
 * const backoff = createBackoff('full', { base: 200, cap: 10_000 });
 * const delay = backoff.next(); // in [0, 200)
 */
export function createBackoff(strategy: JitterStrategy, options?: CreateBackoffOptions): Backoff {
  if (!isJitterStrategy(strategy)) {
    throw new JitterOptionsError('strategy', strategy, `must be one of ${jitterStrategies.join(', ')}`);
  }
  const resolved = resolveBackoffOptions(options, ['random']);
  const random = options?.random ?? Math.random;
  if (typeof random !== 'function') {
    throw new JitterOptionsError('random', random, 'must be a function returning a number in [0, 1)');
  }
  let attempt = 0;
  let previousDelay: number | undefined;
  let previousIntrinsic = 0;

  const nextDelay = (): number => {
    const nextAttempt = attempt + 1;
    switch (strategy) {
      case 'none':
        return envelopeOf(nextAttempt, resolved);
      case 'full':
        return fullJitter(nextAttempt, random, resolved);
      case 'equal':
        return equalJitter(nextAttempt, random, resolved);
      case 'decorrelated': {
        const delay = decorrelatedJitter(previousDelay, random, resolved);
        previousDelay = delay;
        return delay;
      }
      case 'decorrelated-v2': {
        const step = decorrelatedJitterV2(nextAttempt, previousIntrinsic, random, resolved);
        previousIntrinsic = step.intrinsic;
        return step.delay;
      }
    }
  };

  return {
    strategy,
    options: resolved,
    get attempt(): number {
      return attempt;
    },
    next(): number {
      const delay = nextDelay();
      attempt += 1;
      return delay;
    },
    reset(): void {
      attempt = 0;
      previousDelay = undefined;
      previousIntrinsic = 0;
    },
  };
}
