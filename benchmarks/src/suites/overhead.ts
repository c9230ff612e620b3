import {
  type LoopVariant,
  type RatioGoal,
  rateChart,
  ratioChecks,
  runClosedLoop,
} from '../lib/closed-loop.ts';
import { defineSuite, type Measured, rounds as roundsText } from '../lib/finish.ts';
import { formatRatio, markdownTable } from '../lib/report.ts';
import type { Suite, SuiteSettings } from '../lib/suite.ts';
import { carries, kyTiers, peerTiers, presetTiers } from '../lib/tiers.ts';

const NAME = 'overhead';
const CONCURRENCIES: readonly number[] = [1, 64];

type Variant = LoopVariant & {
  /** What the client does on failure (no fault is injected here; this is the machinery it carries). */
  carries: string;
};

/** The preset's tiers, with its retry defaults (the fault suites' tables spell out its breaker and budget). */
const PRESET_CARRIES = `agent, host limiter, timeouts, breaker per host; retry: ${presetTiers.retry}; retry budget per host`;

const VARIANTS: readonly Variant[] = [
  {
    id: 'ky',
    label: "bare ky on Node's default fetch",
    short: 'ky + default fetch',
    client: 'ky-default-fetch',
    options: {},
    carries: carries(kyTiers),
  },
  {
    id: 'ky-agent',
    label: 'bare ky on the agent (defaults: 10/host)',
    short: 'ky + agent (10/host)',
    client: 'ky-agent',
    options: {},
    carries: carries(kyTiers),
  },
  {
    id: 'ky-agent-64',
    label: 'bare ky on the agent, limitPerHost 64',
    short: 'ky + agent (64/host)',
    client: 'ky-agent',
    options: { limitPerHost: 64 },
    concurrencies: [64],
    carries: carries(kyTiers),
  },
  {
    id: 'preset',
    label: 'ky with the whole preset (defaults: 10/host)',
    short: 'preset (10/host)',
    client: 'preset',
    options: {},
    carries: PRESET_CARRIES,
  },
  {
    id: 'preset-64',
    label: 'ky with the whole preset, limitPerHost 64',
    short: 'preset (64/host)',
    client: 'preset',
    options: { limitPerHost: 64 },
    concurrencies: [64],
    carries: PRESET_CARRIES,
  },
  {
    id: 'got',
    label: 'got (its retry)',
    short: 'got',
    client: 'got',
    options: {},
    carries: carries(peerTiers.got),
  },
  {
    id: 'axios',
    label: 'axios + axios-retry',
    short: 'axios + axios-retry',
    client: 'axios',
    options: {},
    carries: carries(peerTiers.axios),
  },
  {
    id: 'ofetch',
    label: 'ofetch (its retry)',
    short: 'ofetch',
    client: 'ofetch',
    options: {},
    carries: carries(peerTiers.ofetch),
  },
  {
    id: 'p-retry',
    label: 'p-retry around fetch',
    short: 'p-retry + fetch',
    client: 'p-retry',
    options: {},
    carries: carries(peerTiers['p-retry']),
  },
  {
    id: 'opossum',
    label: 'opossum around fetch',
    short: 'opossum + fetch',
    client: 'opossum',
    options: {},
    carries: carries(peerTiers.opossum),
  },
  {
    id: 'cockatiel',
    label: 'cockatiel (retry + breaker) around fetch',
    short: 'cockatiel + fetch',
    client: 'cockatiel',
    options: {},
    carries: carries(peerTiers.cockatiel),
  },
];

/**
 * The goals. At 64 in flight the goals compare the settings where the agent may open as many sockets
 * per host as there are requests in flight (Node's default fetch opens that many or more); the default settings
 * are reported beside them.
 */
const GOALS: readonly RatioGoal[] = [
  {
    label: "preset ÷ bare ky on Node's default fetch, 1 in flight",
    subject: 'preset',
    baseline: 'ky',
    concurrency: 1,
    target: 1.0,
  },
  {
    label: "preset (limitPerHost 64) ÷ bare ky on Node's default fetch, 64 in flight",
    subject: 'preset-64',
    baseline: 'ky',
    concurrency: 64,
    target: 1.0,
  },
  {
    label: 'preset ÷ bare ky on the same agent, 1 in flight',
    subject: 'preset',
    baseline: 'ky-agent',
    concurrency: 1,
    target: 0.95,
  },
  {
    label: 'preset (limitPerHost 64) ÷ bare ky on the agent (limitPerHost 64), 64 in flight',
    subject: 'preset-64',
    baseline: 'ky-agent-64',
    concurrency: 64,
    target: 0.95,
  },
];

