const seconds = /^\d+$/;

// A reset value of at least 2024-01-01 in epoch seconds is a timestamp (GitHub's X-RateLimit-Reset),
// a smaller one delta seconds: the rule of @ky-resilience/retry and ky.
const timestampThresholdS = Date.UTC(2024, 0, 1) / 1000;

const months = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const imfFixdate =
  /^(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun), (\d{2}) (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) (\d{4}) (\d{2}):(\d{2}):(\d{2}) GMT$/;
const rfc850Date =
  /^(?:Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday), (\d{2})-(Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)-(\d{2}) (\d{2}):(\d{2}):(\d{2}) GMT$/;
const asctimeDate =
  /^(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun) (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) (\d{2}| \d) (\d{2}):(\d{2}):(\d{2}) (\d{4})$/;

/**
 * An HTTP-date (RFC 9110 §5.6.7: IMF-fixdate, or the obsolete RFC 850 and asctime forms) in epoch
 * ms, or `undefined`. Strict, as in @ky-resilience/retry, so both tiers read the same dates: other
 * forms `Date.parse` would take (ISO 8601, a date without a time, a local time) are not HTTP-dates.
 */
export function parseHttpDate(value: string, now: number): number | undefined {
  const imf = imfFixdate.exec(value);
  if (imf !== null) return utc(Number(imf[3]), imf[2], imf[1], imf[4], imf[5], imf[6]);
  const rfc850 = rfc850Date.exec(value);
  if (rfc850 !== null) {
    // A two-digit year more than 50 years in the future means the past century.
    const currentYear = new Date(now).getUTCFullYear();
    let year = Math.floor(currentYear / 100) * 100 + Number(rfc850[3]);
    if (year > currentYear + 50) year -= 100;
    return utc(year, rfc850[2], rfc850[1], rfc850[4], rfc850[5], rfc850[6]);
  }
  const asctime = asctimeDate.exec(value);
  if (asctime !== null) {
    return utc(Number(asctime[6]), asctime[1], asctime[2]?.trim(), asctime[3], asctime[4], asctime[5]);
  }
  return undefined;
}

function utc(
  year: number,
  monthName: string | undefined,
  day: string | undefined,
  hours: string | undefined,
  minutes: string | undefined,
  secs: string | undefined,
): number | undefined {
  const month = months.indexOf(monthName ?? '');
  const d = Number(day);
  const h = Number(hours);
  const m = Number(minutes);
  const s = Number(secs);
  if (month === -1 || h > 23 || m > 59 || s > 60) return undefined;
  // A leap second (60) is read as 59 plus one second.
  const time = Date.UTC(year, month, d, h, m, Math.min(s, 59));
  const date = new Date(time);
  if (date.getUTCMonth() !== month || date.getUTCDate() !== d) return undefined;
  return s === 60 ? time + 1000 : time;
}

/**
 * How long a header value asks to wait, in ms from `now`: delta seconds, an HTTP-date, or (with
 * `allowTimestamp`, for the rate-limit reset headers) epoch seconds when the value is at least
 * 2024-01-01. `undefined` for an unparseable, zero or past value. Huge values come back as they
 * are (possibly `Infinity`); the caller caps them.
 */
function waitMs(raw: string, now: number, allowTimestamp: boolean): number | undefined {
  const value = raw.trim();
  let ms: number;
  if (seconds.test(value)) {
    const n = Number(value);
    ms = allowTimestamp && n >= timestampThresholdS ? n * 1000 - now : n * 1000;
  } else {
    const date = parseHttpDate(value, now);
    if (date === undefined) return undefined;
    ms = date - now;
  }
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
