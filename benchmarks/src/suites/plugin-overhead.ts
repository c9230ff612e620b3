import type { ClientWorker } from '../lib/client-worker.ts';
import type { ClientName, ClientOptions } from '../lib/clients.ts';
import { runClosedLoop } from '../lib/closed-loop.ts';
import { defineSuite, type Measured, rounds as roundsText } from '../lib/finish.ts';
import { formatRatio, goal, markdownTable } from '../lib/report.ts';
import { median, summarize } from '../lib/stats.ts';
import type { Suite, SuiteSettings } from '../lib/suite.ts';
import { barChart } from '../lib/svg.ts';
import { breakerPluginLabel, retryPluginTiers, timeoutPluginLabel } from '../lib/tiers.ts';

const NAME = 'plugin-overhead';
const CONCURRENCIES: readonly number[] = [1, 64];
/** The agent's `limitPerHost` for every client: at least the requests in flight, so the pool never queues. */
const LIMIT_PER_HOST = 64;
/** The goal: each plugin adds under 2 % to bare ky's throughput on the same agent. */
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
    id: 'host-limiter-wrap',
    label: "ky, agent fetch wrapped by the host limiter's wrap()",
    short: 'limiter.wrap',
    kind: 'plugin',
    client: 'ky-agent-host-limiter-wrap',
    settings: `limiter.wrap(agent.fetch), concurrency ${LIMIT_PER_HOST}/host; no ky hook, so no per-request context overrides`,
  },
  {
    id: 'breaker-wrap',
    label: "ky, agent fetch wrapped by the breakers' wrapFetch()",
    short: 'breakers.wrapFetch',
    kind: 'plugin',
    client: 'ky-agent-breaker-wrap',
    settings: `breakers.wrapFetch(agent.fetch), defaults (${breakerPluginLabel}); no ky hook, so no per-request context overrides`,
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
    if (id === 'host-limiter' || id === 'host-limiter-wrap') {
      const limiter = facts.limiter as { hosts?: number } | undefined;
      if (limiter?.hosts !== 1) problems.push(`${id}: limiter keys ${String(limiter?.hosts)}, expected 1`);
    }
    if (id === 'breaker' || id === 'breaker-wrap') {
      const breakers = facts.breakers as { size?: number; states?: { closed?: number } } | undefined;
      if (breakers?.size !== 1 || breakers.states?.closed !== 1)
        problems.push(`${id}: breakers ${JSON.stringify(breakers)}, expected one, closed`);
    }
  }
  if (problems.length > 0) throw new Error(`${NAME}: clients not as described: ${problems.join('; ')}`);
}

