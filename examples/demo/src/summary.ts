import { type Phase, phaseAt } from './incident.ts';
import type { BreakerTransition, ClientRecorder } from './recorder.ts';

export type ClientSummary = {
  id: string;
  label: string;
  calls: number;
  ok: number;
  /** ok / calls, in [0, 1]. */
  successRate: number;
  /** Success rate of the calls started in each phase. */
  successByPhase: Record<Phase['name'], { calls: number; ok: number }>;
  p50Ms: number;
  p99Ms: number;
  /** Median time a failed call took to fail (NaN: no call failed). */
  failedP50Ms: number;
  /** Requests the upstream received from this client. */
  upstreamAttempts: number;
  attemptsPerCall: number;
  retries: number;
  /** Calls turned away by the circuit breaker without reaching the upstream. */
  breakerRejections: number;
  /** From the upstream's recovery to the first call that succeeded (ms); undefined: none did. */
  firstSuccessAfterRecoveryMs: number | undefined;
  /**
   * From the upstream's recovery until every call started from then on succeeded (ms);
   * undefined: the last calls still failed.
   */
  fullSuccessAfterRecoveryMs: number | undefined;
  breakerTransitions: BreakerTransition[];
  errors: Array<[string, number]>;
};

/** The `q`-quantile (0..1) of `values` by the nearest-rank method; NaN for no values. */
export function quantile(values: readonly number[], q: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.max(1, Math.ceil(q * sorted.length));
  return sorted[Math.min(rank, sorted.length) - 1]!;
}

export function summarize(
  recorder: ClientRecorder,
  phases: readonly Phase[],
  recoveryAtMs: number,
): ClientSummary {
  const calls = recorder.calls;
  const ok = calls.filter((call) => call.ok).length;
  const latencies = calls.map((call) => call.endMs - call.startMs);
  const successByPhase = {
    healthy: { calls: 0, ok: 0 },
    brownout: { calls: 0, ok: 0 },
    outage: { calls: 0, ok: 0 },
    recovery: { calls: 0, ok: 0 },
  };
  for (const call of calls) {
    const bucket = successByPhase[phaseAt(phases, call.startMs)];
    bucket.calls++;
    if (call.ok) bucket.ok++;
  }
  const firstSuccess = calls
    .filter((call) => call.ok && call.endMs >= recoveryAtMs)
    .reduce((min, call) => Math.min(min, call.endMs), Number.POSITIVE_INFINITY);
  // The start of the last failed call, if it started after the recovery: from the next call on, all succeeded.
  const byStart = [...calls].sort((a, b) => a.startMs - b.startMs);
  const lastFailure = byStart.findLast((call) => !call.ok);
  let fullSuccess: number | undefined;
  if (lastFailure === undefined || lastFailure.startMs < recoveryAtMs) fullSuccess = 0;
  else {
    const next = byStart.find((call) => call.startMs > lastFailure.startMs);
    fullSuccess = next === undefined ? undefined : next.startMs - recoveryAtMs;
  }
  const upstreamAttempts = recorder.attempts();
  return {
    id: recorder.id,
    label: recorder.label,
    calls: calls.length,
    ok,
    successRate: calls.length === 0 ? 0 : ok / calls.length,
    successByPhase,
    p50Ms: quantile(latencies, 0.5),
    p99Ms: quantile(latencies, 0.99),
    failedP50Ms: quantile(
      calls.filter((call) => !call.ok).map((call) => call.endMs - call.startMs),
      0.5,
    ),
    upstreamAttempts,
    attemptsPerCall: calls.length === 0 ? 0 : upstreamAttempts / calls.length,
    retries: recorder.retries.length,
    breakerRejections: recorder.rejections.length,
    firstSuccessAfterRecoveryMs: Number.isFinite(firstSuccess) ? firstSuccess - recoveryAtMs : undefined,
    fullSuccessAfterRecoveryMs: fullSuccess,
    breakerTransitions: [...recorder.breaker],
    errors: [...recorder.errorKinds].sort((a, b) => b[1] - a[1]),
  };
}
