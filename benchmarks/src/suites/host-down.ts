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
  perHostCaps,
  type RunOutcome,
  runFaultSuite,
  upstreamTarget,
} from '../lib/faults.ts';
import { defineSuite, type Measured, rounds as roundsText } from '../lib/finish.ts';
import type { CallRecord } from '../lib/open-loop.ts';
import { formatRatio, goal, markdownTable } from '../lib/report.ts';
import type { Suite, SuiteSettings } from '../lib/suite.ts';
import { barChart } from '../lib/svg.ts';

const NAME = 'host-down';
const HOSTS = 5;
/** Noise margin for "latency must not change" on a shared 2-core machine. */
const MARGIN = 1.25;

/** The two kinds of down host, each a run of its own beside the all-healthy run. */
const DOWN_KINDS = [
  {
    id: 'hang',
    label: 'hangs',
    text: 'a server that accepts connections and never answers (its calls hold a connection until a timeout; none fires within the run: every client’s is 10 s or more, or it has none)',
  },
  {
    id: 'refused',
    label: 'refuses',
    text: 'a closed port: every connection is refused at once, so the clients’ failure detection (retries, budgets, breakers) runs within the run',
  },
] as const;
type DownKind = (typeof DOWN_KINDS)[number]['id'];

/** The calls to the four healthy hosts (calls go round-robin; the fifth host is the one that goes down). */
function healthyRecords(outcome: RunOutcome): CallRecord[] {
  return outcome.records.filter((r) => r.i % HOSTS !== HOSTS - 1);
}

/** The calls to the fifth host. */
function downRecords(outcome: RunOutcome): CallRecord[] {
  return outcome.records.filter((r) => r.i % HOSTS === HOSTS - 1);
}

type Pooled = { n: number; success: number; p50: number; p99: number; lowerBound: boolean };

/** The healthy hosts' calls of every round, pooled. */
function pooled(outcomes: readonly RunOutcome[], pick = healthyRecords): Pooled {
  const records = outcomes.flatMap(pick);
  const p99 = latencyPercentile(records, 99)!;
  return {
    n: records.length,
    success: records.filter((r) => r.outcome === 'ok').length / records.length,
    p50: latencyPercentile(records, 50)!.ms,
    p99: p99.ms,
    lowerBound: p99.lowerBound,
  };
}

