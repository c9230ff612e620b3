import {
  clientCells,
  clientColumns,
  type FaultRun,
  failureNote,
  faultClients,
  faultPlan,
  formatMs,
  formatPercent,
  latencyPercentile,
  type RunOutcome,
  runFaultSuite,
  upstreamTarget,
} from '../lib/faults.ts';
import { defineSuite, type Measured, rounds as roundsText } from '../lib/finish.ts';
import { formatRatio, goal, markdownTable } from '../lib/report.ts';
import { median } from '../lib/stats.ts';
import type { Suite, SuiteSettings } from '../lib/suite.ts';
import { barChart } from '../lib/svg.ts';

const NAME = 'host-down';
const HOSTS = 5;
/** Noise margin for "latency must not change" on a shared 2-core machine. */
const MARGIN = 1.25;

type Figures = { success: number; p50: number; p99: number };

/** The calls to the four healthy hosts (calls go round-robin; the fifth host is the one that goes down). */
function figuresOf(outcome: RunOutcome): Figures {
  const records = outcome.records.filter((r) => r.i % HOSTS !== HOSTS - 1);
  return {
    success: records.filter((r) => r.outcome === 'ok').length / records.length,
    p50: latencyPercentile(records, 50)!.ms,
    p99: latencyPercentile(records, 99)!.ms,
  };
}

async function measure(settings: SuiteSettings): Promise<Measured> {
  const { rounds, rate, count, drainMs } = faultPlan(settings, {
    count: [20, 150],
    drainMs: [300, 700],
  });
  const runs: FaultRun[] = [
    { id: 'healthy', rate, count, drainMs, setup: (seed) => upstreamTarget({}, seed, HOSTS) },
    { id: 'down', rate, count, drainMs, setup: (seed) => upstreamTarget({}, seed, HOSTS - 1, 1) },
  ];
  const results = await runFaultSuite(NAME, settings, faultClients, runs, rounds);
  const figs = (id: string, runId: string): Figures[] => results.get(id)!.get(runId)!.map(figuresOf);
  const med = (id: string, runId: string, pick: (f: Figures) => number): number =>
    median(figs(id, runId).map(pick));
  /** down ÷ healthy per round, median. */
  const change = (id: string, pick: (f: Figures) => number): number => {
    const down = figs(id, 'down');
    const healthy = figs(id, 'healthy');
    return median(down.map((f, i) => pick(f) / pick(healthy[i]!)));
  };
  const table = markdownTable(
    [
      ...clientColumns(['breaker']),
      'success, all healthy',
      'success, one down',
      'p50 healthy / one down',
      'p50 ÷',
      'p99 healthy / one down',
      'p99 ÷',
    ],
    faultClients.map((c) => [
      ...clientCells(c, ['breaker']),
      formatPercent(med(c.id, 'healthy', (f) => f.success)),
      formatPercent(med(c.id, 'down', (f) => f.success)),
      `${formatMs(med(c.id, 'healthy', (f) => f.p50))} / ${formatMs(med(c.id, 'down', (f) => f.p50))}`,
      formatRatio(change(c.id, (f) => f.p50)),
      `${formatMs(med(c.id, 'healthy', (f) => f.p99))} / ${formatMs(med(c.id, 'down', (f) => f.p99))}`,
      formatRatio(change(c.id, (f) => f.p99)),
    ]),
    ['left', 'left', 'right', 'right', 'right', 'right', 'right', 'right'],
  );
  const checks = [
    goal(
      'preset: the four healthy hosts’ success rate with one host down',
      med('preset', 'down', (f) => f.success),
      '≥',
      med('preset', 'healthy', (f) => f.success),
      formatPercent,
    ),
    ...(['p50', 'p99'] as const).map((p) =>
      goal(
        `preset: the four healthy hosts’ ${p}, one down ÷ all healthy (noise margin ${formatRatio(MARGIN)})`,
        change('preset', (f) => f[p]),
        '≤',
        MARGIN,
      ),
    ),
  ];
  const method = [
    `${HOSTS} hosts (upstreams on 127.0.0.1, one port each, so five origins); calls go round-robin. Two runs per round, `,
    `interleaved: all ${HOSTS} healthy, then the fifth host down: a server that accepts connections and never answers `,
    `(the hardest kind of down for a shared pool: its calls hold connections until a timeout). Open loop: ${count} GETs at `,
    `${rate} per second in all; calls pending ${drainMs / 1000} s after the last one was issued are aborted. Figures are for the `,
    `calls to the four healthy hosts only. Every client with its defaults, in a process of its own against hosts of its own; all `,
    `at once, from fresh instances, ${roundsText(rounds)}; a figure is the median over the rounds, a ratio the median of the `,
    `per-round ratios (one down ÷ all healthy). The goal's ${formatRatio(MARGIN)} margin is for noise on a shared 2-core machine.`,
  ].join('');
  const svg = barChart({
    title: `${NAME}: p99 of the four healthy hosts, all healthy vs one host not answering (ms, median of ${rounds})`,
    categories: faultClients.map((c) => c.short),
    series: [
      { name: 'p99, all healthy', values: faultClients.map((c) => med(c.id, 'healthy', (f) => f.p99)) },
      { name: 'p99, one host down', values: faultClients.map((c) => med(c.id, 'down', (f) => f.p99)) },
    ],
    unit: 'ms',
    width: 960,
  });
  return {
    summary:
      'One host down among five: the other four hosts’ success rate and latency, with and without the fault.',
    method,
    table,
    notes: [failureNote(results, faultClients, 'down')],
    svg,
    checks,
  };
}

export const hostDown: Suite = defineSuite(
  NAME,
  'One host down among five: the other four hosts’ success rate and latency, every client.',
  measure,
);
