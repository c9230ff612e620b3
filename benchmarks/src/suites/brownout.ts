import { defaultRetryBudgetOptions } from '@ky-resilience/retry';
import {
  clientCells,
  clientColumns,
  type FaultClient,
  type FaultResults,
  failureNote,
  faultClients,
  formatMs,
  formatPercent,
  latencyPercentile,
  perHostCaps,
  type RunOutcome,
  runScenario,
  type Scenario,
} from '../lib/faults.ts';
import { defineSuite, type Measured, rounds as roundsText } from '../lib/finish.ts';
import { formatRatio, goal, markdownTable } from '../lib/report.ts';
import { median, spread } from '../lib/stats.ts';
import type { Suite, SuiteSettings } from '../lib/suite.ts';
import { barChart } from '../lib/svg.ts';
import { presetTiers } from '../lib/tiers.ts';

const NAME = 'brownout';
const ERROR_RATE = 0.2;
/** 2 rounds of 300 calls (a smoke run 20), 3.5 s drain: the goals are judged on the 600 calls pooled. */
const SCENARIO: Scenario = {
  id: 'brownout',
  count: [20, 300],
  drainMs: [500, 3_500],
  rounds: [1, 2],
  route: { schedule: { kind: 'brownout', errorRate: ERROR_RATE, status: 503 } },
};

/**
 * Every client with its defaults, plus the preset with its retry budget off and nothing else changed: side by
 * side with the preset's row, what the budget costs when the failures are ones a retry can fix.
 */
const CLIENTS: readonly FaultClient[] = [
  ...faultClients,
  {
    id: 'preset-no-budget',
    label: 'preset, retry budget off (`retry: { budget: false }`)',
    short: 'preset (no budget)',
    client: 'preset',
    options: { preset: { retry: { budget: false } } },
    ...presetTiers,
    budget: 'none',
  },
];

/**
 * The budget's arithmetic at this error rate, from its defaults, and the measured preset rows with and without it.
 * A retry is allowed while a host's bucket holds more than capacity / 2 tokens; a failed attempt takes one token,
 * any other response adds `ratio`: on average the bucket gains (1 − p) × ratio − p per attempt.
 */
function budgetNote(
  figures: (id: string) => { success: string; attempts: string; p99: string },
  refused: number,
): string {
  const { ratio, capacity } = defaultRetryBudgetOptions;
  const drift = (1 - ERROR_RATE) * ratio - ERROR_RATE;
  const breakEven = ratio / (1 + ratio);
  const withBudget = figures('preset');
  const without = figures('preset-no-budget');
  return (
    `The retry budget at a ${ERROR_RATE * 100} % error rate: a failed attempt takes a token and any other response adds ${ratio}, ` +
    `so a host's bucket gains ${drift.toFixed(2)} tokens per attempt on average (it drains only above ${(breakEven * 100).toFixed(0)} % ` +
    `of failed attempts): at this error rate it fills rather than drains, and retries stop only once it is down to ${capacity / 2} of its ${capacity} tokens. ` +
    `Calls that failed because a budget refused their retry (RetryBudgetExhaustedError), all clients and rounds: ${refused}. ` +
    `Preset with its budget / without: success ${withBudget.success} / ${without.success}, ` +
    `${withBudget.attempts} / ${without.attempts} upstream attempts per call, p99 ${withBudget.p99} / ${without.p99} of ky's.`
  );
}

/** `98.0 %–100.0 %`: the range of the rounds. */
function range(values: readonly number[], format: (n: number) => string): string {
  return `${format(Math.min(...values))}–${format(Math.max(...values))}`;
}

/** Calls that failed with a RetryBudgetExhaustedError, over every client and round. */
function refusals(results: FaultResults): number {
  let n = 0;
  for (const byRun of results.values()) {
    for (const outcome of byRun.get('brownout')!) {
      for (const [label, count] of Object.entries(outcome.errors))
        if (label.includes('RetryBudgetExhausted')) n += count;
    }
  }
  return n;
}

