import { mkdir, writeFile } from 'node:fs/promises';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { startUpstream, type Upstream } from '@ky-resilience/testing';
import { ClientWorker } from '../lib/client-worker.ts';
import type { ClientName, ClientOptions } from '../lib/clients.ts';
import { environment, environmentLines } from '../lib/env.ts';
import { formatRate, formatRatio, goalLine, markdownTable } from '../lib/report.ts';
import { median, summarize } from '../lib/stats.ts';
import type { Suite, SuiteOutcome, SuiteSettings } from '../lib/suite.ts';
import { barChart } from '../lib/svg.ts';
import { breakerPluginLabel, retryPluginTiers, timeoutPluginLabel } from '../lib/tiers.ts';

const NAME = 'plugin-overhead';
const CONCURRENCIES: readonly number[] = [1, 64];
/** The agent's `limitPerHost` for every client: at least the requests in flight, so the pool never queues. */
const LIMIT_PER_HOST = 64;
/** The issue's goal: each plugin adds under 2 % to bare ky's throughput on the same agent. */
const TARGET = 0.98;
/**
 * Keep-alive of the agents (ms), and of the upstreams (longer, so that the client always closes first): the
 * pools warmed up before the rounds stay open through the whole suite, so no measured run opens a connection.
 */
const CLIENT_KEEP_ALIVE = 120_000;
const UPSTREAM_KEEP_ALIVE = 180_000;

type Kind = 'baseline' | 'control' | 'plugin' | 'peer';

type Variant = {
  id: string;
  label: string;
  short: string;
  kind: Kind;
  client: ClientName;
  /** What wraps the agent's fetch, with which settings. */
  settings: string;
};

const VARIANTS: readonly Variant[] = [
  {
    id: 'ky',
    label: 'bare ky on the agent',
    short: 'bare ky',
    kind: 'baseline',
    client: 'ky-agent',
    settings: "ky's defaults",
  },
  {
    id: 'ky-again',
    label: 'bare ky on the agent, a second process (control)',
    short: 'bare ky (control)',
    kind: 'control',
    client: 'ky-agent',
    settings: "ky's defaults",
  },
  {
    id: 'host-limiter',
    label: 'ky + host limiter',
    short: '+ host limiter',
    kind: 'plugin',
    client: 'ky-agent-host-limiter',
    settings: `concurrency ${LIMIT_PER_HOST}/host, otherwise defaults`,
  },
  {
    id: 'breaker',
    label: 'ky + circuit breaker',
    short: '+ breaker',
    kind: 'plugin',
    client: 'ky-agent-breaker',
    settings: `defaults (${breakerPluginLabel})`,
  },
  {
    id: 'timeout',
    label: 'ky + timeout tiers',
    short: '+ timeout',
    kind: 'plugin',
    client: 'ky-agent-timeout',
    settings: `defaults (${timeoutPluginLabel})`,
  },
  {
    id: 'retry',
    label: 'ky + retry',
    short: '+ retry',
    kind: 'plugin',
    client: 'ky-agent-retry',
    settings: `defaults (${retryPluginTiers.retry}; budget ${retryPluginTiers.budget}; body buffered)`,
  },
  {
    id: 'p-limit',
    label: 'ky, agent fetch wrapped by p-limit',
    short: 'p-limit',
    kind: 'peer',
    client: 'ky-agent-p-limit',
    settings: `pLimit(${LIMIT_PER_HOST}), one for all hosts`,
  },
  {
    id: 'bulkhead',
    label: "ky, agent fetch wrapped by cockatiel's bulkhead",
    short: 'cockatiel bulkhead',
    kind: 'peer',
    client: 'ky-agent-bulkhead',
    settings: `bulkhead(${LIMIT_PER_HOST}, 1000), one for all hosts`,
  },
  {
    id: 'cockatiel-breaker',
    label: "ky, agent fetch wrapped by cockatiel's circuit breaker",
    short: 'cockatiel breaker',
    kind: 'peer',
    client: 'ky-agent-cockatiel-breaker',
    settings: 'ConsecutiveBreaker(5), 5 s, one for all hosts',
  },
  {
    id: 'opossum',
    label: 'ky, agent fetch wrapped by opossum',
    short: 'opossum',
    kind: 'peer',
    client: 'ky-agent-opossum',
    settings: "opossum's defaults (10 s timeout), one for all hosts",
  },
];

/** The plugins compared with their peers (INFO lines): same position around the agent's fetch. */
const PEER_COMPARISONS: readonly { plugin: string; peer: string }[] = [
  { plugin: 'host-limiter', peer: 'p-limit' },
  { plugin: 'host-limiter', peer: 'bulkhead' },
  { plugin: 'breaker', peer: 'cockatiel-breaker' },
  { plugin: 'breaker', peer: 'opossum' },
];

