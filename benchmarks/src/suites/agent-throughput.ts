import type { ClientWorker } from '../lib/client-worker.ts';
import {
  type LoopVariant,
  type RatioGoal,
  rateChart,
  ratioChecks,
  runClosedLoop,
} from '../lib/closed-loop.ts';
import { defineSuite, type Measured, rounds as roundsText } from '../lib/finish.ts';
import { formatRatio, markdownTable } from '../lib/report.ts';
import { median } from '../lib/stats.ts';
import type { Suite, SuiteSettings } from '../lib/suite.ts';

const NAME = 'agent-throughput';
const CONCURRENCIES: readonly number[] = [1, 64];

/** Run order within a round. */
const VARIANTS: readonly LoopVariant[] = [
  {
    id: 'ky-default-fetch',
    label: "ky on Node's default fetch",
    short: 'ky + default fetch',
    client: 'ky-default-fetch',
    options: {},
  },
  {
    id: 'ky-agent',
    label: 'ky over the agent (defaults: limitPerHost 10)',
    short: 'ky + agent (10/host)',
    client: 'ky-agent',
    options: {},
  },
  {
    id: 'ky-agent-64',
    label: 'ky over the agent, limitPerHost 64',
    short: 'ky + agent (64/host)',
    client: 'ky-agent',
    options: { limitPerHost: 64 },
    concurrencies: [64],
  },
  {
    id: 'node-fetch',
    label: "Node's default fetch (no ky)",
    short: 'default fetch',
    client: 'node-fetch',
    options: {},
  },
  {
    id: 'agent-fetch',
    label: "agent.fetch, the agent's transport (defaults: limitPerHost 10)",
    short: 'agent.fetch (10/host)',
    client: 'agent-fetch',
    options: {},
  },
  {
    id: 'agent-fetch-64',
    label: 'agent.fetch, limitPerHost 64',
    short: 'agent.fetch (64/host)',
    client: 'agent-fetch',
    options: { limitPerHost: 64 },
    concurrencies: [64],
  },
  {
    id: 'undici-fetch',
    label: 'undici fetch + plain Agent (npm undici)',
    short: 'undici fetch + Agent',
    client: 'undici-fetch',
    options: {},
  },
  {
    id: 'undici-request',
    label: 'undici.request + plain Agent (npm undici)',
    short: 'undici.request + Agent',
    client: 'undici-request',
    options: {},
  },
];

/** Baseline of the table's ratio columns. */
const BASELINE = 'undici-fetch';

const GOALS: readonly RatioGoal[] = [
  {
    label: "ky over the agent ÷ ky on Node's default fetch, 1 in flight",
    subject: 'ky-agent',
    baseline: 'ky-default-fetch',
    concurrency: 1,
    target: 1.0,
  },
  {
    label: "ky over the agent (defaults, limitPerHost 10) ÷ ky on Node's default fetch, 64 in flight",
    subject: 'ky-agent',
    baseline: 'ky-default-fetch',
    concurrency: 64,
    target: 1.0,
  },
  {
    label: "ky over the agent (limitPerHost 64) ÷ ky on Node's default fetch, 64 in flight",
    subject: 'ky-agent-64',
    baseline: 'ky-default-fetch',
    concurrency: 64,
    target: 1.0,
  },
  {
    label: 'agent.fetch ÷ undici fetch + plain Agent, 1 in flight',
    subject: 'agent-fetch',
    baseline: 'undici-fetch',
    concurrency: 1,
    target: 0.95,
  },
  {
    label: 'agent.fetch (defaults, limitPerHost 10) ÷ undici fetch + plain Agent, 64 in flight',
    subject: 'agent-fetch',
    baseline: 'undici-fetch',
    concurrency: 64,
    target: 0.95,
  },
  {
    label: 'agent.fetch (limitPerHost 64) ÷ undici fetch + plain Agent, 64 in flight',
    subject: 'agent-fetch-64',
    baseline: 'undici-fetch',
    concurrency: 64,
    target: 0.95,
  },
];