async function measure(settings: SuiteSettings): Promise<Measured> {
  const requests = settings.requests ?? (settings.smoke ? 50 : 400);
  const rounds = settings.rounds ?? (settings.smoke ? 1 : 3);
  // Warm-up per client and concurrency (64 in flight first: it also opens the pool's sockets), as in the
  // overhead suite: V8's steady state, where bare ky's CPU per request has stopped falling (it falls by half
  // or more over its first few thousand requests), as in a service that has run for a while.
  const warmupBatch = settings.smoke ? 64 : 1200;
  const options: ClientOptions = { limitPerHost: LIMIT_PER_HOST, keepAliveTimeout: CLIENT_KEEP_ALIVE };
  // No cold start: the agents and the upstreams keep idle sockets for minutes, so the measured runs reuse them.
  const samples = await runClosedLoop(
    settings,
    {
      name: NAME,
      concurrencies: CONCURRENCIES,
      requests,
      rounds,
      warmup: { requests: warmupBatch, concurrencies: [...CONCURRENCIES].reverse() },
      cold: false,
      alternate: true,
      upstream: { keepAliveTimeout: UPSTREAM_KEEP_ALIVE },
      after: checkClients,
    },
    VARIANTS.map((v) => ({ id: v.id, client: v.client, options })),
  );

  const list = (id: string, c: number) => samples.list(id, c)!;
  /** Per-round ratios of req/s, subject ÷ baseline (the two ran in the same round). */
  const ratios = (subject: string, baseline: string, c: number): number[] =>
    samples.perRound(subject, baseline, c)!;
  const spread = (values: readonly number[]): string => {
    const s = summarize(values);
    return values.length > 1 ? ` (${formatRatio(s.min)}–${formatRatio(s.max)})` : '';
  };
  const ratioCell = (id: string, c: number): string => {
    if (id === 'ky') return '1.00×';
    const r = ratios(id, 'ky', c);
    return `${formatRatio(median(r))}${spread(r)}`;
  };
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
      ...CONCURRENCIES.flatMap((c) => [
        samples.rateCell(v.id, c),
        ratioCell(v.id, c),
        samples.cpuCell(v.id, c),
        extraCpuCell(v.id, c),
      ]),
      socketsCell(v.id),
    ]),
    ['left', 'left', 'right', 'right', 'right', 'right', 'right', 'right', 'right', 'right', 'right'],
  );

  /** Per-round ratios of client CPU per request, subject ÷ bare ky. */
  const cpuRatio = (id: string, c: number): number =>
    median(samples.perRound(id, 'ky', c, (s) => s.cpuPerRequest)!);
  const roundsNote = (r: readonly number[]): string => (rounds > 1 ? `; rounds${spread(r)}` : '');
  /**
   * What this run can resolve at `c` in flight: the control's (bare ky ÷ bare ky) distance from 1.00× or half its
   * per-round range, whichever is larger. Beyond the goal's margin, a plugin's verdict is noise either way.
   */
  const resolution = (c: number): number => {
    const r = ratios('ky-again', 'ky', c);
    return Math.max(Math.abs(median(r) - 1), (Math.max(...r) - Math.min(...r)) / 2);
  };
  const margin = 1 - TARGET;
  const verdicts = VARIANTS.filter((x) => x.kind === 'plugin').flatMap((v) =>
    CONCURRENCIES.map((c) => {
      const r = ratios(v.id, 'ky', c);
      const check = goal(`${v.label} ÷ bare ky on the same agent, ${c} in flight`, median(r), '≥', TARGET);
      const resolved = resolution(c) <= margin;
      const line = `${check.line}${roundsNote(r)}; client CPU/req ${formatRatio(cpuRatio(v.id, c))}`;
      return {
        resolved,
        met: check.met,
        line: resolved
          ? line
          : `INCONCLUSIVE${line.slice(4)} — the control resolves only ±${(resolution(c) * 100).toFixed(0)} % here, wider than the ${(margin * 100).toFixed(0)} % margin`,
      };
    }),
  );
  const checks = verdicts.filter((v) => v.resolved).map(({ met, line }) => ({ met, line }));
  const inconclusive = verdicts.filter((v) => !v.resolved).map((v) => v.line);
  const controlLines = CONCURRENCIES.map((c) => {
    const r = ratios('ky-again', 'ky', c);
    return `INFO  control: bare ky in a second process ÷ bare ky, ${c} in flight: ${formatRatio(median(r))}${roundsNote(r)}; client CPU/req ${formatRatio(cpuRatio('ky-again', c))} (identical clients: the distance from 1.00× is this run's noise)`;
  });
  const peerLines = PEER_COMPARISONS.flatMap(({ plugin, peer }) => {
    const a = VARIANTS.find((v) => v.id === plugin)!;
    const b = VARIANTS.find((v) => v.id === peer)!;
    return CONCURRENCIES.map(
      (c) =>
        `INFO  ${a.short.replace(/^\+ /, '')} ÷ ${b.short}, req/s, ${c} in flight: ${formatRatio(samples.ratio(plugin, peer, c)!)}`,
    );
  });

  const method = [
    `GETs to a healthy \`startUpstream()\` on 127.0.0.1 (small JSON body, read in full with \`.text()\`), with 1 and `,
    `64 requests in flight (closed loop). Every client is ky (its defaults) on \`@ky-resilience/agent\` with `,
    `\`limitPerHost: ${LIMIT_PER_HOST}\` (no pool queue at 64 in flight): bare, with one plugin alone (\`ky.extend(plugin)\`, `,
    `as in the packages' READMEs), or with the agent's fetch wrapped by a peer (\`ky.create({ fetch: wrapped })\`). `,
    `The host limiter and the circuit breaker are also measured the way the peers are, as a wrapper of the agent's `,
    `fetch (\`limiter.wrap(fetch)\`, \`breakers.wrapFetch(fetch)\`): without a ky hook, so without per-request `,
    `overrides from \`context\`, and without the cost ky 2.1 adds to every call of an instance with hooks (see ky-cost). `,
    `The limiters (host limiter, p-limit, bulkhead) get the agent's per-host limit, so no request waits for a slot: `,
    `the figures are the cost of each layer when it lets everything through. Every client runs in a child process of `,
    `its own against an upstream of its own (the upstreams live in the parent; one client runs at a time). `,
    `Warm-up of ${warmupBatch} requests per client at 64 in flight (which opens each pool's sockets), then ${warmupBatch} at 1: `,
    `V8's steady state, as in a service that has run for a while (bare ky's CPU per request falls by half or more over `,
    `its first few thousand requests, so a young process would mostly measure the JIT). The agents and the upstreams keep `,
    `idle sockets for minutes, so the measured runs reuse them ("sockets": the most open at the upstream after a run, `,
    `i.e. the pool's size, and the connections opened during the measured runs: 0 when the pools stayed warm). Then ${roundsText(rounds)} of ${requests} GETs per figure, `,
    `each round running every figure once (1 in flight first; table order in odd rounds, reversed in even ones). `,
    `Short rounds: a figure and the bare-ky figure it is divided by run a few seconds apart, and the `,
    `median of the per-round ratios sets aside rounds hit by a burst of other work on the machine. A figure is the `,
    `median req/s over the rounds; a ratio the median of the per-round ratios (their range in brackets). "µs CPU/req" `,
    `is the client process's CPU time per request (user + system), "+µs CPU" the median per-round difference from `,
    `bare ky. The control row is bare ky again, in a process of its own: how far its ratio lands from 1.00× is what `,
    `this run can resolve. `,
    `The goal (from the issue): each plugin ≥ ${formatRatio(TARGET)} bare ky's req/s on the same agent, at 1 and at 64 in flight. `,
    `A verdict is printed as INCONCLUSIVE, and counted neither as met nor as missed, when this run cannot resolve the `,
    `goal's ${((1 - TARGET) * 100).toFixed(0)} % margin at that concurrency: when the control's ratio is further than the margin from `,
    `1.00× or half the range of its per-round ratios is wider than the margin. The µs CPU per request and ky-cost's `,
    `in-process figures are the resolvable measure of what each plugin costs.`,
  ].join('');
  const shown = VARIANTS.filter((v) => v.id !== 'ky');
  const svg = barChart({
    title: `${NAME}: req/s as % of bare ky on the same agent, median of ${roundsText(rounds)} of ${requests} GETs (${process.version}, loopback)`,
    categories: shown.map((v) => v.short),
    series: CONCURRENCIES.map((c) => ({
      name: `${c} in flight`,
      values: shown.map((v) => 100 * samples.ratio(v.id, 'ky', c)!),
    })),
    unit: '% of bare ky req/s',
    width: 1000,
  });
  return {
    summary:
      'What each plugin alone adds to bare ky on the same agent, end to end on loopback, against p-limit, \n' +
      "cockatiel's bulkhead, cockatiel's circuit breaker and opossum wrapping the same fetch.",
    method,
    table,
    info: [...inconclusive, ...controlLines, ...peerLines],
    svg: { alt: '% of bare ky', content: svg },
    checks,
  };
}

export const pluginOverhead: Suite = defineSuite(
  NAME,
  "Requests per second of ky + each plugin alone vs bare ky on the same agent (goal ≥ 0.98×), against p-limit, cockatiel's bulkhead and breaker, opossum; 1 and 64 in flight.",
  measure,
);
