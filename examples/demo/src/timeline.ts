import type { BreakerState, ClientRecorder } from './recorder.ts';

/** One time bucket of a client's timeline; counts are per second. */
export type Bucket = {
  startMs: number;
  endMs: number;
  okPerSec: number;
  failedPerSec: number;
  attemptsPerSec: number;
  retriesPerSec: number;
};

/** A stretch of time in one breaker state. */
export type BreakerSegment = { startMs: number; endMs: number; state: BreakerState };

function attemptsAt(recorder: ClientRecorder, atMs: number): number {
  let total = 0;
  for (const sample of recorder.attemptSamples) {
    if (sample.atMs > atMs) break;
    total = sample.total;
  }
  return total;
}

/** Cuts the run into buckets of `bucketMs` and counts, per second, calls ended, attempts and retries. */
export function buckets(recorder: ClientRecorder, endMs: number, bucketMs: number): Bucket[] {
  const count = Math.max(1, Math.ceil(endMs / bucketMs));
  const perSec = 1000 / bucketMs;
  const out: Bucket[] = Array.from({ length: count }, (_, i) => ({
    startMs: i * bucketMs,
    endMs: (i + 1) * bucketMs,
    okPerSec: 0,
    failedPerSec: 0,
    attemptsPerSec: 0,
    retriesPerSec: 0,
  }));
  const at = (ms: number): Bucket | undefined =>
    out[Math.min(count - 1, Math.max(0, Math.floor(ms / bucketMs)))];
  for (const call of recorder.calls) {
    const bucket = at(call.endMs)!;
    if (call.ok) bucket.okPerSec += perSec;
    else bucket.failedPerSec += perSec;
  }
  for (const t of recorder.retries) at(t)!.retriesPerSec += perSec;
  for (const bucket of out) {
    bucket.attemptsPerSec =
      (attemptsAt(recorder, bucket.endMs) - attemptsAt(recorder, bucket.startMs)) * perSec;
  }
  return out;
}

/** The breaker's states over the run, as consecutive segments (one `closed` segment without a breaker). */
export function breakerSegments(recorder: ClientRecorder, endMs: number): BreakerSegment[] {
  const segments: BreakerSegment[] = [];
  let state: BreakerState = 'closed';
  let since = 0;
  for (const t of recorder.breaker) {
    if (t.atMs > since) segments.push({ startMs: since, endMs: t.atMs, state });
    state = t.to;
    since = t.atMs;
  }
  segments.push({ startMs: since, endMs: Math.max(since, endMs), state });
  return segments;
}
