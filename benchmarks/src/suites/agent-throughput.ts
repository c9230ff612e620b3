import { mkdir, writeFile } from 'node:fs/promises';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { startUpstream, type Upstream } from '@ky-resilience/testing';
import { ClientWorker } from '../lib/client-worker.ts';
import type { ClientName, ClientOptions } from '../lib/clients.ts';
import { environment, environmentLines } from '../lib/env.ts';
import { formatRate, formatRatio, goalLine, markdownTable } from '../lib/report.ts';
import { median, summarize } from '../lib/stats.ts';
import type { Suite, SuiteOutcome, SuiteSettings } from '../lib/suite.ts';
import { barChart } from '../lib/svg.ts';

const NAME = 'agent-throughput';
const CONCURRENCIES: readonly number[] = [1, 64];

type Variant = {
  id: string;
  /** Row label in the table. */
  label: string;
  /** Bar label in the chart. */
  short: string;
  client: ClientName;
  options: ClientOptions;
  /** Concurrencies this variant is measured at (a per-host cap changes nothing with one request in flight). */
  concurrencies: readonly number[];
};

/** Run order within a round. */
const VARIANTS: readonly Variant[] = [
  {
    id: 'ky-default-fetch',
    label: "ky on Node's default fetch",
    short: 'ky + default fetch',
    client: 'ky-default-fetch',
    options: {},
    concurrencies: [1, 64],
  },
  {
    id: 'ky-agent',
    label: 'ky over the agent (defaults: limitPerHost 10)',
    short: 'ky + agent (10/host)',
    client: 'ky-agent',
    options: {},
    concurrencies: [1, 64],
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
    concurrencies: [1, 64],
  },
  {
    id: 'agent-fetch',
    label: "agent.fetch, the agent's transport (defaults: limitPerHost 10)",
    short: 'agent.fetch (10/host)',
    client: 'agent-fetch',
    options: {},
    concurrencies: [1, 64],
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
    concurrencies: [1, 64],
  },
  {
    id: 'undici-request',
    label: 'undici.request + plain Agent (npm undici)',
    short: 'undici.request + Agent',
    client: 'undici-request',
    options: {},
    concurrencies: [1, 64],
  },
];

/** Baseline of the table's ratio columns. */
const BASELINE = 'undici-fetch';

type Goal = { label: string; subject: string; baseline: string; concurrency: number; target: number };

