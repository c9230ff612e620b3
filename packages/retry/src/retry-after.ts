/** Where a server-requested delay came from. */
export type RetryAfterSource =
  | 'retry-after'
  | 'ratelimit-reset'
  | 'x-ratelimit-retry-after'
  | 'x-ratelimit-reset'
  | 'x-rate-limit-reset';

/** A server-requested delay read from the response headers. */
export type ServerDelay = {
  /** The delay in milliseconds, `>= 0` (a date in the past gives 0). May be huge; the caller caps it. */
  readonly delay: number;
  /** The header it came from. */
  readonly source: RetryAfterSource;
  /** The header's raw value. */
  readonly value: string;
};

// Reset headers carrying epoch seconds (GitHub's X-RateLimit-Reset) are told apart from delta
// seconds by size: a value of at least 2024-01-01 in seconds is a timestamp (ky does the same).
const TIMESTAMP_THRESHOLD_S = Date.UTC(2024, 0, 1) / 1000;
const DELTA_SECONDS = /^\d+$/;
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const IMF_FIXDATE =
  /^(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun), (\d{2}) (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) (\d{4}) (\d{2}):(\d{2}):(\d{2}) GMT$/;
const RFC850_DATE =
  /^(?:Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday), (\d{2})-(Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)-(\d{2}) (\d{2}):(\d{2}):(\d{2}) GMT$/;
const ASCTIME_DATE =
  /^(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun) (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) (\d{2}| \d) (\d{2}):(\d{2}):(\d{2}) (\d{4})$/;

type HeaderRule = { readonly name: RetryAfterSource; readonly allowTimestamp: boolean };

// Retry-After is authoritative when present; the rate-limit headers are read only without it.
const HEADER_RULES: readonly HeaderRule[] = [
  { name: 'retry-after', allowTimestamp: false },
  { name: 'ratelimit-reset', allowTimestamp: true },
  { name: 'x-ratelimit-retry-after', allowTimestamp: false },
  { name: 'x-ratelimit-reset', allowTimestamp: true },
  { name: 'x-rate-limit-reset', allowTimestamp: true },
];

/**
 * Reads the server's requested delay from `Retry-After` (delta-seconds or an HTTP-date),
 * `RateLimit-Reset`, `X-RateLimit-Retry-After`, `X-RateLimit-Reset` or `X-Rate-Limit-Reset`
 * (seconds, or epoch seconds when the value is a current-era timestamp).
 *
 * Returns `undefined` when no such header is present or the first present one cannot be parsed
 * (garbage): the caller then falls back to its backoff. `now` is the wall clock in epoch ms.
 */
export function parseServerDelay(headers: Headers, now: number): ServerDelay | undefined {
  for (const rule of HEADER_RULES) {
    const raw = headers.get(rule.name);
    if (raw === null) {
      continue;
    }
    const value = raw.trim();
    const delay = parseValue(value, rule.allowTimestamp, now);
    return delay === undefined ? undefined : { delay, source: rule.name, value };
  }
  return undefined;
}

function parseValue(value: string, allowTimestamp: boolean, now: number): number | undefined {
  if (DELTA_SECONDS.test(value)) {
    const seconds = Number(value);
    if (!Number.isFinite(seconds)) {
      return Number.POSITIVE_INFINITY;
    }
    if (allowTimestamp && seconds >= TIMESTAMP_THRESHOLD_S) {
      return Math.max(0, seconds * 1000 - now);
    }
    return seconds * 1000;
  }
  const timestamp = parseHttpDate(value, now);
  if (timestamp === undefined) {
    return undefined;
  }
  return Math.max(0, timestamp - now);
}

/** Parses an HTTP-date (IMF-fixdate, or the obsolete RFC 850 and asctime forms) to epoch ms. */
export function parseHttpDate(value: string, now: number): number | undefined {
  const imf = IMF_FIXDATE.exec(value);
  if (imf !== null) {
    return utc(Number(imf[3]), imf[2], imf[1], imf[4], imf[5], imf[6]);
  }
  const rfc850 = RFC850_DATE.exec(value);
  if (rfc850 !== null) {
    // RFC 9110 §5.6.7: a two-digit year more than 50 years in the future means the past century.
    const currentYear = new Date(now).getUTCFullYear();
    let year = Math.floor(currentYear / 100) * 100 + Number(rfc850[3]);
    if (year > currentYear + 50) {
      year -= 100;
    }
    return utc(year, rfc850[2], rfc850[1], rfc850[4], rfc850[5], rfc850[6]);
  }
  const asctime = ASCTIME_DATE.exec(value);
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
  seconds: string | undefined,
): number | undefined {
  const month = MONTHS.indexOf(monthName ?? '');
  const d = Number(day);
  const h = Number(hours);
  const m = Number(minutes);
  const s = Number(seconds);
  if (month === -1 || h > 23 || m > 59 || s > 60) {
    return undefined;
  }
  // A leap second (60) is read as 59 plus one second.
  const time = Date.UTC(year, month, d, h, m, Math.min(s, 59));
  const date = new Date(time);
  if (date.getUTCMonth() !== month || date.getUTCDate() !== d) {
    return undefined;
  }
  return s === 60 ? time + 1000 : time;
}