/** The same comparisons with the default settings (10 per host), reported beside the goals. */
const DEFAULT_SETTINGS: readonly RatioGoal[] = [
  {
    label: "preset (defaults, 10/host) ÷ bare ky on Node's default fetch, 64 in flight",
    subject: 'preset',
    baseline: 'ky',
    concurrency: 64,
    target: 1.0,
  },
  {
    label: 'preset (defaults) ÷ bare ky on the agent (defaults), 64 in flight',
    subject: 'preset',
    baseline: 'ky-agent',
    concurrency: 64,
    target: 0.95,
  },
];

async function measure(settings: SuiteSettings): Promise<Measured> {
  const requests = settings.requests ?? (settings.smoke ? 50 : 5000);
  const rounds = settings.rounds ?? (settings.smoke ? 1 : 3);
  // Steady state, as in a service that has been up for a while: the preset runs more code than bare
  // ky, so the JIT and the young-generation heap take a few thousand calls to settle (its first
  // 2000-call round cost about twice its third in CPU per request); 1000 calls per client and
  // concurrency, then the first measured run's 5000, get every client there before the rounds that follow
  // (a figure is a median of three).
  const warmup = settings.smoke ? Math.min(requests, 20) : 1000;
  const samples = await runClosedLoop(
    settings,
    {
      name: NAME,
      concurrencies: CONCURRENCIES,
      requests,
      rounds,
      warmup: { requests: warmup, concurrencies: CONCURRENCIES },
      cold: true,
      alternate: true,
    },
    VARIANTS,
  );

  const table = markdownTable(
    [
      'client',
      'carries',
      '1 in flight: req/s (min–max)',
      '× bare ky',
      'µs CPU/req',
      '64 in flight: req/s (min–max)',
      '× bare ky',
      'µs CPU/req',
      'sockets (1 / 64)',
    ],
    VARIANTS.map((v) => [
      v.label,
      v.carries,
      ...CONCURRENCIES.flatMap((c) => [
        samples.rateCell(v.id, c),
        samples.ratioCell(v.id, 'ky', c),
        samples.cpuCell(v.id, c),
      ]),
      samples.perConcurrencyCell(v.id, CONCURRENCIES, (s) => s.opened),
    ]),
    ['left', 'left', 'right', 'right', 'right', 'right', 'right', 'right', 'right'],
  );

  const checks = ratioChecks(samples, GOALS);
  const defaultLines = DEFAULT_SETTINGS.map(
    (g) =>
      `INFO  ${g.label}: ${formatRatio(samples.ratio(g.subject, g.baseline, g.concurrency)!)} (goal ≥ ${formatRatio(g.target)} applies to the 64/host settings above)`,
  );

  const method = [
    `${requests} GETs per figure to a healthy \`startUpstream()\` on 127.0.0.1 (small JSON body, read in full), with 1 `,
    `and 64 requests in flight (closed loop). No fault is injected: this measures what each client's resilience `,
    `machinery costs when nothing fails. Every client runs in a child process of its own against an upstream of `,
    `its own (the upstreams live in the parent; one client runs at a time). Warm-up of ${warmup} requests per client and concurrency `,
    `(the JIT's steady state, as in a service that has run for a while), `,
    `then ${roundsText(rounds)}, each running every figure once (1 in flight first; table order in odd rounds, reversed `,
    `in even ones, so that no client always runs first); `,
    `a figure is the median req/s over the rounds, a ratio the median of the per-round ratios. The peers run with `,
    `their defaults (got and axios on Node's http agent, the others on Node's default fetch); the preset with its `,
    `defaults except \`agent.limitPerHost\` where stated (its host limiter's concurrency follows it). "sockets" `,
    `counts the connections the upstream accepted during a run (median; each run starts with no idle socket).`,
  ].join('');
  const svg = rateChart(
    samples,
    `${NAME}: req/s, median of ${roundsText(rounds)} of ${requests} GETs, no faults (${process.version}, loopback)`,
    VARIANTS,
    CONCURRENCIES,
    1100,
  );
  return {
    summary:
      'Overhead with no faults: ky with the whole preset vs bare ky and the peer clients, on loopback.',
    method,
    table,
    info: defaultLines,
    svg: { alt: 'req/s', content: svg },
    checks,
  };
}

export const overhead: Suite = defineSuite(
  NAME,
  'Requests per second with no faults: ky with the whole preset vs bare ky (default fetch, agent) and got, axios-retry, ofetch, p-retry, opossum, cockatiel; 1 and 64 in flight.',
  measure,
);