const GOALS: readonly Goal[] = [
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

type Sample = { rate: number; cpuPerRequest: number; sockets: number };

const key = (id: string, concurrency: number): string => `${id}@${concurrency}`;

async function run(settings: SuiteSettings): Promise<SuiteOutcome> {
  const requests = settings.requests ?? (settings.smoke ? 50 : 400);
  const rounds = settings.rounds ?? (settings.smoke ? 1 : 3);
  const warmup = Math.min(requests, settings.smoke ? 20 : 100);
  const env = environment();
  const loadBefore = loadavg()[0] ?? 0;
  // One upstream per client, so that the sockets open after a run are that client's pool alone.
  const upstreams = new Map<string, Upstream>();
  const workers = new Map<string, ClientWorker>();
  const samples = new Map<string, Sample[]>();
  let facts: Record<string, unknown> | undefined;
  const started = performance.now();
  try {
    for (const v of VARIANTS) {
      upstreams.set(v.id, await startUpstream({ host: '127.0.0.1' }));
      workers.set(v.id, new ClientWorker(v.client, v.options, { execArgv: settings.workerExecArgv }));
    }
    const urlOf = (id: string): string => `${upstreams.get(id)!.url}/bench`;
    await Promise.all([...workers.values()].map((w) => w.ready()));

    settings.log(`${NAME}: warm-up (${warmup} requests per figure)`);
    for (const v of VARIANTS) {
      for (const c of v.concurrencies) await workers.get(v.id)!.run(urlOf(v.id), warmup, c);
    }

    for (let round = 1; round <= rounds; round++) {
      for (const c of CONCURRENCIES) {
        for (const v of VARIANTS) {
          if (!v.concurrencies.includes(c)) continue;
          const upstream = upstreams.get(v.id)!;
          // Every run starts cold: the client's idle keep-alive sockets are closed, and it is given time to see it.
          upstream.closeIdleSockets();
          await delay(20);
          upstream.reset();
          const result = await workers.get(v.id)!.run(urlOf(v.id), requests, c);
          const sample: Sample = {
            rate: (requests * 1000) / result.ms,
            cpuPerRequest: result.cpuMicros / requests,
            sockets: upstream.openSockets,
          };
          const list = samples.get(key(v.id, c)) ?? [];
          list.push(sample);
          samples.set(key(v.id, c), list);
          settings.log(
            `${NAME}: round ${round}/${rounds}, ${c} in flight, ${v.id}: ${formatRate(sample.rate)} req/s, ` +
              `${sample.cpuPerRequest.toFixed(0)} µs CPU/req`,
          );
        }
      }
    }
    facts = await workers.get('ky-default-fetch')!.inspect();
  } finally {
    await Promise.all([...workers.values()].map((w) => w.close()));
    await Promise.all([...upstreams.values()].map((u) => u.close()));
  }
  const seconds = (performance.now() - started) / 1000;
  const loadAfter = loadavg()[0] ?? 0;

  // The default-fetch figures are only meaningful if Node's own dispatcher served them.
  if (facts === undefined) throw new Error('the default-fetch worker gave no account of its dispatcher');
  const ownDispatcher =
    facts.globalDispatcherSet === true &&
    facts.globalDispatcherIsNpmUndiciAgent === false &&
    facts.npmUndiciModulesLoadedDuringRuns === 0;
  if (!ownDispatcher) {
    throw new Error(`ky on the default fetch did not run on Node's own dispatcher: ${JSON.stringify(facts)}`);
  }

  const rates = (id: string, c: number): number[] | undefined => samples.get(key(id, c))?.map((s) => s.rate);
  const cpus = (id: string, c: number): number[] | undefined =>
    samples.get(key(id, c))?.map((s) => s.cpuPerRequest);
  /** Median over rounds of the per-round ratio (runs of one round are adjacent in time). */
  const ratio = (subject: string, baseline: string, c: number): number | undefined => {
    const a = rates(subject, c);
    const b = rates(baseline, c);
    if (a === undefined || b === undefined) return undefined;
    return median(a.map((x, i) => x / b[i]!));
  };
  /** The same comparison by the client's CPU time per request: baseline CPU ÷ subject CPU (higher is better). */
  const cpuRatio = (subject: string, baseline: string, c: number): number | undefined => {
    const a = cpus(subject, c);
    const b = cpus(baseline, c);
    if (a === undefined || b === undefined) return undefined;
    return median(a.map((x, i) => b[i]! / x));
  };

  const rateCell = (id: string, c: number): string => {
    const r = rates(id, c);
    if (r === undefined) return '—';
    const s = summarize(r);
    return r.length > 1
      ? `${formatRate(s.median)} (${formatRate(s.min)}–${formatRate(s.max)})`
      : formatRate(s.median);
  };
  const ratioCell = (id: string, c: number): string => {
    const r = ratio(id, BASELINE, c);
    return r === undefined ? '—' : formatRatio(r);
  };
  const cpuCell = (id: string, c: number): string => {
    const list = cpus(id, c);
    return list === undefined ? '—' : median(list).toFixed(0);
  };
  const socketsCell = (id: string): string =>
    CONCURRENCIES.map((c) => {
      const list = samples.get(key(id, c));
      return list === undefined ? '—' : String(median(list.map((s) => s.sockets)));
    }).join(' / ');

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
      rateCell(v.id, 1),
      ratioCell(v.id, 1),
      cpuCell(v.id, 1),
      rateCell(v.id, 64),
      ratioCell(v.id, 64),
      cpuCell(v.id, 64),
      socketsCell(v.id),
    ]),
    ['left', 'right', 'right', 'right', 'right', 'right', 'right', 'right'],
  );

  let missed = 0;
  const goalLines = GOALS.map((g) => {
    const r = ratio(g.subject, g.baseline, g.concurrency)!;
    if (r < g.target) missed += 1;
    return goalLine(g.label, r, g.target);
  });
  const cpuLines = GOALS.map((g) => {
    const r = cpuRatio(g.subject, g.baseline, g.concurrency)!;
    return `      ${g.label}: ${formatRatio(r)}`;
  });

  const method = [
    `${requests} GETs per figure to a healthy \`startUpstream()\` on 127.0.0.1 (small JSON body, read in full), `,
    `with 1 and 64 requests in flight (closed loop). Every client runs in a child process of its own and talks `,
    `to an upstream of its own; the upstreams run in the parent, one client runs at a time. Warm-up of ${warmup} requests per figure, then ${rounds} round${rounds === 1 ? '' : 's'}, `,
    `each running every figure once in the order of the table (1 in flight first). A figure is the median `,
    `req/s over the rounds; a ratio is the median over the rounds of the per-round ratio. `,
    `"µs CPU/req" is the client process's CPU time (user + system) per request, median over the rounds: `,
    `other processes competing for the cores disturb it less than req/s. "sockets" is the number of `,
    `connections the client opened during a run (median; every run starts with no idle socket).`,
  ].join('');
  const loadNote = `Load average (1 min) before / after the suite: ${loadBefore.toFixed(2)} / ${loadAfter.toFixed(2)} on ${env.cores} cores.`;
  const cpuHeading =
    'Client CPU per request, same pairs (baseline µs ÷ subject µs, higher is better; not the goal):';
  const dispatcherNote =
    `ky on Node's default fetch ran on Node's own dispatcher (embedded undici ${String(facts.embeddedUndici)}; ` +
    `npm undici modules loaded in its process: ${String(facts.npmUndiciModulesLoadedDuringRuns)}; ` +
    `global dispatcher is npm undici's Agent: ${String(facts.globalDispatcherIsNpmUndiciAgent)}).`;
  const settingsNote =
    "The agent's defaults are `limit: 100, limitPerHost: 10`; Node's default fetch and undici's plain Agent " +
    'open as many sockets per origin as there are requests in flight, which `limitPerHost: 64` matches.';

  const text = [
    `## ${NAME}${settings.smoke ? ' (smoke run: not a measurement)' : ''}`,
    '',
    table,
    '',
    ...goalLines,
    '',
    cpuHeading,
    ...cpuLines,
    '',
    dispatcherNote,
    `Suite time: ${seconds.toFixed(1)} s. ${loadNote}`,
  ].join('\n');

  if (settings.resultsDir !== undefined) {
    await mkdir(settings.resultsDir, { recursive: true });
    const markdown = [
      `# ${NAME}`,
      '',
      `ky over the agent vs ky on Node's default fetch vs undici fetch with a plain Agent vs undici.request, on loopback.`,
      '',
      `Command (from the repository root): \`${settings.command}\``,
      '',
      ...environmentLines(env),
      `- Suite time: ${seconds.toFixed(1)} s. ${loadNote}`,
      '',
      method,
      '',
      settingsNote,
      '',
      table,
      '',
      '```',
      ...goalLines,
      '```',
      '',
      cpuHeading,
      '',
      '```',
      ...cpuLines,
      '```',
      '',
      dispatcherNote,
      '',
      `![req/s](./${NAME}.svg)`,
      '',
    ].join('\n');
    const svg = barChart({
      title: `${NAME}: req/s, median of ${rounds} round${rounds === 1 ? '' : 's'} of ${requests} GETs (${env.node}, loopback)`,
      categories: VARIANTS.map((v) => v.short),
      series: CONCURRENCIES.map((c) => ({
        name: `${c} in flight`,
        values: VARIANTS.map((v) => {
          const r = rates(v.id, c);
          return r === undefined ? undefined : median(r);
        }),
      })),
      unit: 'requests per second',
      width: 960,
    });
    await writeFile(join(settings.resultsDir, `${NAME}.md`), markdown);
    await writeFile(join(settings.resultsDir, `${NAME}.svg`), svg);
  }

  return { text, goals: GOALS.length, missed };
}

export const agentThroughput: Suite = {
  name: NAME,
  description:
    "Requests per second of ky over the agent, ky on Node's default fetch, agent.fetch, undici fetch and undici.request with a plain Agent, 1 and 64 in flight on loopback.",
  run,
};
