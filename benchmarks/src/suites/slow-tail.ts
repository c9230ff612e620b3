import {
  clientCells,
  clientColumns,
  type FaultClient,
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
import { markdownTable } from '../lib/report.ts';
import { spread } from '../lib/stats.ts';
import type { Suite, SuiteSettings } from '../lib/suite.ts';
import { barChart } from '../lib/svg.ts';
import { kyTiers, peerTiers, presetRetryLabel, presetTiers } from '../lib/tiers.ts';

const NAME = 'slow-tail';
const SLOW_RATE = 0.05;
const SLOW_MS = 2_000;
const DEADLINE_MS = 1_000;

/** The tuned preset's backoff: shorter delays, so the retry of a timed-out attempt goes out soon. */
const TUNED_BACKOFF = { strategy: 'decorrelated-v2', base: 50 } as const;

/** A per-attempt deadline for the tuned rows: a slow attempt is aborted and retried well within the 1 s deadline. */
const ATTEMPT_MS = 300;

/**
 * The defaults of every client; the preset with a per-host cap above this workload's tail concurrency (to show
 * which default is at fault); and every client that can express a per-attempt deadline, tuned for the 1 s
 * deadline (a short attempt timeout, retried after a short delay).
 */
const CLIENTS: readonly FaultClient[] = [
  ...faultClients,
  {
    id: 'preset-64',
    label: 'preset, defaults but agent.limitPerHost 64',
    short: 'preset (64/host)',
    client: 'preset',
    options: { limitPerHost: 64 },
    ...presetTiers,
  },
  {
    id: 'ky-tuned',
    label: 'ky, tuned: timeout 300 ms, retryOnTimeout',
    short: 'ky (tuned)',
    client: 'ky-default-fetch',
    options: { ky: { timeout: ATTEMPT_MS, retry: { retryOnTimeout: true } } },
    ...kyTiers,
  },
  {
    id: 'preset-tuned',
    label: 'preset, tuned: headers timeout 300 ms, backoff from 50 ms',
    short: 'preset (tuned)',
    client: 'preset',
    options: {
      preset: {
        timeout: { headers: ATTEMPT_MS },
        retry: { backoff: TUNED_BACKOFF },
      },
    },
    ...presetTiers,
    retry: presetRetryLabel(TUNED_BACKOFF),
  },
  {
    id: 'got-tuned',
    label: 'got, tuned: timeout.response 300 ms, retry.backoffLimit 50 ms',
    short: 'got (tuned)',
    client: 'got',
    options: { got: { timeout: { response: ATTEMPT_MS }, retry: { backoffLimit: 50 } } },
    ...peerTiers.got,
    retry: '2 retries, min(1 s × 2ⁿ⁻¹, 50 ms) + ≤ 100 ms',
  },
  {
    id: 'cockatiel-tuned',
    label: 'cockatiel, tuned: timeout(300 ms) per attempt, backoff from 50 ms',
    short: 'cockatiel (tuned)',
    client: 'cockatiel',
    options: { cockatiel: { attemptTimeoutMs: ATTEMPT_MS, initialDelayMs: 50 } },
    ...peerTiers.cockatiel,
    retry: '3 retries, decorrelated jitter from 50 ms',
  },
];

type Figures = {
  p50: number;
  p90: number;
  p99: number;
  lowerBound: boolean;
  within: number;
  ok: number;
  unfinished: number;
  calls: number;
};

function figuresOf(outcome: RunOutcome, count: number): Figures {
  const at = (p: number) => latencyPercentile(outcome.records, p)!;
  const p99 = at(99);
  return {
    p50: at(50).ms,
    p90: at(90).ms,
    p99: p99.ms,
    lowerBound: p99.lowerBound,
    within: outcome.records.filter((r) => r.outcome === 'ok' && r.end - r.start <= DEADLINE_MS).length,
    ok: outcome.records.filter((r) => r.outcome === 'ok').length,
    unfinished: outcome.records.filter((r) => r.outcome === 'unfinished').length,
    calls: count,
  };
}

/** `93.1 %–95.0 %`: the rounds' range of a share. */
function spreadOf(shares: readonly number[]): string {
  return `${formatPercent(Math.min(...shares))}–${formatPercent(Math.max(...shares))}`;
}

/** What the default per-host cap did in this run, from the preset's rows with the default and a wide cap. */
function saturationNote(
  cap: string,
  steady: number,
  tailMs: number,
  f: { preset: number; wide: number; presetP90: number; wideP90: number },
): string {
  const head =
    `The preset with its defaults caps each host at ${cap}. A slow response holds its connection and its limiter ` +
    `slot for the whole ${tailMs / 1000} s, and at this rate about ${steady} of them are in flight at once. `;
  const numbers =
    `within the deadline ${formatPercent(f.preset)} with the default cap, ${formatPercent(f.wide)} with 64/host; ` +
    `p90 ${formatMs(f.presetP90)} against ${formatMs(f.wideP90)}`;
  const saturated = f.preset < f.wide - 0.01 || f.presetP90 > 2 * f.wideP90 + 5;
  return saturated
    ? `${head}In this run the default cap saturated: fast calls waited in the host limiter's queue behind slow ones ` +
        `(head-of-line blocking), ${numbers}. The "64/host" row is the same preset with only \`agent.limitPerHost\` ` +
        'raised (the host limiter follows it): the default per-host cap, not the other tiers, is what queued.'
    : `${head}In this run the default cap did not measurably queue the fast calls (${numbers}); with the slow ` +
        'responses bunched by chance it can, as the "64/host" row (only `agent.limitPerHost` raised) is there to show.';
}

/** Σ pick ÷ Σ calls over the rounds. */
function pooled(list: readonly Figures[], pick: (f: Figures) => number): number {
  let n = 0;
  let d = 0;
  for (const f of list) {
    n += pick(f);
    d += f.calls;
  }
  return d === 0 ? 0 : n / d;
}

async function measure(settings: SuiteSettings): Promise<Measured> {
  const tailMs = settings.smoke ? 300 : SLOW_MS;
  const scenario: Scenario = {
    id: 'slow-tail',
    // 4 s of arrivals, 2× the tail delay: the slow responses reach their steady state (rate × share × delay in
    // flight per host) for the second half of the run.
    count: [20, 400],
    drainMs: [200, 2_100],
    // Two groups of seven clients, one after the other: fourteen processes at 100 calls per second at once would
    // saturate the 2 cores; two rounds (800 calls per client in all) keep the suite within its time.
    groups: 2,
    rounds: [1, 2],
    // A smoke run only checks that the suite runs: a shorter tail keeps it quick.
    route: { schedule: { kind: 'slowTail', rate: SLOW_RATE, delayMs: tailMs } },
  };
  const { plan, results, figs, med } = await runScenario(NAME, settings, CLIENTS, scenario, figuresOf);
  const caps = await perHostCaps(CLIENTS, settings);
  const { rounds, rate, count, drainMs } = plan;
  const steady = rate * SLOW_RATE * (tailMs / 1000);
  const table = markdownTable(
    [
      ...clientColumns(['retry', 'perHost']),
      `p50 of ${count}`,
      `p90 of ${count}`,
      `p99 of ${count} (min–max)`,
      `within ${DEADLINE_MS / 1000} s, all rounds (min–max)`,
      'success, all rounds',
      'unfinished',
    ],
    CLIENTS.map((c) => {
      const list = figs.get(c.id)!;
      const lower = list.some((f) => f.lowerBound);
      return [
        ...clientCells(c, ['retry', 'perHost'], caps),
        formatMs(med(c.id, (f) => f.p50)),
        formatMs(med(c.id, (f) => f.p90)),
        spread(
          list.map((f) => f.p99),
          (n) => formatMs(n, lower),
        ),
        `${formatPercent(pooled(list, (f) => f.within))} (${spreadOf(list.map((f) => f.within / f.calls))})`,
        formatPercent(pooled(list, (f) => f.ok)),
        String(list.reduce((a, f) => a + f.unfinished, 0)),
      ];
    }),
    ['left', 'left', 'left', 'right', 'right', 'right', 'right', 'right', 'right'],
  );
  const within = (id: string) => pooled(figs.get(id)!, (f) => f.within);
  const p90 = (id: string) => med(id, (f) => f.p90);
  const info = [
    `INFO  slow responses in flight per host at steady state: ${rate}/s × ${SLOW_RATE * 100} % × ${tailMs / 1000} s = ${steady}`,
    `INFO  within ${DEADLINE_MS / 1000} s, all rounds: preset (defaults) ${formatPercent(within('preset'))}, ` +
      `preset (64/host) ${formatPercent(within('preset-64'))}, ky ${formatPercent(within('ky'))}; ` +
      `p90: ${formatMs(p90('preset'))}, ${formatMs(p90('preset-64'))}, ${formatMs(p90('ky'))}`,
  ];
  const notes = [
    failureNote(results, CLIENTS, 'slow-tail'),
    saturationNote(caps.get('preset') ?? '', steady, tailMs, {
      preset: within('preset'),
      wide: within('preset-64'),
      presetP90: p90('preset'),
      wideP90: p90('preset-64'),
    }) +
      ` A user with a ${DEADLINE_MS / 1000} s deadline should set a per-attempt deadline, as the tuned row does ` +
      `(\`timeout: { headers: ${ATTEMPT_MS} }\` and a shorter backoff): a slow attempt then holds its slot for ` +
      `${ATTEMPT_MS} ms instead of ${tailMs / 1000} s, so about ${(rate * SLOW_RATE * ATTEMPT_MS) / 1000} slots per host ` +
      'are taken by the tail and the default cap of 10 is enough. Without one, `agent.limitPerHost` must stay well ' +
      'above rate × slow share × slow delay for each host.',
    'With their defaults no client bounds a slow response below 2 s (ky 10 s, the preset 10 s per attempt and 30 s in all, got, axios, ' +
      'ofetch and p-retry none, opossum 10 s), so each waits out the slow tail. The tuned rows abort a slow attempt ' +
      `after ${ATTEMPT_MS} ms and retry it (the retry lands on a fast response 95 % of the time). What each client can express: ` +
      'ky `timeout` (per attempt) with `retry.retryOnTimeout` (tuned row); the preset `timeout.headers` or `timeout.attempt` ' +
      '(tuned row); got `timeout.response` (time to the response head, per attempt; got retries its ETIMEDOUT) with ' +
      '`retry.backoffLimit` to shorten its 1 s first delay (tuned row); cockatiel a `timeout()` policy inside its `retry()` ' +
      '(tuned row); ofetch `timeout`, retried, but ofetch applies it only when the caller passes no `signal` (this ' +
      'benchmark always passes one, so it needs `AbortSignal.any` by hand: not shown); axios `timeout` covers the whole ' +
      'request and axios-retry does not retry its ECONNABORTED unless a `retryCondition` allows it, with ' +
      '`shouldResetTimeout: true` (otherwise a retry gets only what is left of the first timeout: not shown); p-retry ' +
      'only by an `AbortSignal.timeout()` made inside the retried function and a smaller `minTimeout` (not shown); ' +
      'opossum `timeout` fails the call but has no retry, so it cannot meet a deadline on the slow 5 %.',
  ];
  const method = [
    `A slow tail: ${SLOW_RATE * 100} % of responses (seeded random, the same seed for every client in a round, one draw per `,
    `upstream request in arrival order, so retries shift which later requests are slow) wait ${tailMs / 1000} s `,
    `before the response head. Open loop: ${count} GETs at ${rate} per second to one host (${count / rate} s of arrivals, `,
    `${(count / rate / (tailMs / 1000)).toFixed(0)}× the tail delay, so the slow responses in flight reach their steady state); calls pending `,
    `${drainMs / 1000} s after the last one was issued are aborted and count as unfinished (not within the deadline). Every client with its `,
    `defaults; the preset with \`agent.limitPerHost\` 64; and ky, the preset, got and cockatiel tuned for a ${DEADLINE_MS / 1000} s `,
    `deadline. Each in a process of its own against an upstream of its own, from fresh instances; the clients run in two `,
    `groups of seven (every other row), one group after the other with the same seed, ${roundsText(rounds)}. "per-host cap" is the cap on connections (and limiter slots) per host, the preset's as its client `,
    `reports it after the run. Shares are pooled over the rounds (calls within the deadline ÷ calls issued), with the `,
    `rounds' range; latencies are the median over the rounds of each round's percentile over its ${count} calls.`,
  ].join('');
  const svg = barChart({
    title: `${NAME}: latency with ${SLOW_RATE * 100} % of responses ${tailMs / 1000} s late (median of ${rounds})`,
    categories: CLIENTS.map((c) => c.short),
    series: [
      { name: 'p50 (ms)', values: CLIENTS.map((c) => med(c.id, (f) => f.p50)) },
      { name: 'p90 (ms)', values: CLIENTS.map((c) => med(c.id, (f) => f.p90)) },
      { name: 'p99 (ms)', values: CLIENTS.map((c) => med(c.id, (f) => f.p99)) },
    ],
    unit: 'ms',
    width: 1300,
  });
  return {
    summary: `Behaviour with a slow tail (${SLOW_RATE * 100} % of responses take ${SLOW_MS / 1000} s): p99 latency and the share of calls that meet a ${DEADLINE_MS / 1000} s deadline.`,
    method,
    table,
    info,
    notes,
    svg,
  };
}

export const slowTail: Suite = defineSuite(
  NAME,
  'A slow tail (5 % of responses take 2 s): p99 and the share of calls within a 1 s deadline, every client.',
  measure,
);
