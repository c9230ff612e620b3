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
import { carries, kyTiers, peerTiers, presetTiers } from '../lib/tiers.ts';

const NAME = 'overhead';
const CONCURRENCIES: readonly number[] = [1, 64];

type Variant = {
  id: string;
  label: string;
  short: string;
  client: ClientName;
  options: ClientOptions;
  concurrencies: readonly number[];
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
    concurrencies: [1, 64],
    carries: carries(kyTiers),
  },
  {
    id: 'ky-agent',
    label: 'bare ky on the agent (defaults: 10/host)',
    short: 'ky + agent (10/host)',
    client: 'ky-agent',
    options: {},
    concurrencies: [1, 64],
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
    concurrencies: [1, 64],
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
    concurrencies: [1, 64],
    carries: carries(peerTiers.got),
  },
  {
    id: 'axios',
    label: 'axios + axios-retry',
    short: 'axios + axios-retry',
    client: 'axios',
    options: {},
    concurrencies: [1, 64],
    carries: carries(peerTiers.axios),
  },
  {
    id: 'ofetch',
    label: 'ofetch (its retry)',
    short: 'ofetch',
    client: 'ofetch',
    options: {},
    concurrencies: [1, 64],
    carries: carries(peerTiers.ofetch),
  },
  {
    id: 'p-retry',
    label: 'p-retry around fetch',
    short: 'p-retry + fetch',
    client: 'p-retry',
    options: {},
    concurrencies: [1, 64],
    carries: carries(peerTiers['p-retry']),
  },
  {
    id: 'opossum',
    label: 'opossum around fetch',
    short: 'opossum + fetch',
    client: 'opossum',
    options: {},
    concurrencies: [1, 64],
    carries: carries(peerTiers.opossum),
  },
  {
    id: 'cockatiel',
    label: 'cockatiel (retry + breaker) around fetch',
    short: 'cockatiel + fetch',
    client: 'cockatiel',
    options: {},
    concurrencies: [1, 64],
    carries: carries(peerTiers.cockatiel),
  },
];

type Goal = { label: string; subject: string; baseline: string; concurrency: number; target: number };

/**
 * The goals. At 64 in flight the goals compare the settings where the agent may open as many sockets
 * per host as there are requests in flight (Node's default fetch opens that many or more); the default settings
 * are reported beside them.
 */
