import { JitterOptionsError } from './errors.ts';

/** The exponential schedule every strategy is built on: `min(cap, base * factor^(attempt - 1))`. */
export type BackoffOptions = {
  /**
   * The delay of the first retry in milliseconds (before jitter). For `'decorrelated-v2'` it is
   * about the median first delay (about 0.9 × base). Finite and `>= 0`. A `base` above `cap` is allowed: every delay is then `cap`
   * (or at most `cap` after jitter).
   * @default 100
   * @example { base: 250 }
   */
  base?: number;
  /**
   * The growth factor between consecutive attempts. Finite and `>= 1` (`1` gives a constant schedule).
   * @default 2
   * @example { factor: 1.5 }
   */
  factor?: number;
  /**
   * The largest delay any strategy returns, in milliseconds. Finite and `>= 0`.
   * @default 20_000
   * @example { cap: 5_000 }
   */
  cap?: number;
};

/** A source of uniformly distributed numbers in `[0, 1)`, such as `Math.random` or {@link seededRandom}. */
export type RandomSource = () => number;

/** {@link BackoffOptions} with every default applied and every value checked. */
export type ResolvedBackoffOptions = {
  readonly base: number;
  readonly factor: number;
  readonly cap: number;
};

/** The defaults of {@link BackoffOptions}. */
export const defaultBackoffOptions: ResolvedBackoffOptions = Object.freeze({
  base: 100,
  factor: 2,
  cap: 20_000,
});

const backoffOptionKeys: readonly string[] = ['base', 'factor', 'cap'];

/**
 * Applies the defaults and validates the options. `extraKeys`: other keys the caller accepts in the
 * same object (`random` for `createBackoff`).
 * @throws {JitterOptionsError} when `base` or `cap` is not a finite number `>= 0`, `factor` not a finite
 * number `>= 1`, or a key is unknown (a misspelt option would otherwise be lost silently).
 */
export function resolveBackoffOptions(
  options?: BackoffOptions,
  extraKeys?: readonly string[],
): ResolvedBackoffOptions {
  if (options === undefined) {
    return defaultBackoffOptions;
  }
  if (typeof options !== 'object' || options === null) {
    throw new JitterOptionsError('options', options, 'must be an object or undefined');
  }
  for (const key in options) {
    if (
      Object.hasOwn(options, key) &&
      !backoffOptionKeys.includes(key) &&
      extraKeys?.includes(key) !== true &&
      (options as Record<string, unknown>)[key] !== undefined
    ) {
      const known = extraKeys === undefined ? backoffOptionKeys : [...backoffOptionKeys, ...extraKeys];
      throw new JitterOptionsError(
        key,
        (options as Record<string, unknown>)[key],
        `unknown option (known: ${known.join(', ')})`,
      );
    }
  }
  const { base = defaultBackoffOptions.base, factor = defaultBackoffOptions.factor } = options;
  const { cap = defaultBackoffOptions.cap } = options;
  if (!isNonNegativeFinite(base)) {
    throw new JitterOptionsError('base', base, 'must be a finite number >= 0 (milliseconds)');
  }
  if (typeof factor !== 'number' || !Number.isFinite(factor) || factor < 1) {
    throw new JitterOptionsError('factor', factor, 'must be a finite number >= 1');
  }
  if (!isNonNegativeFinite(cap)) {
    throw new JitterOptionsError('cap', cap, 'must be a finite number >= 0 (milliseconds)');
  }
  // Normalise -0 to 0 so that no strategy can return -0.
  return { base: base + 0, factor, cap: cap + 0 };
}

/**
 * Calls `random` once and checks the result.
 * @throws {JitterOptionsError} when `random` is not a function or returns anything but a number in `[0, 1)`.
 */
export function drawRandom(random: RandomSource): number {
  if (typeof random !== 'function') {
    throw new JitterOptionsError('random', random, 'must be a function returning a number in [0, 1)');
  }
  const value = random();
  if (typeof value !== 'number' || !(value >= 0 && value < 1)) {
    throw new JitterOptionsError('random', value, 'random() must return a number in [0, 1)');
  }
  return value;
}

/**
 * Checks a 1-based attempt number (attempt 1 is the first retry, as in ky's `retry.delay`).
 * @throws {JitterOptionsError} unless `attempt` is an integer `>= 1`.
 */
export function checkAttempt(attempt: number): void {
  if (!Number.isInteger(attempt) || attempt < 1) {
    throw new JitterOptionsError('attempt', attempt, 'must be an integer >= 1 (1 is the first retry)');
  }
}

/** Clamps a computed delay into `[0, cap]`; NaN (which no formula here should produce) becomes `cap`. */
export function clampDelay(delay: number, cap: number): number {
  if (Number.isNaN(delay)) {
    return cap;
  }
  return Math.min(cap, Math.max(0, delay));
}

function isNonNegativeFinite(value: unknown): value is number {
  return typeof value === 'number' && Number.isFinite(value) && value >= 0;
}
