import type { ClientSummary } from './summary.ts';

export type TableRow = { metric: string; values: string[] };

const percent = (ok: number, calls: number): string =>
  calls === 0 ? '-' : `${((100 * ok) / calls).toFixed(1)}%`;
const ms = (value: number | undefined): string =>
  value === undefined ? 'never' : Number.isNaN(value) ? '-' : `${Math.round(value)} ms`;

/** Describes breaker transitions as `closed→open ×3, open→half-open ×3, ...` (or `none`). */
export function describeTransitions(summary: ClientSummary): string {
  if (summary.breakerTransitions.length === 0) return 'none';
  const counts = new Map<string, number>();
  for (const t of summary.breakerTransitions) {
    const key = `${t.from}→${t.to}`;
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  return [...counts].map(([key, n]) => `${key} ×${n}`).join(', ');
}

/** The comparison, one row per metric and one column per client. */
export function comparisonRows(summaries: readonly ClientSummary[]): TableRow[] {
  const row = (metric: string, value: (s: ClientSummary) => string): TableRow => ({
    metric,
    values: summaries.map(value),
  });
  return [
    row('calls', (s) => String(s.calls)),
    row('success rate', (s) => percent(s.ok, s.calls)),
    row('  healthy', (s) => percent(s.successByPhase.healthy.ok, s.successByPhase.healthy.calls)),
    row('  brownout (50% 503)', (s) =>
      percent(s.successByPhase.brownout.ok, s.successByPhase.brownout.calls),
    ),
    row('  outage (100% 503)', (s) => percent(s.successByPhase.outage.ok, s.successByPhase.outage.calls)),
    row('  recovery', (s) => percent(s.successByPhase.recovery.ok, s.successByPhase.recovery.calls)),
    row('latency p50', (s) => ms(s.p50Ms)),
    row('latency p99', (s) => ms(s.p99Ms)),
    row('time to fail, p50 of failed calls', (s) => ms(s.failedP50Ms)),
    row('upstream attempts', (s) => String(s.upstreamAttempts)),
    row('upstream attempts per call', (s) => s.attemptsPerCall.toFixed(2)),
    row('retries', (s) => String(s.retries)),
    row('calls refused by the breaker', (s) => String(s.breakerRejections)),
    row('recovery → first success', (s) => ms(s.firstSuccessAfterRecoveryMs)),
    row('recovery → every call succeeds', (s) => ms(s.fullSuccessAfterRecoveryMs)),
    row('breaker transitions', (s) => String(s.breakerTransitions.length)),
  ];
}

/** A plain-text table for the terminal. */
export function renderTable(summaries: readonly ClientSummary[]): string {
  const rows = comparisonRows(summaries);
  const header = ['', ...summaries.map((s) => s.label)];
  const lines = [header, ...rows.map((r) => [r.metric, ...r.values])];
  const widths = header.map((_, i) => Math.max(...lines.map((line) => line[i]!.length)));
  const format = (line: string[]): string =>
    line.map((cell, i) => (i === 0 ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!))).join('   ');
  const rule = widths.map((w) => '─'.repeat(w)).join('───');
  const out = [format(header), rule, ...lines.slice(1).map(format)];
  for (const s of summaries) {
    if (s.breakerTransitions.length > 0) out.push(`${s.label} breaker: ${describeTransitions(s)}`);
  }
  return out.join('\n');
}
