/** Order statistics over a small sample (a few rounds of one benchmark figure). */

function sorted(values: readonly number[]): number[] {
  if (values.length === 0) throw new RangeError('statistics of an empty sample');
  for (const value of values) {
    if (!Number.isFinite(value)) throw new RangeError(`not a finite number: ${value}`);
  }
  return [...values].sort((a, b) => a - b);
}

/**
 * The p-th percentile (0 to 100), interpolated linearly between the two nearest ranks.
 *
 * @example percentile([1, 2, 3, 4], 50) // 2.5
 */
export function percentile(values: readonly number[], p: number): number {
  if (!(p >= 0 && p <= 100)) throw new RangeError(`percentile must be within 0..100, got ${p}`);
  const s = sorted(values);
  const rank = (p / 100) * (s.length - 1);
  const low = Math.floor(rank);
  const high = Math.ceil(rank);
  const a = s[low]!;
  const b = s[high]!;
  return a + (b - a) * (rank - low);
}

/** @example median([3, 1, 2]) // 2 */
export function median(values: readonly number[]): number {
  return percentile(values, 50);
}

export function min(values: readonly number[]): number {
  return sorted(values)[0]!;
}

export function max(values: readonly number[]): number {
  const s = sorted(values);
  return s[s.length - 1]!;
}

export function mean(values: readonly number[]): number {
  const s = sorted(values);
  return s.reduce((sum, v) => sum + v, 0) / s.length;
}

/** Summary of one figure's rounds. */
export type Summary = { n: number; median: number; min: number; max: number; p25: number; p75: number };

export function summarize(values: readonly number[]): Summary {
  return {
    n: values.length,
    median: median(values),
    min: min(values),
    max: max(values),
    p25: percentile(values, 25),
    p75: percentile(values, 75),
  };
}

/** `median (min–max)` of per-round figures, each formatted by `format`; the median alone for one round. */
export function spread(values: readonly number[], format: (n: number) => string): string {
  const s = sorted(values);
  const mid = percentile(s, 50);
  return s.length > 1 ? `${format(mid)} (${format(s[0]!)}–${format(s[s.length - 1]!)})` : format(mid);
}
