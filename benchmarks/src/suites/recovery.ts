import {
  clientCells,
  clientColumns,
  type FaultRun,
  faultClients,
  faultPlan,
  formatMs,
  perClient,
  perHostCaps,
  type RunOutcome,
  runFaultSuite,
  upstreamTarget,
} from '../lib/faults.ts';
import { defineSuite, type Measured, rounds as roundsText } from '../lib/finish.ts';
import { markdownTable } from '../lib/report.ts';
import type { Suite, SuiteSettings } from '../lib/suite.ts';
import { barChart } from '../lib/svg.ts';

const NAME = 'recovery';
/** A client still failing calls this close to the end of the run has not reached full throughput within it. */
const TAIL_MS = 250;

type Figures = {
  /** ms from the recovery to the first successful call; undefined: none within the window. */
  firstSuccess?: number;
  /** ms from the recovery to the end of the last failed call (every call after it succeeded). */
  fullThroughput?: number;
  /** Failed calls issued after the recovery. */
  failedAfter: number;
};

function figuresOf(outcome: RunOutcome, outageMs: number): Figures {
  // The recovery in the client's time: the upstream's schedule started a few ms before the client's run.
  const recoveryMs = outcome.scheduleStart + outageMs;
  const ok = outcome.records.filter((r) => r.outcome === 'ok' && r.end >= recoveryMs);
  const failed = outcome.records.filter((r) => r.outcome !== 'ok');
  const figures: Figures = { failedAfter: failed.filter((r) => r.start >= recoveryMs).length };
  if (ok.length > 0) figures.firstSuccess = Math.min(...ok.map((r) => r.end)) - recoveryMs;
  // Full throughput: from the end of the last failed call on, every call succeeds, so successes come at the
  // offered rate. A failure in the last stretch of the run means the client had not got there by its end.
  const lastFailure = failed.length === 0 ? 0 : Math.max(...failed.map((r) => r.end));
  const lastIssue = Math.max(...outcome.records.map((r) => r.start));
  if (lastFailure < lastIssue - TAIL_MS) figures.fullThroughput = Math.max(0, lastFailure - recoveryMs);
  return figures;
}

async function measure(settings: SuiteSettings): Promise<Measured> {
  // Two rounds: the window is long (5.5 s after a 1.5 s outage) and the suite has to fit the time budget.
  const { rounds, rate } = faultPlan(settings, { rounds: [1, 2] });
  const outageMs = settings.smoke ? 300 : 1_500;
  // The preset's breaker opens within the outage and half-opens 5 s later: a window of 5.5 s after the recovery
  // holds its first probe whenever in the outage it opened. cockatiel (10 s) and opossum (30 s) half-open beyond it.
  const windowMs = settings.smoke ? 500 : 5_500;
  const count = ((outageMs + windowMs) * rate) / 1000;
  const runs: FaultRun[] = [
    {
      id: 'recovery',
      rate,
      count,
      drainMs: 500,
      setup: (seed) =>
        upstreamTarget({ schedule: { kind: 'outage', startMs: 0, durationMs: outageMs, status: 503 } }, seed),
    },
  ];
  const results = await runFaultSuite(NAME, settings, faultClients, runs, rounds);
  const caps = await perHostCaps(faultClients, settings);
  const figs = perClient(results, faultClients, 'recovery', (o) => figuresOf(o, outageMs));
  /** Median over rounds; a round without the event counts as beyond the window. */
  const med = (id: string, pick: (f: Figures) => number | undefined): number => {
    const sorted = figs
      .get(id)!
      .map((f) => pick(f) ?? Number.POSITIVE_INFINITY)
      .sort((a, b) => a - b);
    const a = sorted[Math.floor((sorted.length - 1) / 2)]!;
    const b = sorted[Math.ceil((sorted.length - 1) / 2)]!;
    return Number.isFinite(b) ? (a + b) / 2 : Number.POSITIVE_INFINITY;
  };
  const cell = (ms: number): string =>
    Number.isFinite(ms)
      ? formatMs(ms)
      : `not measured: > ${formatMs(windowMs)}, beyond the run (its breaker's open period is in the breaker column)`;
  const table = markdownTable(
    [
      ...clientColumns(['retry', 'breaker', 'perHost']),
      'recovery → first success',
      'recovery → full throughput',
      'calls issued after the recovery that failed',
    ],
    faultClients.map((c) => [
      ...clientCells(c, ['retry', 'breaker', 'perHost'], caps),
      cell(med(c.id, (f) => f.firstSuccess)),
      cell(med(c.id, (f) => f.fullThroughput)),
      String(med(c.id, (f) => f.failedAfter)),
    ]),
    ['left', 'left', 'left', 'left', 'right', 'right', 'right'],
  );
  const notes = [
    'A breaker trades recovery time for load on the failing upstream: it stops sending until it half-opens (the preset after 5 s, ' +
      'doubling while failures go on; cockatiel 10 s; opossum 30 s), so its first success comes up to that long after the upstream ' +
      'recovered, while the clients without a breaker see the recovery on their next retry. The outage table shows the other side.',
  ];
  const method = [
    `An outage then recovery: every request fails with 503 for the first ${outageMs / 1000} s, then the upstream is healthy. Open loop: `,
    `${count} GETs at ${rate} per second (${(outageMs + windowMs) / 1000} s), the same schedule for every client. "First success": from the `,
    `recovery to the first call that succeeded. "Full throughput": from the recovery to the end of the last call that failed: from then on `,
    `every call succeeds, so successes come at the offered rate (0 when no call failed after the recovery; a client still failing `,
    `calls in the last ${TAIL_MS} ms of the run has not got there). `,
    `Every client with its defaults, each in a process of its own against an upstream of its own; all at once, from fresh `,
    `instances, ${roundsText(rounds)}; a figure is the median over the rounds (a round without the event counts as beyond the run).`,
  ].join('');
  const finite = (ms: number): number | undefined => (Number.isFinite(ms) ? ms : undefined);
  const svg = barChart({
    title: `${NAME}: ms from the recovery to the first success / full throughput (median of ${rounds}; no bar: not within ${windowMs / 1000} s)`,
    categories: faultClients.map((c) => c.short),
    series: [
      {
        name: 'first success (ms)',
        values: faultClients.map((c) => finite(med(c.id, (f) => f.firstSuccess))),
      },
      {
        name: 'full throughput (ms)',
        values: faultClients.map((c) => finite(med(c.id, (f) => f.fullThroughput))),
      },
    ],
    unit: 'ms after the recovery',
    width: 960,
  });
  return {
    summary:
      'Behaviour when an outage ends: time from the recovery to the first success and to full throughput.',
    method,
    table,
    notes,
    svg,
  };
}

export const recovery: Suite = defineSuite(
  NAME,
  'An outage then recovery: time from the recovery to the first success and to full throughput, every client.',
  measure,
);
