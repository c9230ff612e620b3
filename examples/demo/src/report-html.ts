import type { Phase } from './incident.ts';
import type { BreakerState, ClientRecorder } from './recorder.ts';
import type { ClientSummary } from './summary.ts';
import { comparisonRows, describeTransitions } from './table.ts';
import { breakerSegments, buckets } from './timeline.ts';

export type ReportInput = {
  recorders: readonly ClientRecorder[];
  summaries: readonly ClientSummary[];
  phases: readonly Phase[];
  recoveryAtMs: number;
  /** The end of the timeline (ms). */
  endMs: number;
  /** A line describing the workload. */
  workload: string;
  /** Lines describing each client's configuration, by client id. */
  configs: Record<string, string>;
  generatedAt: Date;
};

const escapeHtml = (text: string): string =>
  text.replace(
    /[&<>"']/g,
    (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!,
  );

const phaseColors: Record<Phase['name'], string> = {
  healthy: '#e8f5e9',
  brownout: '#fff3e0',
  outage: '#ffebee',
  recovery: '#e3f2fd',
};

const breakerColors: Record<BreakerState, string> = {
  closed: '#43a047',
  open: '#e53935',
  'half-open': '#fb8c00',
  isolated: '#6d4c41',
};

const W = 920;
const H = 230;
const M = { left: 52, right: 16, top: 22, bottom: 48 };
const STRIP = 14;

function niceMax(value: number): number {
  if (value <= 0) return 10;
  const power = 10 ** Math.floor(Math.log10(value));
  for (const step of [1, 2, 2.5, 5, 10]) if (value <= step * power) return step * power;
  return 10 * power;
}

function f(n: number): string {
  return n.toFixed(1);
}

/** The timeline of one client as an inline SVG. `yMax` is shared so the panels compare. */
function chart(input: ReportInput, recorder: ClientRecorder, yMax: number, bucketMs: number): string {
  const plotW = W - M.left - M.right;
  const plotH = H - M.top - M.bottom - STRIP - 6;
  const x = (ms: number): number => M.left + (Math.min(ms, input.endMs) / input.endMs) * plotW;
  const y = (perSec: number): number => M.top + plotH - (Math.min(perSec, yMax) / yMax) * plotH;
  const parts: string[] = [];
  for (const phase of input.phases) {
    parts.push(
      `<rect x="${f(x(phase.startMs))}" y="${M.top}" width="${f(x(phase.endMs) - x(phase.startMs))}" height="${plotH}" fill="${phaseColors[phase.name]}"/>`,
      `<text x="${f((x(phase.startMs) + x(phase.endMs)) / 2)}" y="${M.top - 6}" class="phase">${phase.name}</text>`,
    );
  }
  for (let i = 0; i <= 4; i++) {
    const v = (yMax * i) / 4;
    parts.push(
      `<line x1="${M.left}" x2="${W - M.right}" y1="${f(y(v))}" y2="${f(y(v))}" class="grid"/>`,
      `<text x="${M.left - 6}" y="${f(y(v) + 4)}" class="tick" text-anchor="end">${Math.round(v)}</text>`,
    );
  }
  const series = buckets(recorder, input.endMs, bucketMs);
  const barW = Math.max(1, (plotW * bucketMs) / input.endMs - 1);
  for (const b of series) {
    const okTop = y(b.okPerSec);
    const failTop = y(b.okPerSec + b.failedPerSec);
    const seconds = `${(b.startMs / 1000).toFixed(1)}–${(b.endMs / 1000).toFixed(1)} s`;
    const title = `${seconds}: ${Math.round(b.okPerSec)} ok/s, ${Math.round(b.failedPerSec)} failed/s, ${Math.round(b.attemptsPerSec)} upstream attempts/s, ${Math.round(b.retriesPerSec)} retries/s`;
    parts.push(
      `<g><title>${escapeHtml(title)}</title>` +
        `<rect x="${f(x(b.startMs))}" y="${f(okTop)}" width="${f(barW)}" height="${f(y(0) - okTop)}" fill="#66bb6a"/>` +
        `<rect x="${f(x(b.startMs))}" y="${f(failTop)}" width="${f(barW)}" height="${f(okTop - failTop)}" fill="#ef5350"/></g>`,
    );
  }
  const line = (value: (b: (typeof series)[number]) => number): string =>
    series.map((b) => `${f(x((b.startMs + b.endMs) / 2))},${f(y(value(b)))}`).join(' ');
  parts.push(
    `<polyline points="${line((b) => b.attemptsPerSec)}" fill="none" stroke="#263238" stroke-width="2"/>`,
    `<polyline points="${line((b) => b.retriesPerSec)}" fill="none" stroke="#8e24aa" stroke-width="2" stroke-dasharray="5 3"/>`,
  );
  const stripY = M.top + plotH + 6;
  for (const segment of breakerSegments(recorder, input.endMs)) {
    const title = `breaker ${segment.state} ${(segment.startMs / 1000).toFixed(2)}–${(segment.endMs / 1000).toFixed(2)} s`;
    parts.push(
      `<rect x="${f(x(segment.startMs))}" y="${stripY}" width="${f(Math.max(1, x(segment.endMs) - x(segment.startMs)))}" height="${STRIP}" fill="${breakerColors[segment.state]}"><title>${title}</title></rect>`,
    );
  }
  parts.push(`<text x="${M.left - 6}" y="${stripY + 11}" class="tick" text-anchor="end">breaker</text>`);
  const rx = x(input.recoveryAtMs);
  parts.push(
    `<line x1="${f(rx)}" x2="${f(rx)}" y1="${M.top}" y2="${stripY + STRIP}" stroke="#1565c0" stroke-dasharray="3 3"/>`,
  );
  const tickEvery =
    input.endMs > 20_000 ? 5_000 : input.endMs > 8_000 ? 2_000 : input.endMs > 3_000 ? 1_000 : 500;
  for (let t = 0; t <= input.endMs; t += tickEvery) {
    parts.push(
      `<text x="${f(x(t))}" y="${stripY + STRIP + 16}" class="tick" text-anchor="middle">${t / 1000} s</text>`,
    );
  }
  parts.push(
    `<text x="14" y="${f(M.top + plotH / 2)}" class="tick" transform="rotate(-90 14 ${f(M.top + plotH / 2)})" text-anchor="middle">per second</text>`,
  );
  return `<svg viewBox="0 0 ${W} ${H}" width="${W}" height="${H}" role="img" aria-label="${escapeHtml(recorder.label)} timeline">${parts.join('')}</svg>`;
}

const legend = `<p class="legend">
<span><i style="background:#66bb6a"></i>calls succeeded</span>
<span><i style="background:#ef5350"></i>calls failed</span>
<span><i class="ln" style="border-color:#263238"></i>upstream attempts</span>
<span><i class="ln dash" style="border-color:#8e24aa"></i>retries</span>
<span>breaker: <i style="background:#43a047"></i>closed <i style="background:#fb8c00"></i>half-open <i style="background:#e53935"></i>open</span>
<span><i class="ln dash" style="border-color:#1565c0"></i>upstream recovers</span>
</p>`;

/** A self-contained HTML page (inline CSS and SVG, no script, nothing fetched). */
export function renderReport(input: ReportInput): string {
  const bucketMs = Math.max(50, Math.round(input.endMs / 90 / 50) * 50);
  let peak = 0;
  for (const recorder of input.recorders) {
    for (const b of buckets(recorder, input.endMs, bucketMs)) {
      peak = Math.max(peak, b.okPerSec + b.failedPerSec, b.attemptsPerSec, b.retriesPerSec);
    }
  }
  const yMax = niceMax(peak);
  const rows = comparisonRows(input.summaries);
  const table = `<table><thead><tr><th></th>${input.summaries.map((s) => `<th>${escapeHtml(s.label)}</th>`).join('')}</tr></thead><tbody>${rows
    .map(
      (r) =>
        `<tr><td${r.metric.startsWith('  ') ? ' class="sub"' : ''}>${escapeHtml(r.metric.trim())}</td>${r.values.map((v) => `<td>${escapeHtml(v)}</td>`).join('')}</tr>`,
    )
    .join('')}</tbody></table>`;
  const panels = input.recorders
    .map((recorder) => {
      const summary = input.summaries.find((s) => s.id === recorder.id);
      const errors =
        summary === undefined || summary.errors.length === 0
          ? 'no failed calls'
          : summary.errors.map(([kind, n]) => `${escapeHtml(kind)}: ${n}`).join(' · ');
      const transitions = summary === undefined ? '' : describeTransitions(summary);
      return `<section><h2>${escapeHtml(recorder.label)}</h2><p class="config">${escapeHtml(input.configs[recorder.id] ?? '')}</p>${chart(input, recorder, yMax, bucketMs)}<p class="small">Failed calls: ${errors}<br>Breaker transitions: ${escapeHtml(transitions)}</p></section>`;
    })
    .join('');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>ky-resilience demo: plain ky vs the preset during an incident</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>
body{font:14px/1.45 system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:24px auto;max-width:960px;color:#212121;padding:0 12px}
h1{font-size:22px;margin:0 0 4px}h2{font-size:17px;margin:22px 0 2px}
table{border-collapse:collapse;margin:12px 0}td,th{padding:3px 12px;border-bottom:1px solid #e0e0e0;text-align:right}
td:first-child,th:first-child{text-align:left}td.sub{padding-left:28px;color:#555}
svg{display:block;max-width:100%;height:auto}.grid{stroke:#0000001a}.tick{font-size:11px;fill:#555}
.phase{font-size:11px;fill:#333;text-anchor:middle}.legend span{margin-right:14px;white-space:nowrap}
.legend i{display:inline-block;width:12px;height:12px;margin:0 4px -1px 2px}.legend i.ln{height:0;border-top:2px solid;width:18px;margin-bottom:3px}
.legend i.dash{border-top-style:dashed}.config,.small{color:#555;font-size:12.5px;margin:2px 0}
</style></head><body>
<h1>Plain ky vs ky-resilience during a scripted incident</h1>
<p class="small">${escapeHtml(input.workload)}<br>Generated ${escapeHtml(input.generatedAt.toISOString())}. Each client has its own upstream running the same scripted incident with the same seed, so upstream attempts are counted per client.</p>
${table}
${legend}
${panels}
</body></html>
`;
}
