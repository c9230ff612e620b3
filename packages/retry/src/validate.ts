import { RetryOptionsError } from './errors.ts';

/** Throws unless `value` is a plain object. */
export function assertPlainObject(option: string, value: unknown): asserts value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new RetryOptionsError(option, value, 'must be a plain object');
  }
  const prototype: unknown = Object.getPrototypeOf(value);
  if (prototype !== Object.prototype && prototype !== null) {
    throw new RetryOptionsError(option, value, 'must be a plain object');
  }
}

/** Throws on the first own key of `value` that is not in `known`. */
export function assertKnownKeys(
  option: string,
  value: Record<string, unknown>,
  known: readonly string[],
): void {
  for (const key of Object.keys(value)) {
    if (!known.includes(key)) {
      const name = option === '' ? key : `${option}.${key}`;
      throw new RetryOptionsError(name, value[key], `unknown option; known options are ${known.join(', ')}`);
    }
  }
}

/** Throws unless `value` is a finite number in `[min, max]`. */
export function assertNumberInRange(
  option: string,
  value: unknown,
  min: number,
  max: number,
): asserts value is number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < min || value > max) {
    throw new RetryOptionsError(option, value, `must be a finite number in [${min}, ${max}]`);
  }
}

/** Throws unless `value` is an integer in `[min, max]`. */
export function assertInteger(
  option: string,
  value: unknown,
  min: number,
  max: number,
): asserts value is number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw new RetryOptionsError(option, value, `must be an integer in [${min}, ${max}]`);
  }
}

/** Throws unless `value` is a boolean. */
export function assertBoolean(option: string, value: unknown): asserts value is boolean {
  if (typeof value !== 'boolean') {
    throw new RetryOptionsError(option, value, 'must be true or false');
  }
}

/** Throws unless `value` is a function. */
export function assertFunction(
  option: string,
  value: unknown,
): asserts value is (...args: never[]) => unknown {
  if (typeof value !== 'function') {
    throw new RetryOptionsError(option, value, 'must be a function');
  }
}

const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

/** Throws unless `value` is a valid HTTP header name. */
export function assertHeaderName(option: string, value: unknown): asserts value is string {
  if (typeof value !== 'string' || !TOKEN.test(value)) {
    throw new RetryOptionsError(option, value, 'must be a valid HTTP header name');
  }
}

/** Throws unless `value` is an array whose every item passes `check`; returns a frozen copy. */
export function assertArray<T>(
  option: string,
  value: unknown,
  check: (item: unknown, name: string) => asserts item is T,
): readonly T[] {
  if (!Array.isArray(value)) {
    throw new RetryOptionsError(option, value, 'must be an array');
  }
  const items: T[] = [];
  value.forEach((item: unknown, index: number) => {
    check(item, `${option}[${index}]`);
    items.push(item);
  });
  return Object.freeze(items);
}
