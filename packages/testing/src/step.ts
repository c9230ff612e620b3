import { UpstreamOptionsError } from './errors.ts';
import {
  assertBoolean,
  assertFinite,
  assertHeaderValue,
  assertInteger,
  assertKnownKeys,
  assertNonNegative,
  assertPlainObject,
  assertStatus,
  assertString,
  MAX_DELAY_MS,
} from './validate.ts';

/**
 * What the upstream does for one request. Every field is optional: `{}` is a healthy
 * `200` with the default JSON body.
 */
export type Step = {
  /**
   * Response status (200–599).
   * @default 200
   * @example { status: 503 }
   */
  status?: number;
  /**
   * Extra response headers (names are sent lower-cased by Node). A value Node cannot send (CR, LF
   * or another control character except tab, a character above U+00FF) is refused.
   * @default {}
   * @example { headers: { 'x-request-id': 'abc' } }
   */
  headers?: Record<string, string>;
  /**
   * Response body. Without it the body is `{"ok":<status < 400>,"route":"<pathname>","n":<request number>}`
   * with `content-type: application/json`.
   * @default the JSON body above
   * @example { body: 'plain text' }
   */
  body?: string;
  /**
   * `Retry-After` header. A number (whole seconds, a non-negative safe integer) is sent as
   * delay-seconds (`Retry-After: 3`); a string is sent verbatim (an HTTP-date, a garbage value, a
   * huge value...), with the same characters as `headers`.
   * @default no header
   * @example { status: 429, retryAfter: 3 }
   * @example { status: 503, retryAfter: 'soon' }
   */
  retryAfter?: number | string;
  /**
   * `Retry-After` as an HTTP-date, this many ms from the upstream's wall clock (`now` option);
   * negative gives a date in the past. At most 1e13 ms (about 317 years) either way.
   * @default no header
   * @example { status: 503, retryAfterDate: 2000 }
   */
  retryAfterDate?: number;
  /**
   * `RateLimit-Reset: N` (whole seconds, a non-negative safe integer).
   * @default no header
   * @example { status: 429, rateLimitReset: 5 }
   */
  rateLimitReset?: number;
  /**
   * `X-RateLimit-Reset: N` (epoch seconds, a non-negative safe integer, sent as given).
   * @default no header
   * @example { status: 429, xRateLimitReset: 1767225600 }
   */
  xRateLimitReset?: number;
  /**
   * Wait this long (ms) after the request body is read before sending the response head
   * ("headers that come late"). Also applies before a `reset: 'before-headers'`.
   * @default 0
   * @example { delayHeadersMs: 2000 }
   */
  delayHeadersMs?: number;
  /**
   * Send the head (and `bodyPrefix` if given) and then never finish the body, until the socket closes.
   * @default false
   * @example { stallBody: true, bodyPrefix: '{"items":[' }
   */
  stallBody?: boolean;
  /**
   * First body chunk for `stallBody` and `reset: 'mid-body'`. For `mid-body` it defaults to the
   * first half of the body.
   * @default none for `stallBody`; the first half of the body for `reset: 'mid-body'`
   * @example { reset: 'mid-body', bodyPrefix: 'partial' }
   */
  bodyPrefix?: string;
  /**
   * A slow but steady body: after the head, `chunks` writes of `chunk`, one every `intervalMs`,
   * then the end of the body (total ≈ chunks × intervalMs).
   * @default no drip
   * @example { drip: { chunks: 5, intervalMs: 200, chunk: '.' } }
   */
  drip?: { chunks: number; intervalMs: number; chunk?: string };
  /**
   * Destroy the socket with a TCP RST (`socket.resetAndDestroy()`): `'before-headers'` before any
   * byte of the response, `'mid-body'` after the head and the first body chunk. The client sees
   * `ECONNRESET` / "other side closed". For `'mid-body'` the RST follows the first chunk by about
   * 20 ms, so the client has read that chunk first.
   * @default no reset
   * @example { reset: 'before-headers' }
   */
  reset?: 'before-headers' | 'mid-body';
  /**
   * Respond with `Connection: close`, then close the connection.
   * @default false
   * @example { close: true }
   */
  close?: boolean;
};

