import {
  clientCells,
  clientColumns,
  failureNote,
  faultClients,
  formatMs,
  latencies,
  latencyPercentile,
  perHostCaps,
  type RunOutcome,
  runScenario,
  type Scenario,
} from '../lib/faults.ts';
import { defineSuite, type Measured, rounds as roundsText } from '../lib/finish.ts';
import { goal, markdownTable } from '../lib/report.ts';
import { median, percentile } from '../lib/stats.ts';
import type { Suite, SuiteSettings } from '../lib/suite.ts';
import { barChart } from '../lib/svg.ts';

const NAME = 'outage';

type Figures = {
  attemptsPerCall: number;
  unfinished: number;
  /** Failed calls that never reached the upstream (rejected by an open breaker). */
  fastFailed: number;
  /** Latencies (ms) of the calls an open breaker rejected (they never reached the upstream). */
  fastMs: number[];
  failedP50?: number;
  failedCount: number;
  succeeded: number;
};

function figuresOf(outcome: RunOutcome, count: number): Figures {
  const failed = outcome.records.filter((r) => r.outcome === 'error');
  const fast = failed.filter((r) => (outcome.attempts.get(r.i) ?? 0) === 0);
  const figures: Figures = {
    attemptsPerCall: outcome.upstreamRequests / count,
    unfinished: outcome.records.filter((r) => r.outcome === 'unfinished').length,
    fastFailed: fast.length,
    fastMs: latencies(fast),
    failedCount: failed.length,
    succeeded: outcome.records.filter((r) => r.outcome === 'ok').length,
  };
  const all50 = latencyPercentile(failed, 50);
  if (all50 !== undefined) figures.failedP50 = all50.ms;
  return figures;
}

const SCENARIO: Scenario = {
  id: 'outage',
  count: [20, 100],
  drainMs: [500, 3_500],
  // Two rounds; attempts per call and the breaker-open latencies pool them.
  rounds: [1, 2],
  route: { steps: [{ status: 503 }] },
};

/** The preset's breaker-open latencies of every round, pooled: p50, p99, max, how many calls, how many ≥ 5 ms. */
function fastOf(list: readonly Figures[]) {
  const all = list.flatMap((f) => f.fastMs);
  return all.length === 0
    ? undefined
    : {
        n: all.length,
        p50: percentile(all, 50),
        p99: percentile(all, 99),
        max: Math.max(...all),
        slow: all.filter((ms) => ms >= 5).length,
      };
}