async function measure(settings: SuiteSettings): Promise<Measured> {
  const requests = settings.requests ?? (settings.smoke ? 50 : 400);
  const rounds = settings.rounds ?? (settings.smoke ? 1 : 3);
  const warmup = Math.min(requests, settings.smoke ? 20 : 100);
  let facts: Record<string, unknown> | undefined;
  // One upstream per client, so that the sockets open after a run are that client's pool alone; every run
  // starts cold (the client's idle keep-alive sockets are closed, and it is given time to see it).
  const samples = await runClosedLoop(
    settings,
    {
      name: NAME,
      concurrencies: CONCURRENCIES,
      requests,
      rounds,
      warmup: { requests: warmup, concurrencies: CONCURRENCIES },
      cold: true,
      after: async (workers: ReadonlyMap<string, ClientWorker>) => {
        facts = await workers.get('ky-default-fetch')!.inspect();
      },
    },
    VARIANTS,
  );

  // The default-fetch figures are only meaningful if Node's own dispatcher served them.
  if (facts === undefined) throw new Error('the default-fetch worker gave no account of its dispatcher');
  const ownDispatcher =
    facts.globalDispatcherSet === true &&
    facts.globalDispatcherIsNpmUndiciAgent === false &&
    facts.npmUndiciModulesLoadedDuringRuns === 0;
  if (!ownDispatcher) {
    throw new Error(`ky on the default fetch did not run on Node's own dispatcher: ${JSON.stringify(facts)}`);
  }

  const table = markdownTable(
    [
      'client',
      '1 in flight: req/s (min–max)',
      '× undici fetch',
      'µs CPU/req',
      '64 in flight: req/s (min–max)',
      '× undici fetch',
      'µs CPU/req',
      'sockets (1 / 64)',
    ],
    VARIANTS.map((v) => [
      v.label,
      ...CONCURRENCIES.flatMap((c) => [
        samples.rateCell(v.id, c),
        samples.ratioCell(v.id, BASELINE, c),
        samples.cpuCell(v.id, c),
      ]),
      samples.perConcurrencyCell(v.id, CONCURRENCIES, (s) => s.open),
    ]),
    ['left', 'right', 'right', 'right', 'right', 'right', 'right', 'right'],
  );

  const checks = ratioChecks(samples, GOALS);
  /** The same comparisons by the client's CPU time per request: baseline CPU ÷ subject CPU (higher is better). */
  const cpuLines = GOALS.map((g) => {
    const r = median(samples.perRound(g.baseline, g.subject, g.concurrency, (s) => s.cpuPerRequest)!);
    return `      ${g.label}: ${formatRatio(r)}`;
  });

  const method = [
    `${requests} GETs per figure to a healthy \`startUpstream()\` on 127.0.0.1 (small JSON body, read in full), `,
    `with 1 and 64 requests in flight (closed loop). Every client runs in a child process of its own and talks `,
    `to an upstream of its own; the upstreams run in the parent, one client runs at a time. Warm-up of ${warmup} requests per figure, then ${roundsText(rounds)}, `,
    `each running every figure once in the order of the table (1 in flight first). A figure is the median `,
    `req/s over the rounds; a ratio is the median over the rounds of the per-round ratio. `,
    `"µs CPU/req" is the client process's CPU time (user + system) per request, median over the rounds: `,
    `other processes competing for the cores disturb it less than req/s. "sockets" is the number of `,
    `connections the client opened during a run (median; every run starts with no idle socket).`,
  ].join('');
  const cpuHeading =
    'Client CPU per request, same pairs (baseline µs ÷ subject µs, higher is better; not the goal):';
  const dispatcherNote =
    `ky on Node's default fetch ran on Node's own dispatcher (embedded undici ${String(facts.embeddedUndici)}; ` +
    `npm undici modules loaded in its process: ${String(facts.npmUndiciModulesLoadedDuringRuns)}; ` +
    `global dispatcher is npm undici's Agent: ${String(facts.globalDispatcherIsNpmUndiciAgent)}).`;
  const settingsNote =
    "The agent's defaults are `limit: 100, limitPerHost: 10`; Node's default fetch and undici's plain Agent " +
    'open as many sockets per origin as there are requests in flight, which `limitPerHost: 64` matches.';
  const svg = rateChart(
    samples,
    `${NAME}: req/s, median of ${roundsText(rounds)} of ${requests} GETs (${process.version}, loopback)`,
    VARIANTS,
    CONCURRENCIES,
    960,
  );
  return {
    summary: `ky over the agent vs ky on Node's default fetch vs undici fetch with a plain Agent vs undici.request, on loopback.`,
    method,
    preface: [settingsNote],
    table,
    blocks: [
      { fence: checks.map((c) => c.line) },
      { paragraph: cpuHeading },
      { fence: cpuLines },
      { paragraph: dispatcherNote },
    ],
    svg: { alt: 'req/s', content: svg },
    checks,
  };
}

export const agentThroughput: Suite = defineSuite(
  NAME,
  "Requests per second of ky over the agent, ky on Node's default fetch, agent.fetch, undici fetch and undici.request with a plain Agent, 1 and 64 in flight on loopback.",
  measure,
);