type Sample = {
  rate: number;
  cpuPerRequest: number;
  /** Sockets open at the upstream after the run (the client's pool, warm). */
  open: number;
  /** Connections the upstream accepted during the run (0 with a warm pool). */
  opened: number;
};

const key = (id: string, concurrency: number): string => `${id}@${concurrency}`;

/**
 * Checks, from each client process's own account, that the figures measured what they claim: every agent ran
 * with the stated `limitPerHost`, and the host limiter and the breaker registry each saw the upstream's origin
 * (one key, one closed breaker). Throws otherwise.
 */
async function checkClients(workers: ReadonlyMap<string, ClientWorker>): Promise<void> {
  const problems: string[] = [];
  for (const [id, worker] of workers) {
    const facts = await worker.inspect();
    if (facts.limitPerHost !== LIMIT_PER_HOST)
      problems.push(`${id}: agent limitPerHost ${String(facts.limitPerHost)}`);
    if (facts.keepAliveTimeout !== CLIENT_KEEP_ALIVE)
      problems.push(`${id}: agent keepAliveTimeout ${String(facts.keepAliveTimeout)}`);
    if (id === 'host-limiter') {
      const limiter = facts.limiter as { hosts?: number } | undefined;
      if (limiter?.hosts !== 1) problems.push(`${id}: limiter keys ${String(limiter?.hosts)}, expected 1`);
    }
    if (id === 'breaker') {
      const breakers = facts.breakers as { size?: number; states?: { closed?: number } } | undefined;
      if (breakers?.size !== 1 || breakers.states?.closed !== 1)
        problems.push(`${id}: breakers ${JSON.stringify(breakers)}, expected one, closed`);
    }
  }
  if (problems.length > 0) throw new Error(`${NAME}: clients not as described: ${problems.join('; ')}`);
}