const GOALS: readonly Goal[] = [
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
const DEFAULT_SETTINGS: readonly Goal[] = [
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

type Sample = { rate: number; cpuPerRequest: number; sockets: number };

const key = (id: string, concurrency: number): string => `${id}@${concurrency}`;

async function run(settings: SuiteSettings): Promise<SuiteOutcome> {
  const requests = settings.requests ?? (settings.smoke ? 50 : 5000);
  const rounds = settings.rounds ?? (settings.smoke ? 1 : 3);
  const warmup = Math.min(requests, settings.smoke ? 20 : 100);
  const env = environment();
  const loadBefore = loadavg()[0] ?? 0;
  const upstreams = new Map<string, Upstream>();
  const workers = new Map<string, ClientWorker>();
  const samples = new Map<string, Sample[]>();
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
          upstream.closeIdleSockets();
          await delay(20);
          upstream.reset();
          const result = await workers.get(v.id)!.run(urlOf(v.id), requests, c);
          const sample: Sample = {
            rate: (requests * 1000) / result.ms,
            cpuPerRequest: result.cpuMicros / requests,
            sockets: upstream.connections,
          };
          const list = samples.get(key(v.id, c)) ?? [];
          list.push(sample);
          samples.set(key(v.id, c), list);
          settings.log(
            `${NAME}: round ${round}/${rounds}, ${c} in flight, ${v.id}: ${formatRate(sample.rate)} req/s`,
          );
        }
      }
    }
  } finally {
    await Promise.all([...workers.values()].map((w) => w.close()));
    await Promise.all([...upstreams.values()].map((u) => u.close()));
  }
  const seconds = (performance.now() - started) / 1000;
  const loadAfter = loadavg()[0] ?? 0;

  const rates = (id: string, c: number): number[] | undefined => samples.get(key(id, c))?.map((s) => s.rate);
  const ratio = (subject: string, baseline: string, c: number): number | undefined => {
    const a = rates(subject, c);
    const b = rates(baseline, c);
    if (a === undefined || b === undefined) return undefined;
    return median(a.map((x, i) => x / b[i]!));
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
    const r = ratio(id, 'ky', c);
    return r === undefined ? '—' : formatRatio(r);
  };
  const cpuCell = (id: string, c: number): string => {
    const list = samples.get(key(id, c));
    return list === undefined ? '—' : median(list.map((s) => s.cpuPerRequest)).toFixed(0);
  };
  const socketsCell = (id: string): string =>
    CONCURRENCIES.map((c) => {
      const list = samples.get(key(id, c));
      return list === undefined ? '—' : String(median(list.map((s) => s.sockets)));
    }).join(' / ');

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
      rateCell(v.id, 1),
      ratioCell(v.id, 1),
      cpuCell(v.id, 1),
      rateCell(v.id, 64),
      ratioCell(v.id, 64),
      cpuCell(v.id, 64),
      socketsCell(v.id),
    ]),
    ['left', 'left', 'right', 'right', 'right', 'right', 'right', 'right', 'right'],
  );

  let missed = 0;
  const goalLines = GOALS.map((g) => {
    const r = ratio(g.subject, g.baseline, g.concurrency)!;
    if (r < g.target) missed += 1;
    return goalLine(g.label, r, g.target);
  });
  const defaultLines = DEFAULT_SETTINGS.map(
    (g) =>
      `INFO  ${g.label}: ${formatRatio(ratio(g.subject, g.baseline, g.concurrency)!)} (goal ≥ ${formatRatio(g.target)} applies to the 64/host settings above)`,
  );

  const method = [
    `${requests} GETs per figure to a healthy \`startUpstream()\` on 127.0.0.1 (small JSON body, read in full), with 1 `,
    `and 64 requests in flight (closed loop). No fault is injected: this measures what each client's resilience `,
    `machinery costs when nothing fails. Every client runs in a child process of its own against an upstream of `,
    `its own (the upstreams live in the parent; one client runs at a time). Warm-up of ${warmup} requests per figure, `,
    `then ${rounds} round${rounds === 1 ? '' : 's'}, each running every figure once in table order (1 in flight first); `,
    `a figure is the median req/s over the rounds, a ratio the median of the per-round ratios. The peers run with `,
    `their defaults (got and axios on Node's http agent, the others on Node's default fetch); the preset with its `,
    `defaults except \`agent.limitPerHost\` where stated (its host limiter's concurrency follows it). "sockets" `,
    `counts the connections the upstream accepted during a run (median; each run starts with no idle socket).`,
  ].join('');
  const loadNote = `Load average (1 min) before / after the suite: ${loadBefore.toFixed(2)} / ${loadAfter.toFixed(2)} on ${env.cores} cores.`;
  const text = [
    `## ${NAME}${settings.smoke ? ' (smoke run: not a measurement)' : ''}`,
    '',
    table,
    '',
    ...goalLines,
    ...defaultLines,
    '',
    `Suite time: ${seconds.toFixed(1)} s. ${loadNote}`,
  ].join('\n');

  if (settings.resultsDir !== undefined) {
    await mkdir(settings.resultsDir, { recursive: true });
    const markdown = [
      `# ${NAME}`,
      '',
      'Overhead with no faults: ky with the whole preset vs bare ky and the peer clients, on loopback.',
      '',
      `Command (from the repository root): \`${settings.command}\``,
      '',
      ...environmentLines(env),
      `- Suite time: ${seconds.toFixed(1)} s. ${loadNote}`,
      '',
      method,
      '',
      table,
      '',
      '```',
      ...goalLines,
      ...defaultLines,
      '```',
      '',
      `![req/s](./${NAME}.svg)`,
      '',
    ].join('\n');
    const svg = barChart({
      title: `${NAME}: req/s, median of ${rounds} round${rounds === 1 ? '' : 's'} of ${requests} GETs, no faults (${env.node}, loopback)`,
      categories: VARIANTS.map((v) => v.short),
      series: CONCURRENCIES.map((c) => ({
        name: `${c} in flight`,
        values: VARIANTS.map((v) => {
          const r = rates(v.id, c);
          return r === undefined ? undefined : median(r);
        }),
      })),
      unit: 'requests per second',
      width: 1100,
    });
    await writeFile(join(settings.resultsDir, `${NAME}.md`), markdown);
    await writeFile(join(settings.resultsDir, `${NAME}.svg`), svg);
  }
  return { text, goals: GOALS.length, missed };
}

export const overhead: Suite = {
  name: NAME,
  description:
    'Requests per second with no faults: ky with the whole preset vs bare ky (default fetch, agent) and got, axios-retry, ofetch, p-retry, opossum, cockatiel; 1 and 64 in flight.',
  run,
};
