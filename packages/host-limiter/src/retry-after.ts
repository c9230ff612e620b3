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

/**
 * How long a response asks the client to hold off, in ms from `now`: the first header present of
 * `Retry-After`, `RateLimit-Reset`, `X-RateLimit-Reset` decides (so `Retry-After` wins), as in
 * @ky-resilience/retry. `undefined` when none is present, or the deciding one is unparseable, zero
 * or past.
 */
export function pauseMs(headers: Headers, now: number): number | undefined {
  const retryAfter = headers.get('retry-after');
  if (retryAfter !== null) return waitMs(retryAfter, now, false);
  const reset = headers.get('ratelimit-reset') ?? headers.get('x-ratelimit-reset');
  return waitMs(reset, now, true);
}