async function measure(settings: SuiteSettings): Promise<Measured> {
  const { plan, results, figs } = await runScenario(NAME, settings, faultClients, SCENARIO, figuresOf);
  // The same workload and seed again with the preset's process alone: the side-by-side run shares two cores
  // between nine client processes and nine upstreams, and a call rejected in a few tens of µs of CPU then waits
  // for a core. The fail-fast goal is a property of the client, judged here; the side-by-side figure stays in the table.
  const alone = await runScenario(
    `${NAME} (preset alone)`,
    settings,
    faultClients.filter((c) => c.id === 'preset'),
    SCENARIO,
    figuresOf,
  );
  const caps = await perHostCaps(faultClients, settings);

  const { rounds, rate, count, drainMs } = plan;
  const med = (id: string, pick: (f: Figures) => number | undefined): number | undefined => {
    const values = figs
      .get(id)!
      .map(pick)
      .filter((v): v is number => v !== undefined);
    return values.length === 0 ? undefined : median(values);
  };
  const two = (n: number): string => n.toFixed(2);
  /** Upstream attempts per call over every call of every round: Σ upstream requests ÷ Σ calls. */
  const attempts = (id: string): number => {
    const list = figs.get(id)!;
    return list.reduce((a, f) => a + f.attemptsPerCall * count, 0) / (list.length * count);
  };
  const table = markdownTable(
    [
      ...clientColumns(['retry', 'breaker', 'budget', 'perHost']),
      'upstream attempts per call, all rounds (rounds: min–max)',
      'calls that never reached the upstream',
      'failed call, breaker open, all rounds: p50 / p99 / max (n)',
      `failed call (all): p50 (n per round)`,
      'calls unfinished at the cutoff',
    ],
    faultClients.map((c) => {
      const list = figs.get(c.id)!;
      const fast = fastOf(list);
      const failedP50 = med(c.id, (f) => f.failedP50);
      const open =
        c.breaker === 'none'
          ? 'no breaker'
          : fast === undefined
            ? 'never opened'
            : `${formatMs(fast.p50)} / ${formatMs(fast.p99)} / ${formatMs(fast.max)} (${fast.n})`;
      return [
        ...clientCells(c, ['retry', 'breaker', 'budget', 'perHost'], caps),
        `${two(attempts(c.id))} (${two(Math.min(...list.map((f) => f.attemptsPerCall)))}–${two(Math.max(...list.map((f) => f.attemptsPerCall)))})`,
        `${med(c.id, (f) => f.fastFailed)} of ${count}`,
        open,
        failedP50 === undefined ? '—' : `${formatMs(failedP50)} (${med(c.id, (f) => f.failedCount)})`,
        String(med(c.id, (f) => f.unfinished)),
      ];
    }),
    ['left', 'left', 'left', 'left', 'left', 'right', 'right', 'right', 'right', 'right'],
  );

  const presetAlone = fastOf(alone.figs.get('preset')!);
  const presetTogether = fastOf(figs.get('preset')!);
  const fastText = (f: ReturnType<typeof fastOf>): string =>
    f === undefined
      ? 'no call was rejected by an open breaker'
      : `p50 ${formatMs(f.p50)}, p99 ${formatMs(f.p99)}, max ${formatMs(f.max)}, ${f.slow} of ${f.n} calls ≥ 5 ms`;
  const checks = [
    goal(
      `preset: upstream attempts per call over all ${count * rounds} calls`,
      attempts('preset'),
      '≤',
      1.2,
      two,
    ),
    goal(
      `preset alone: latency of a failed call once the breaker is open, p99 of the ${presetAlone?.n ?? 0} such calls of all rounds`,
      presetAlone?.p99 ?? Number.POSITIVE_INFINITY,
      '<',
      5,
      (n) => (Number.isFinite(n) ? formatMs(n) : 'no call was rejected by an open breaker'),
    ),
    goal(
      `ky + retry plugin (budget, no breaker): upstream attempts per call over all ${count * rounds} calls`,
      attempts('ky-retry'),
      '≤',
      1.2,
      two,
    ),
  ];
  const info = [
    `INFO  preset alone, breaker open: ${fastText(presetAlone)}`,
    `INFO  preset beside the eight other clients (the table), breaker open: ${fastText(presetTogether)}`,
  ];
  const notes = [
    failureNote(results, faultClients, 'outage'),
    `Side by side in this run: ky's default retry ${two(attempts('ky'))} upstream attempts per call, ` +
      `the retry plugin's budget ${two(attempts('ky-retry'))}, the whole preset ${two(attempts('preset'))}.`,
    'Clients without a breaker cannot fail fast: every call waits for its whole retry schedule. A call "unfinished at the cutoff" ' +
      `was still in its retry schedule ${drainMs / 1000} s after the last call was issued (p-retry's 10 retries take 17 minutes); ` +
      'its attempts so far are counted, so its attempts per call are a lower bound.',
  ];
  const method = [
    `A sustained outage: the upstream answers every request with 503 (no Retry-After). Open loop: ${count} GETs `,
    `issued at ${rate} per second, the same schedule for every client; calls still pending ${drainMs / 1000} s after the `,
    `last one was issued are aborted. Every client runs with its defaults (the table says what each can express; `,
    `"none" means the library has no such mechanism), in a process of its own, against an upstream of its own; all `,
    `clients run at once, each from a fresh instance, ${roundsText(rounds)}. Upstream attempts are counted by the upstream `,
    `per call (a call id header), and attempts per call pooled over the rounds (Σ attempts ÷ Σ calls; the rounds' range `,
    `beside it); the other counts are the median over the rounds. `,
    `"Breaker open" latency is the latency of failed calls that never reached the upstream, pooled over the rounds (n `,
    `calls). The goal ("a failed call once the breaker is open" under 5 ms) is judged on their p99, which on about a hundred `,
    `calls per round is close to the slowest of them, in a second pass of the same workload and seed with the preset's `,
    `process alone (the other clients' processes idle): beside eight other clients and nine upstreams on two cores, `,
    `a call rejected in one turn of the event loop still waits for a core, so the table's side-by-side figure measures `,
    `the machine's scheduling as much as the client. Both are printed below the table.`,
  ].join('');
  const svg = barChart({
    title: `${NAME}: upstream attempts per call during a 100 % 503 outage (${count * rounds} calls)`,
    categories: faultClients.map((c) => c.short),
    series: [
      {
        name: 'upstream attempts per call',
        values: faultClients.map((c) => attempts(c.id)),
      },
    ],
    unit: 'attempts per call',
    width: 960,
  });
  return {
    summary:
      'Behaviour during a sustained outage (every response 503): upstream attempts per call and fail-fast latency.',
    method,
    table,
    info,
    notes,
    svg,
    checks,
  };
}

export const outage: Suite = defineSuite(
  NAME,
  'A sustained 100 % 503 outage: upstream attempts per call and failed-call latency once the breaker is open, every client side by side.',
  measure,
);
