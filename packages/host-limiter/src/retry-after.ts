const seconds = /^\s*(\d+)\s*$/;

// A reset value of at least 2024-01-01 in epoch seconds is a timestamp (GitHub's X-RateLimit-Reset),
// a smaller one delta seconds: the rule of @ky-resilience/retry and ky.
const timestampThresholdS = Date.UTC(2024, 0, 1) / 1000;

/**
 * How long a header value asks to wait, in ms from `now`: delta seconds, an HTTP-date, or (with
 * `allowTimestamp`, for the rate-limit reset headers) epoch seconds when the value is at least
 * 2024-01-01. `undefined` for a missing, unparseable, zero or past value. Huge values come back as
 * they are (possibly `Infinity`); the caller caps them.
 */
function waitMs(value: string | null, now: number, allowTimestamp: boolean): number | undefined {
  if (value === null) return undefined;
  const match = seconds.exec(value);
  if (match !== null) {
    const n = Number(match[1]);
    const ms = allowTimestamp && n >= timestampThresholdS ? n * 1000 - now : n * 1000;
    return ms > 0 ? ms : undefined;
  }
  const date = Date.parse(value);
  if (Number.isNaN(date)) return undefined;
  const ms = date - now;
  return ms > 0 ? ms : undefined;
}

// The headers read, in order; the first one present decides (so `Retry-After` is authoritative and
// the rate-limit headers are read only without it). `true`: a reset header, whose value may be
// epoch seconds. The order and rules of @ky-resilience/retry, so both tiers read the same delay.
const pauseHeaders: readonly (readonly [name: string, allowTimestamp: boolean])[] = [
  ['retry-after', false],
  ['ratelimit-reset', true],
  ['x-ratelimit-retry-after', false],
  ['x-ratelimit-reset', true],
  ['x-rate-limit-reset', true],
];

/**
 * How long a response asks the client to hold off, in ms from `now`: the first header present of
 * `Retry-After`, `RateLimit-Reset`, `X-RateLimit-Retry-After`, `X-RateLimit-Reset`,
 * `X-Rate-Limit-Reset` decides (so `Retry-After` wins), as in @ky-resilience/retry.
 * `X-RateLimit-Retry-After` is delta seconds (or an HTTP-date) only, never epoch seconds.
 * `undefined` when none is present, or the deciding one is unparseable, zero or past.
 */
export function pauseMs(headers: Headers, now: number): number | undefined {
  for (const [name, allowTimestamp] of pauseHeaders) {
    const value = headers.get(name);
    if (value !== null) return waitMs(value, now, allowTimestamp);
  }
  return undefined;
}

/**
 * True when a response says the client's quota is used up: `RateLimit-Remaining` (or, without it,
 * `X-RateLimit-Remaining`) is `0`.
 */
export function quotaExhausted(headers: Headers): boolean {
  const remaining = headers.get('ratelimit-remaining') ?? headers.get('x-ratelimit-remaining');
  return remaining !== null && remaining.trim() === '0';
}