type Figures = {
  success: number;
  ok: number;
  calls: number;
  upstream: number;
  /** Upstream attempts made by each call that did not succeed. */
  failedAttempts: number[];
  attemptsPerCall: number;
  p50: number;
  p99: number;
  p99LowerBound: boolean;
  unfinished: number;
};

function figuresOf(outcome: RunOutcome, count: number): Figures {
  const p50 = latencyPercentile(outcome.records, 50)!;
  const p99 = latencyPercentile(outcome.records, 99)!;
  return {
    success: outcome.records.filter((r) => r.outcome === 'ok').length / count,
    ok: outcome.records.filter((r) => r.outcome === 'ok').length,
    calls: count,
    upstream: outcome.upstreamRequests,
    failedAttempts: outcome.records
      .filter((r) => r.outcome !== 'ok')
      .map((r) => outcome.attempts.get(r.i) ?? 0),
    attemptsPerCall: outcome.upstreamRequests / count,
    p50: p50.ms,
    p99: p99.ms,
    p99LowerBound: p99.lowerBound,
    unfinished: outcome.records.filter((r) => r.outcome === 'unfinished').length,
  };
}

async function measure(settings: SuiteSettings): Promise<Measured> {
  const { plan, results, figs, med } = await runScenario(NAME, settings, CLIENTS, SCENARIO, figuresOf);
  const caps = await perHostCaps(CLIENTS, settings);
  const { rounds, rate, count, drainMs } = plan;
  const two = (n: number): string => n.toFixed(2);
  /** Over every call of every round: Σ ok ÷ Σ calls, Σ upstream attempts ÷ Σ calls. */
  const pooled = (id: string) => {
    const list = figs.get(id)!;
    const calls = list.reduce((a, f) => a + f.calls, 0);
    return {
      calls,
      success: list.reduce((a, f) => a + f.ok, 0) / calls,
      attempts: list.reduce((a, f) => a + f.upstream, 0) / calls,
      failedAttempts: list.flatMap((f) => f.failedAttempts),
    };
  };
  /** p99 of the subject ÷ ky's p99, per round, median. */
  const p99VsKy = (id: string): number =>
    median(figs.get(id)!.map((f, i) => f.p99 / figs.get('ky')![i]!.p99));

  const table = markdownTable(
    [
      ...clientColumns(['retry', 'breaker', 'budget', 'perHost']),
      'success, all rounds (rounds: min–max)',
      'upstream attempts per call, all rounds (rounds: min–max)',
      `p50 of ${count}`,
      `p99 of ${count} (min–max)`,
      'p99 ÷ ky',
      'unfinished at the cutoff',
    ],
    CLIENTS.map((c) => {
      const list = figs.get(c.id)!;
      const lower = list.some((f) => f.p99LowerBound);
      return [
        ...clientCells(c, ['retry', 'breaker', 'budget', 'perHost'], caps),
        `${formatPercent(pooled(c.id).success)} (${range(
          list.map((f) => f.success),
          formatPercent,
        )})`,
        `${two(pooled(c.id).attempts)} (${range(
          list.map((f) => f.attemptsPerCall),
          two,
        )})`,
        formatMs(med(c.id, (f) => f.p50)),
        spread(
          list.map((f) => f.p99),
          (n) => formatMs(n, lower),
        ),
        formatRatio(p99VsKy(c.id)),
        String(med(c.id, (f) => f.unfinished)),
      ];
    }),
    ['left', 'left', 'left', 'left', 'left', 'right', 'right', 'right', 'right', 'right', 'right'],
  );
  const checks = [
    goal(
      `preset: success rate over all ${pooled('preset').calls} calls`,
      pooled('preset').success,
      '≥',
      0.995,
      formatPercent,
    ),
    goal(
      `preset: upstream attempts per call over all ${pooled('preset').calls} calls`,
      pooled('preset').attempts,
      '≤',
      1.3,
      two,
    ),
    goal("preset: p99 latency ÷ ky's default p99 (same run)", p99VsKy('preset'), '<', 1, formatRatio),
  ];
  const allThree = faultClients
    .filter((c) => c.id !== 'preset')
    .filter((c) => pooled(c.id).success >= 0.995 && pooled(c.id).attempts <= 1.3 && p99VsKy(c.id) < 1)
    .map((c) => c.short);
  const perRound = figs.get('preset')!.map((f) => formatPercent(f.success));
  const info = [
    `INFO  preset: success by round ${perRound.join(', ')} (median ${formatPercent(med('preset', (f) => f.success))}); ` +
      `rounds meeting ≥ 99.5 %: ${figs.get('preset')!.filter((f) => f.success >= 0.995).length} of ${rounds}`,
  ];
  const failedBy = (id: string): string => {
    const counts = new Map<number, number>();
    for (const n of pooled(id).failedAttempts) counts.set(n, (counts.get(n) ?? 0) + 1);
    return counts.size === 0
      ? 'none failed'
      : [...counts.entries()]
          .sort((a, b) => a[0] - b[0])
          .map(([attempts, n]) => `${n} after ${attempts} attempt${attempts === 1 ? '' : 's'}`)
          .join(', ');
  };
  const notes = [
    failureNote(results, CLIENTS, 'brownout'),
    `Upstream attempts made by the calls that failed, all rounds (a call with fewer attempts than its client's retry limit + 1 ` +
      `stopped retrying early: budget, breaker, or cutoff): preset ${failedBy('preset')}; preset without budget ` +
      `${failedBy('preset-no-budget')}; ky ${failedBy('ky')}.`,
    `Other clients meeting all three goals in this run: ${allThree.length === 0 ? 'none' : allThree.join(', ')}.`,
    'A call unfinished at the cutoff counts as not successful; its latency counts as the time it had run (a lower bound, marked ≥).',
    budgetNote(
      (id) => ({
        success: formatPercent(pooled(id).success),
        attempts: two(pooled(id).attempts),
        p99: formatRatio(p99VsKy(id)),
      }),
      refusals(results),
    ),
  ];
  const method = [
    `A ${ERROR_RATE * 100} % brownout: each upstream request fails with 503 (no Retry-After) with probability ${ERROR_RATE}, drawn `,
    `from the upstream's seeded random (the same seed for every client in a round; seeds 1, 2, 3... by round; one draw `,
    `per upstream request in arrival order, so a client's retries shift which later requests fail: every client sees `,
    `the same error rate and sequence of draws, not the same calls failing). Open loop: `,
    `${count} GETs issued at ${rate} per second, the same schedule for every client; calls still pending ${drainMs / 1000} s `,
    `after the last one was issued are aborted. Every client with its defaults (and the preset with its retry budget off), in a process of its own, against an `,
    `upstream of its own; all clients run at once, each from a fresh instance, ${roundsText(rounds)}. The success rate and `,
    `attempts per call are pooled over every call of every round (${count * rounds} per client: one failed call is `,
    `${formatPercent(1 / (count * rounds))}), the rounds' range beside them, and the goals are judged on the pooled figures; `,
    `a latency is the median over the rounds of each round's percentile over its ${count} calls, "p99 ÷ ky" the median `,
    `of the per-round ratios. Latency is per call, retries and backoff included, failed calls included.`,
  ].join('');
  const svg = barChart({
    title: `${NAME}: p99 call latency under a ${ERROR_RATE * 100} % 503 brownout (median of ${rounds}; success rate in the table)`,
    categories: CLIENTS.map((c) => c.short),
    series: [
      { name: 'p50 (ms)', values: CLIENTS.map((c) => med(c.id, (f) => f.p50)) },
      { name: 'p99 (ms)', values: CLIENTS.map((c) => med(c.id, (f) => f.p99)) },
    ],
    unit: 'ms',
    width: 960,
  });
  return {
    summary: `Behaviour under a ${ERROR_RATE * 100} % 503 brownout: success rate, upstream attempts per call and p99 latency.`,
    method,
    table,
    info,
    notes,
    svg,
    checks,
  };
}

export const brownout: Suite = defineSuite(
  NAME,
  'A 20 % 503 brownout: success rate, upstream attempts per call and p99 latency, every client side by side.',
  measure,
);