const STEP_KEYS: readonly string[] = [
  'status',
  'headers',
  'body',
  'retryAfter',
  'retryAfterDate',
  'rateLimitReset',
  'xRateLimitReset',
  'delayHeadersMs',
  'stallBody',
  'bodyPrefix',
  'drip',
  'reset',
  'close',
];

/**
 * Largest `retryAfterDate` either way (1e13 ms, about 317 years): from any wall clock between the
 * years 1700 and 9600 the date stays a four-digit year that `Date` formats as an HTTP-date.
 */
export const MAX_RETRY_AFTER_DATE_MS = 10_000_000_000_000;

function assertWholeSeconds(option: string, value: unknown): number {
  return assertInteger(option, value, 0, Number.MAX_SAFE_INTEGER);
}

/** Validates a step; throws an `UpstreamOptionsError` naming `option` and the value. */
export function validateStep(option: string, value: unknown): Step {
  assertPlainObject(option, value);
  assertKnownKeys(option, value, STEP_KEYS);
  const step = value as Step;
  if (step.status !== undefined) assertStatus(`${option}.status`, step.status);
  if (step.headers !== undefined) {
    assertPlainObject(`${option}.headers`, step.headers);
    for (const [name, header] of Object.entries(step.headers)) {
      if (!/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(name)) {
        throw new UpstreamOptionsError(`${option}.headers`, name, 'a valid header name');
      }
      assertHeaderValue(`${option}.headers[${JSON.stringify(name)}]`, header);
    }
  }
  if (step.body !== undefined) assertString(`${option}.body`, step.body);
  // HTTP sends these as digits only (delay-seconds = 1*DIGIT): whole seconds, no exponent.
  if (step.retryAfter !== undefined) {
    if (typeof step.retryAfter === 'number') assertWholeSeconds(`${option}.retryAfter`, step.retryAfter);
    else assertHeaderValue(`${option}.retryAfter`, step.retryAfter);
  }
  if (step.retryAfterDate !== undefined) {
    const date = assertFinite(`${option}.retryAfterDate`, step.retryAfterDate);
    if (Math.abs(date) > MAX_RETRY_AFTER_DATE_MS) {
      throw new UpstreamOptionsError(
        `${option}.retryAfterDate`,
        date,
        `a number of ms in [-${MAX_RETRY_AFTER_DATE_MS}, ${MAX_RETRY_AFTER_DATE_MS}]`,
      );
    }
  }
  if (step.rateLimitReset !== undefined) assertWholeSeconds(`${option}.rateLimitReset`, step.rateLimitReset);
  if (step.xRateLimitReset !== undefined)
    assertWholeSeconds(`${option}.xRateLimitReset`, step.xRateLimitReset);
  if (step.delayHeadersMs !== undefined) {
    assertNonNegative(`${option}.delayHeadersMs`, step.delayHeadersMs, MAX_DELAY_MS);
  }
  if (step.stallBody !== undefined) assertBoolean(`${option}.stallBody`, step.stallBody);
  if (step.bodyPrefix !== undefined) assertString(`${option}.bodyPrefix`, step.bodyPrefix);
  if (step.close !== undefined) assertBoolean(`${option}.close`, step.close);
  if (step.drip !== undefined) {
    assertPlainObject(`${option}.drip`, step.drip);
    assertKnownKeys(`${option}.drip`, step.drip, ['chunks', 'intervalMs', 'chunk']);
    assertInteger(`${option}.drip.chunks`, step.drip.chunks, 1, 1_000_000);
    assertNonNegative(`${option}.drip.intervalMs`, step.drip.intervalMs, MAX_DELAY_MS);
    if (step.drip.chunk !== undefined) {
      assertString(`${option}.drip.chunk`, step.drip.chunk);
      if (step.drip.chunk === '')
        throw new UpstreamOptionsError(`${option}.drip.chunk`, '', 'a non-empty string');
    }
  }
  if (step.reset !== undefined && step.reset !== 'before-headers' && step.reset !== 'mid-body') {
    throw new UpstreamOptionsError(`${option}.reset`, step.reset, "'before-headers' or 'mid-body'");
  }
  const bodyModes = [step.stallBody === true, step.drip !== undefined, step.reset !== undefined];
  if (bodyModes.filter(Boolean).length > 1) {
    throw new UpstreamOptionsError(option, value, 'at most one of stallBody, drip and reset');
  }
  return step;
}
