import {
  clientCells,
  clientColumns,
  type FaultClient,
  failureNote,
  faultClients,
  formatMs,
  formatPercent,
  latencyPercentile,
  type RunOutcome,
  runScenario,
  type Scenario,
} from '../lib/faults.ts';
import { defineSuite, type Measured, rounds as roundsText } from '../lib/finish.ts';
import { markdownTable } from '../lib/report.ts';
import { spread } from '../lib/stats.ts';
import type { Suite, SuiteSettings } from '../lib/suite.ts';
import { barChart } from '../lib/svg.ts';
import { kyTiers, presetRetryLabel, presetTiers } from '../lib/tiers.ts';

const NAME = 'slow-tail';
const SLOW_RATE = 0.05;
const SLOW_MS = 2_000;
const DEADLINE_MS = 1_000;

/** The tuned preset's backoff: shorter delays, so the retry of a timed-out attempt goes out soon. */
const TUNED_BACKOFF = { strategy: 'decorrelated-v2', base: 50 } as const;

/** The defaults of every client, plus ky and the preset tuned for a deadline (a short attempt timeout, retried). */
const CLIENTS: readonly FaultClient[] = [
  ...faultClients,
  {
    id: 'ky-tuned',
    label: 'ky, tuned: timeout 300 ms, retryOnTimeout',
    short: 'ky (tuned)',
    client: 'ky-default-fetch',
    options: { ky: { timeout: 300, retry: { retryOnTimeout: true } } },
    ...kyTiers,
  },
  {
    id: 'preset-tuned',
    label: 'preset, tuned: headers timeout 300 ms, backoff from 50 ms',
    short: 'preset (tuned)',
    client: 'preset',
    options: {
      preset: {
        timeout: { headers: 300 },
        retry: { backoff: TUNED_BACKOFF },
      },
    },
    ...presetTiers,
    retry: presetRetryLabel(TUNED_BACKOFF),
  },
];

type Figures = { p50: number; p99: number; lowerBound: boolean; withinDeadline: number; success: number };

function figuresOf(outcome: RunOutcome, count: number): Figures {
  const p50 = latencyPercentile(outcome.records, 50)!;
  const p99 = latencyPercentile(outcome.records, 99)!;
  return {
    p50: p50.ms,
    p99: p99.ms,
    lowerBound: p99.lowerBound,
    withinDeadline:
      outcome.records.filter((r) => r.outcome === 'ok' && r.end - r.start <= DEADLINE_MS).length / count,
    success: outcome.records.filter((r) => r.outcome === 'ok').length / count,
  };
}

async function measure(settings: SuiteSettings): Promise<Measured> {
  const scenario: Scenario = {
    id: 'slow-tail',
    count: [20, 150],
    drainMs: [200, 2_300],
    // A smoke run only checks that the suite runs: a shorter tail keeps it quick.
    route: { schedule: { kind: 'slowTail', rate: SLOW_RATE, delayMs: settings.smoke ? 300 : SLOW_MS } },
  };
  const { plan, results, figs, med } = await runScenario(NAME, settings, CLIENTS, scenario, figuresOf);
  const { rounds, rate, count, drainMs } = plan;
  const table = markdownTable(
    [
      ...clientColumns(['retry']),
      'p50',
      'p99 (min–max)',
      `calls that succeeded within ${DEADLINE_MS / 1000} s (min–max)`,
      'success',
    ],
    CLIENTS.map((c) => {
      const list = figs.get(c.id)!;
      const lower = list.some((f) => f.lowerBound);
      return [
        ...clientCells(c, ['retry']),
        formatMs(med(c.id, (f) => f.p50)),
        spread(
          list.map((f) => f.p99),
          (n) => formatMs(n, lower),
        ),
        spread(
          list.map((f) => f.withinDeadline),
          formatPercent,
        ),
        formatPercent(med(c.id, (f) => f.success)),
      ];
    }),
    ['left', 'left', 'right', 'right', 'right', 'right'],
  );
  const notes = [
    failureNote(results, CLIENTS, 'slow-tail'),
    'With their defaults no client bounds a slow response below 2 s (ky 10 s, the preset 10 s per attempt and 30 s in all, got, axios, ' +
      'ofetch and p-retry none, opossum 10 s), so each waits out the slow tail. The two tuned rows show the mechanism that meets a ' +
      'deadline: abort a slow attempt early and retry it (the retry lands on a fast response 95 % of the time). No peer other than ' +
      'ky can express a time-to-headers tier; got has `timeout.response`, axios a whole-request `timeout`, which retry the same way.',
  ];
  const method = [
    `A slow tail: ${SLOW_RATE * 100} % of responses (seeded random, the same seed for every client in a round) wait ${SLOW_MS / 1000} s `,
    `before the response head. Open loop: ${count} GETs at ${rate} per second; calls pending ${drainMs / 1000} s after the last one `,
    `was issued are aborted. Every client with its defaults, plus ky and the preset tuned for a ${DEADLINE_MS / 1000} s deadline; each in `,
    `a process of its own against an upstream of its own; all clients at once, from fresh instances, ${roundsText(rounds)}; `,
    `a figure is the median over the rounds.`,
  ].join('');
  const svg = barChart({
    title: `${NAME}: p99 latency with ${SLOW_RATE * 100} % of responses ${SLOW_MS / 1000} s late (median of ${rounds})`,
    categories: CLIENTS.map((c) => c.short),
    series: [
      { name: 'p50 (ms)', values: CLIENTS.map((c) => med(c.id, (f) => f.p50)) },
      { name: 'p99 (ms)', values: CLIENTS.map((c) => med(c.id, (f) => f.p99)) },
    ],
    unit: 'ms',
    width: 1060,
  });
  return {
    summary: `Behaviour with a slow tail (${SLOW_RATE * 100} % of responses take ${SLOW_MS / 1000} s): p99 latency and the share of calls that meet a ${DEADLINE_MS / 1000} s deadline.`,
    method,
    table,
    notes,
    svg,
  };
}

export const slowTail: Suite = defineSuite(
  NAME,
  'A slow tail (5 % of responses take 2 s): p99 and the share of calls within a 1 s deadline, every client.',
  measure,
);
