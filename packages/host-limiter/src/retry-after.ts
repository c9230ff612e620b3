const seconds = /^\s*(\d+)\s*$/;

/**
 * How long a `Retry-After` value asks to wait, in ms from `now`: delay-seconds or an HTTP-date.
 * `undefined` for a missing, unparseable, zero or past value. Huge values come back as they are
 * (possibly `Infinity`); the caller caps them.
 */
export function retryAfterMs(value: string | null, now: number): number | undefined {
  if (value === null) return undefined;
  const match = seconds.exec(value);
  if (match !== null) {
    const ms = Number(match[1]) * 1000;
    return ms > 0 ? ms : undefined;
  }
  const date = Date.parse(value);
  if (Number.isNaN(date)) return undefined;
  const ms = date - now;
  return ms > 0 ? ms : undefined;
}
