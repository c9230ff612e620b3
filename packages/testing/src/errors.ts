/** The brand {@link isUpstreamOptionsError} checks; `Symbol.for` so that two copies of the package agree. */
const upstreamOptionsErrorBrand: symbol = Symbol.for('@ky-resilience/testing.UpstreamOptionsError');

/**
 * Thrown synchronously (or as the rejection of `startUpstream()`) when an option of the
 * fault-injecting upstream is invalid: an unknown key, a negative or non-finite number, a rate
 * outside [0, 1], an unknown scenario, or a host that is not loopback.
 *
 * It extends `TypeError`, so `assert.throws(fn, TypeError)` also matches.
 */
export class UpstreamOptionsError extends TypeError {
  override readonly name: 'UpstreamOptionsError' = 'UpstreamOptionsError';
  /** Path of the offending option, e.g. `routes["/a"].steps[2].status`. */
  readonly option: string;
  /** The value that was refused. */
  readonly value: unknown;

  constructor(option: string, value: unknown, expected: string, options?: { cause?: unknown }) {
    super(`Invalid upstream option \`${option}\`: ${describe(value)} (expected ${expected})`, options);
    this.option = option;
    this.value = value;
    Object.defineProperty(this, upstreamOptionsErrorBrand, { value: true });
  }
}

/** True for an {@link UpstreamOptionsError}, also across module copies (the brand is a global symbol). */
export function isUpstreamOptionsError(error: unknown): error is UpstreamOptionsError {
  return typeof error === 'object' && error !== null && upstreamOptionsErrorBrand in error;
}

function describe(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'number' || typeof value === 'boolean' || value === undefined || value === null) {
    return String(value);
  }
  if (typeof value === 'function') return 'a function';
  try {
    return JSON.stringify(value) ?? typeof value;
  } catch {
    return typeof value;
  }
}