async function measure(settings: SuiteSettings): Promise<Measured> {
  const { rounds, rate, count, drainMs } = faultPlan(settings, {
    count: [20, 150],
    drainMs: [300, 700],
    // Two rounds of three runs each; the percentiles pool the rounds (240 healthy-host calls per figure).
    rounds: [1, 2],
  });
  const runs: FaultRun[] = [
    { id: 'healthy', rate, count, drainMs, setup: (seed) => upstreamTarget({}, seed, HOSTS) },
    { id: 'hang', rate, count, drainMs, setup: (seed) => upstreamTarget({}, seed, HOSTS - 1, 1) },
    { id: 'refused', rate, count, drainMs, setup: (seed) => upstreamTarget({}, seed, HOSTS - 1, 0, 1) },
  ];
  const results = await runFaultSuite(NAME, settings, faultClients, runs, rounds, 1, true);
  // The same runs and seeds again with the preset's process alone (the other clients' processes idle): side by
  // side, nine client processes and their upstreams share two cores, and a refusing host makes every one of them
  // busier at once, which moves every client's tail alike. The goals are a property of the client, judged here.
  const aloneResults = await runFaultSuite(
    `${NAME} (preset alone)`,
    settings,
    faultClients.filter((c) => c.id === 'preset'),
    runs,
    rounds,
    1,
    true,
  );
  const caps = await perHostCaps(faultClients, settings);
  const of = (id: string, runId: string): Pooled => pooled(results.get(id)!.get(runId)!);
  const change = (id: string, kind: DownKind, p: 'p50' | 'p99'): number =>
    of(id, kind)[p] / of(id, 'healthy')[p];
  const alone = (runId: string): Pooled => pooled(aloneResults.get('preset')!.get(runId)!);
  const aloneChange = (kind: DownKind, p: 'p50' | 'p99'): number => alone(kind)[p] / alone('healthy')[p];
  const n = of('preset', 'healthy').n;
  const ms = (f: Pooled, p: 'p50' | 'p99') => formatMs(f[p], p === 'p99' && f.lowerBound);
  const table = markdownTable(
    [
      ...clientColumns(['breaker', 'perHost']),
      'success: healthy / hangs / refuses',
      'p50: healthy / hangs / refuses',
      'p50 ÷ (hangs, refuses)',
      `p99 of ${n}: healthy / hangs / refuses`,
      'p99 ÷ (hangs, refuses)',
      'down host’s calls that failed (refuses)',
    ],
    faultClients.map((c) => {
      const h = of(c.id, 'healthy');
      const down = DOWN_KINDS.map((k) => of(c.id, k.id));
      const refusedCalls = pooled(results.get(c.id)!.get('refused')!, downRecords);
      return [
        ...clientCells(c, ['breaker', 'perHost'], caps),
        [h, ...down].map((f) => formatPercent(f.success)).join(' / '),
        [h, ...down].map((f) => ms(f, 'p50')).join(' / '),
        DOWN_KINDS.map((k) => formatRatio(change(c.id, k.id, 'p50'))).join(', '),
        [h, ...down].map((f) => ms(f, 'p99')).join(' / '),
        DOWN_KINDS.map((k) => formatRatio(change(c.id, k.id, 'p99'))).join(', '),
        `${formatPercent(1 - refusedCalls.success)} of ${refusedCalls.n}, p50 ${formatMs(refusedCalls.p50)}`,
      ];
    }),
    ['left', 'left', 'left', 'right', 'right', 'right', 'right', 'right', 'right'],
  );
  const checks = DOWN_KINDS.flatMap((k) => [
    goal(
      `preset alone, down host ${k.label}: the four healthy hosts’ success rate (all healthy: ${formatPercent(alone('healthy').success)})`,
      alone(k.id).success,
      '≥',
      alone('healthy').success,
      formatPercent,
    ),
    ...(['p50', 'p99'] as const).map((p) =>
      goal(
        `preset alone, down host ${k.label}: the four healthy hosts’ ${p} of ${n}, one down ÷ all healthy (noise margin ${formatRatio(MARGIN)})`,
        aloneChange(k.id, p),
        '≤',
        MARGIN,
      ),
    ),
  ]);
  const msOf = (f: Pooled): string => `p50 ${ms(f, 'p50')}, p99 ${ms(f, 'p99')}`;
  const info = [
    `INFO  preset alone: all healthy ${msOf(alone('healthy'))}; ${DOWN_KINDS.map((k) => `one ${k.label} ${msOf(alone(k.id))}`).join('; ')}`,
    `INFO  preset beside the eight other clients (the table): p99 ÷ ${DOWN_KINDS.map((k) => `${formatRatio(change('preset', k.id, 'p99'))} (${k.label})`).join(', ')}; every client's tail moves with the machine's load (the table's other rows)`,
  ];
  const method = [
    `${HOSTS} hosts (upstreams on 127.0.0.1, one port each, so five origins); calls go round-robin. Three runs per round: `,
    `all ${HOSTS} healthy; the fifth host down and hanging: ${DOWN_KINDS[0].text}; the fifth host down and refusing: `,
    `${DOWN_KINDS[1].text}. The runs' order is reversed in even rounds. Open loop: ${count} GETs at ${rate} per second in `,
    `all; calls pending ${drainMs / 1000} s after the last one was issued are aborted. Figures are for the calls to the four `,
    `healthy hosts only, pooled over the ${roundsText(rounds)} (${n} calls per figure), except the last column (the down `,
    `host's own calls). Every client with its defaults, in a process of its own against hosts of its own; all at once, `,
    `from fresh instances. A ratio is one down ÷ all healthy of the pooled percentiles; the goal's ${formatRatio(MARGIN)} `,
    `margin is for noise on a shared 2-core machine, and a p99 of ${n} calls is about their ${Math.max(1, Math.round(n / 100))} slowest: `,
    `read a p99 ratio near the margin as noise. "per-host cap" is the cap on connections (and limiter slots) per host. `,
    `The goals are judged in a second pass of the same runs and seeds with the preset's process alone (the other `,
    `clients' processes idle): side by side, a refusing host makes all nine client processes busier at once on two `,
    `cores, and every client's tail moves alike. The table is the side-by-side pass; both are printed below it.`,
  ].join('');
  const svg = barChart({
    title: `${NAME}: p99 of the four healthy hosts, all healthy vs one host hanging or refusing (ms, ${n} calls each)`,
    categories: faultClients.map((c) => c.short),
    series: [
      { name: 'p99, all healthy', values: faultClients.map((c) => of(c.id, 'healthy').p99) },
      { name: 'p99, one host hangs', values: faultClients.map((c) => of(c.id, 'hang').p99) },
      { name: 'p99, one host refuses', values: faultClients.map((c) => of(c.id, 'refused').p99) },
    ],
    unit: 'ms',
    width: 1060,
  });
  return {
    summary:
      'One host down among five (hanging, or refusing connections): the other four hosts’ success rate and latency, with and without the fault.',
    method,
    table,
    info,
    notes: [
      failureNote(results, faultClients, 'hang').replace(
        'Failed calls by error',
        'With the down host hanging, failed calls (all five hosts) by error',
      ),
      failureNote(results, faultClients, 'refused').replace(
        'Failed calls by error',
        'With the down host refusing, failed calls (all five hosts) by error',
      ),
    ],
    svg,
    checks,
  };
}

export const hostDown: Suite = defineSuite(
  NAME,
  'One host down among five (hanging, or refusing connections): the other four hosts’ success rate and latency, every client.',
  measure,
);
