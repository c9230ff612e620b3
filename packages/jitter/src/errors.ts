/** The brand {@link isJitterOptionsError} checks; `Symbol.for` so that two copies of the package agree. */
const jitterOptionsErrorBrand: symbol = Symbol.for('@ky-resilience/jitter.JitterOptionsError');

/**
 * Thrown when an option or argument of a backoff function is invalid, or when the injected
 * `random()` returns something outside `[0, 1)`.
 *
 * `option` names the offending option or argument (`'base'`, `'factor'`, `'cap'`, `'random'`,
 * `'attempt'`, `'previousDelay'`, `'previousIntrinsic'`, `'strategy'`, `'seed'`) and `value`
 * holds what was given (for `'random'` after a call: the value `random()` returned).
 */
export class JitterOptionsError extends RangeError {
  override readonly name: 'JitterOptionsError' = 'JitterOptionsError';
  readonly option: string;
  readonly value: unknown;

  constructor(option: string, value: unknown, requirement: string) {
    super(`Invalid \`${option}\`: ${describe(value)}; ${requirement}`);
    this.option = option;
    this.value = value;
    Object.defineProperty(this, jitterOptionsErrorBrand, { value: true });
  }
}

/** True for a {@link JitterOptionsError}, also one from another copy of this package. */
export function isJitterOptionsError(error: unknown): error is JitterOptionsError {
  return typeof error === 'object' && error !== null && jitterOptionsErrorBrand in error;
}

function describe(value: unknown): string {
  if (typeof value === 'function') {
    return 'a function';
  }
  if (typeof value === 'string') {
    return JSON.stringify(value);
  }
  if (typeof value === 'number' && Object.is(value, -0)) {
    return '-0';
  }
  return String(value);
}
