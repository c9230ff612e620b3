import { UpstreamOptionsError } from './errors.ts';

/** Largest delay `setTimeout` honours (about 24.8 days). */
export const MAX_DELAY_MS = 2_147_483_647;

export function assertPlainObject(option: string, value: unknown): asserts value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new UpstreamOptionsError(option, value, 'an object');
  }
}

export function assertKnownKeys(
  option: string,
  value: Record<string, unknown>,
  known: readonly string[],
): void {
  for (const key of Object.keys(value)) {
    if (!known.includes(key)) {
      throw new UpstreamOptionsError(
        option === '' ? key : `${option}.${key}`,
        value[key],
        `a known option: ${known.join(', ')}`,
      );
    }
  }
}

export function assertNonNegative(option: string, value: unknown, max: number = Number.MAX_VALUE): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0 || value > max) {
    throw new UpstreamOptionsError(option, value, `a finite number in [0, ${max}]`);
  }
  return value;
}

export function assertFinite(option: string, value: unknown): number {
  if (typeof value !== 'number' || !Number.isFinite(value)) {
    throw new UpstreamOptionsError(option, value, 'a finite number');
  }
  return value;
}

export function assertInteger(option: string, value: unknown, min: number, max: number): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw new UpstreamOptionsError(option, value, `an integer in [${min}, ${max}]`);
  }
  return value;
}

export function assertRate(option: string, value: unknown): number {
  if (typeof value !== 'number' || Number.isNaN(value) || value < 0 || value > 1) {
    throw new UpstreamOptionsError(option, value, 'a rate in [0, 1]');
  }
  return value;
}

export function assertStatus(option: string, value: unknown): number {
  return assertInteger(option, value, 200, 599);
}

export function assertString(option: string, value: unknown): string {
  if (typeof value !== 'string') throw new UpstreamOptionsError(option, value, 'a string');
  return value;
}

/** Characters Node refuses in a header value (its `validateHeaderValue`): controls such as CR and LF, and anything above U+00FF. */
const INVALID_HEADER_VALUE = /[^\t\x20-\x7e\x80-\xff]/;

/** A string Node can send as a header value. */
export function assertHeaderValue(option: string, value: unknown): string {
  const text = assertString(option, value);
  if (INVALID_HEADER_VALUE.test(text)) {
    throw new UpstreamOptionsError(
      option,
      value,
      'a header value without control characters (CR, LF...) or characters above U+00FF',
    );
  }
  return text;
}

export function assertBoolean(option: string, value: unknown): boolean {
  if (typeof value !== 'boolean') throw new UpstreamOptionsError(option, value, 'a boolean');
  return value;
}

export function assertFunction(option: string, value: unknown): void {
  if (typeof value !== 'function') throw new UpstreamOptionsError(option, value, 'a function');
}