async function run(settings: SuiteSettings): Promise<SuiteOutcome> {
  const requests = settings.requests ?? (settings.smoke ? 50 : 250);
  const rounds = settings.rounds ?? (settings.smoke ? 1 : 3);
  // Warm-up per client and concurrency (64 in flight first: it also opens the pool's sockets). Not V8's steady
  // state, which takes thousands of requests more (bare ky's CPU per request falls by half or more over its
  // first 5000 or so; warming 10 clients that far costs more than the suite's time budget): every client has
  // served the same number of requests at each round, so a per-round ratio compares clients equally warm.
  const warmupBatch = settings.smoke ? 64 : 100;
  const warmup = warmupBatch * CONCURRENCIES.length;
  const options: ClientOptions = { limitPerHost: LIMIT_PER_HOST, keepAliveTimeout: CLIENT_KEEP_ALIVE };
  const env = environment();
  const loadBefore = loadavg()[0] ?? 0;
  const upstreams = new Map<string, Upstream>();
  const workers = new Map<string, ClientWorker>();
  const samples = new Map<string, Sample[]>();
  const started = performance.now();
  try {
    for (const v of VARIANTS) {
      upstreams.set(v.id, await startUpstream({ host: '127.0.0.1', keepAliveTimeout: UPSTREAM_KEEP_ALIVE }));
      workers.set(v.id, new ClientWorker(v.client, options, { execArgv: settings.workerExecArgv }));
    }
    const urlOf = (id: string): string => `${upstreams.get(id)!.url}/bench`;
    await Promise.all([...workers.values()].map((w) => w.ready()));

    settings.log(`${NAME}: warm-up (${warmup} requests per client)`);
    const warmupStarted = performance.now();
    for (const v of VARIANTS) {
      for (const c of [...CONCURRENCIES].reverse()) await workers.get(v.id)!.run(urlOf(v.id), warmupBatch, c);
    }
    settings.log(`${NAME}: warm-up took ${((performance.now() - warmupStarted) / 1000).toFixed(1)} s`);
    for (let round = 1; round <= rounds; round++) {
      // Table order in odd rounds, reversed in even ones: a drift of the machine's speed during a round
      // then favours no figure over the rounds.
      const order = round % 2 === 1 ? VARIANTS : [...VARIANTS].reverse();
      for (const c of CONCURRENCIES) {
        for (const v of order) {
          const upstream = upstreams.get(v.id)!;
          upstream.reset();
          const result = await workers.get(v.id)!.run(urlOf(v.id), requests, c);
          const sample: Sample = {
            rate: (requests * 1000) / result.ms,
            cpuPerRequest: result.cpuMicros / requests,
            open: upstream.openSockets,
            opened: upstream.connections,
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
    await checkClients(workers);
  } finally {
    await Promise.all([...workers.values()].map((w) => w.close()));
    await Promise.all([...upstreams.values()].map((u) => u.close()));
  }
  const seconds = (performance.now() - started) / 1000;
  const loadAfter = loadavg()[0] ?? 0;

  const list = (id: string, c: number): Sample[] => samples.get(key(id, c))!;
  const rates = (id: string, c: number): number[] => list(id, c).map((s) => s.rate);
  /** Per-round ratios of req/s, subject ÷ baseline (the two ran in the same round). */
  const ratios = (subject: string, baseline: string, c: number): number[] => {
    const b = rates(baseline, c);
    return rates(subject, c).map((x, i) => x / b[i]!);
  };
  const ratio = (subject: string, baseline: string, c: number): number =>
    median(ratios(subject, baseline, c));
  const spread = (values: readonly number[]): string => {
    const s = summarize(values);
    return values.length > 1 ? ` (${formatRatio(s.min)}–${formatRatio(s.max)})` : '';
  };
  const rateCell = (id: string, c: number): string => {
    const s = summarize(rates(id, c));
    return s.n > 1
      ? `${formatRate(s.median)} (${formatRate(s.min)}–${formatRate(s.max)})`
      : formatRate(s.median);
  };
  const ratioCell = (id: string, c: number): string => {
    if (id === 'ky') return '1.00×';
    const r = ratios(id, 'ky', c);
    return `${formatRatio(median(r))}${spread(r)}`;
  };
  const cpuCell = (id: string, c: number): string =>
    median(list(id, c).map((s) => s.cpuPerRequest)).toFixed(0);
  /** Extra client CPU per request over bare ky: the median of the per-round differences. */
  const extraCpuCell = (id: string, c: number): string => {
    if (id === 'ky') return '—';
    const base = list('ky', c);
    const extra = Math.round(median(list(id, c).map((s, i) => s.cpuPerRequest - base[i]!.cpuPerRequest)));
    return extra > 0 ? `+${extra}` : String(extra === 0 ? 0 : extra);
  };
  /** Sockets open at the upstream after the runs (most of any run), and connections opened in all measured runs. */
  const socketsCell = (id: string): string => {
    const open = Math.max(...CONCURRENCIES.flatMap((c) => list(id, c).map((s) => s.open)));
    const opened = CONCURRENCIES.reduce((n, c) => n + list(id, c).reduce((m, s) => m + s.opened, 0), 0);
    return `${open} / ${opened}`;
  };

  const table = markdownTable(
    [
      'client',
      'settings',
      '1 in flight: req/s (min–max)',
      '× bare ky (rounds)',
      'µs CPU/req',
      '+µs CPU',
      '64 in flight: req/s (min–max)',
      '× bare ky (rounds)',
      'µs CPU/req',
      '+µs CPU',
      'sockets: open / new',
    ],
    VARIANTS.map((v) => [
      v.label,
      v.settings,
      rateCell(v.id, 1),
      ratioCell(v.id, 1),
      cpuCell(v.id, 1),
      extraCpuCell(v.id, 1),
      rateCell(v.id, 64),
      ratioCell(v.id, 64),
      cpuCell(v.id, 64),
      extraCpuCell(v.id, 64),
      socketsCell(v.id),
    ]),
    ['left', 'left', 'right', 'right', 'right', 'right', 'right', 'right', 'right', 'right', 'right'],
  );

  /** Per-round ratios of client CPU per request, subject ÷ bare ky. */
  const cpuRatio = (id: string, c: number): number => {
    const base = list('ky', c);
    return median(list(id, c).map((s, i) => s.cpuPerRequest / base[i]!.cpuPerRequest));
  };
  let goals = 0;
  let missed = 0;
  const goalLines: string[] = [];
  for (const v of VARIANTS.filter((x) => x.kind === 'plugin')) {
    for (const c of CONCURRENCIES) {
      const r = ratios(v.id, 'ky', c);
      goals += 1;
      if (median(r) < TARGET) missed += 1;
      goalLines.push(
        `${goalLine(`${v.label} ÷ bare ky on the same agent, ${c} in flight`, median(r), TARGET)}${rounds > 1 ? `; rounds${spread(r)}` : ''}; client CPU/req ${formatRatio(cpuRatio(v.id, c))}`,
      );
    }
  }
  const controlLines = CONCURRENCIES.map((c) => {
    const r = ratios('ky-again', 'ky', c);
    return `INFO  control: bare ky in a second process ÷ bare ky, ${c} in flight: ${formatRatio(median(r))}${rounds > 1 ? `; rounds${spread(r)}` : ''}; client CPU/req ${formatRatio(cpuRatio('ky-again', c))} (identical clients: the distance from 1.00× is this run's noise)`;
  });
  const peerLines = PEER_COMPARISONS.flatMap(({ plugin, peer }) => {
    const a = VARIANTS.find((v) => v.id === plugin)!;
    const b = VARIANTS.find((v) => v.id === peer)!;
    return CONCURRENCIES.map(
      (c) =>
        `INFO  ${a.short.replace(/^\+ /, '')} ÷ ${b.short}, req/s, ${c} in flight: ${formatRatio(ratio(plugin, peer, c))}`,
    );
  });

  const method = [
    `GETs to a healthy \`startUpstream()\` on 127.0.0.1 (small JSON body, read in full with \`.text()\`), with 1 and `,
    `64 requests in flight (closed loop). Every client is ky (its defaults) on \`@ky-resilience/agent\` with `,
    `\`limitPerHost: ${LIMIT_PER_HOST}\` (no pool queue at 64 in flight): bare, with one plugin alone (\`ky.extend(plugin)\`, `,
    `as in the packages' READMEs), or with the agent's fetch wrapped by a peer (\`ky.create({ fetch: wrapped })\`). `,
    `The limiters (host limiter, p-limit, bulkhead) get the agent's per-host limit, so no request waits for a slot: `,
    `the figures are the cost of each layer when it lets everything through. Every client runs in a child process of `,
    `its own against an upstream of its own (the upstreams live in the parent; one client runs at a time). `,
    `Warm-up of ${warmupBatch} requests per client at 64 in flight (which opens each pool's sockets), then ${warmupBatch} at 1. `,
    `This is not V8's steady state: bare ky's CPU per request keeps falling, by half or more, over its first 5000 `,
    `requests or so, and warming 10 clients that far would cost more than the suite's time budget. Every client has `,
    `served the same number of requests at each round, so a per-round ratio compares clients equally warm; the `,
    `absolute figures are those of young processes. The agents and the upstreams keep `,
    `idle sockets for minutes, so the measured runs reuse them ("sockets": the most open at the upstream after a run, `,
    `i.e. the pool's size, and the connections opened during the measured runs: 0 when the pools stayed warm). Then ${rounds} round${rounds === 1 ? '' : 's'} of ${requests} GETs per figure, `,
    `each round running every figure once (1 in flight first; table order in odd rounds, reversed in even ones). `,
    `Short rounds: a figure and the bare-ky figure it is divided by run a few seconds apart, and the `,
    `median of the per-round ratios sets aside rounds hit by a burst of other work on the machine. A figure is the `,
    `median req/s over the rounds; a ratio the median of the per-round ratios (their range in brackets). "µs CPU/req" `,
    `is the client process's CPU time per request (user + system), "+µs CPU" the median per-round difference from `,
    `bare ky. The control row is bare ky again, in a process of its own: how far its ratio lands from 1.00× is what `,
    `this run can resolve. `,
    `The goal (from the issue): each plugin ≥ ${formatRatio(TARGET)} bare ky's req/s on the same agent, at 1 and at 64 in flight.`,
  ].join('');
  const loadNote = `Load average (1 min) before / after the suite: ${loadBefore.toFixed(2)} / ${loadAfter.toFixed(2)} on ${env.cores} cores.`;
  const text = [
    `## ${NAME}${settings.smoke ? ' (smoke run: not a measurement)' : ''}`,
    '',
    table,
    '',
    ...goalLines,
    ...controlLines,
    ...peerLines,
    '',
    `Suite time: ${seconds.toFixed(1)} s. ${loadNote}`,
  ].join('\n');

  if (settings.resultsDir !== undefined) {
    await mkdir(settings.resultsDir, { recursive: true });
    const markdown = [
      `# ${NAME}`,
      '',
      'What each plugin alone adds to bare ky on the same agent, end to end on loopback, against p-limit, ',
      "cockatiel's bulkhead, cockatiel's circuit breaker and opossum wrapping the same fetch.",
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
      ...controlLines,
      ...peerLines,
      '```',
      '',
      `![% of bare ky](./${NAME}.svg)`,
      '',
    ].join('\n');
    const shown = VARIANTS.filter((v) => v.id !== 'ky');
    const svg = barChart({
      title: `${NAME}: req/s as % of bare ky on the same agent, median of ${rounds} round${rounds === 1 ? '' : 's'} of ${requests} GETs (${env.node}, loopback)`,
      categories: shown.map((v) => v.short),
      series: CONCURRENCIES.map((c) => ({
        name: `${c} in flight`,
        values: shown.map((v) => 100 * ratio(v.id, 'ky', c)),
      })),
      unit: '% of bare ky req/s',
      width: 1000,
    });
    await writeFile(join(settings.resultsDir, `${NAME}.md`), markdown);
    await writeFile(join(settings.resultsDir, `${NAME}.svg`), svg);
  }
  return { text, goals, missed };
}

export const pluginOverhead: Suite = {
  name: NAME,
  description:
    "Requests per second of ky + each plugin alone vs bare ky on the same agent (goal ≥ 0.98×), against p-limit, cockatiel's bulkhead and breaker, opossum; 1 and 64 in flight.",
  run,
};
