import {
  blackholeServer,
  closedPort,
  type RouteSpec,
  startUpstream,
  type Upstream,
} from '@ky-resilience/testing';
import { ClientWorker } from './client-worker.ts';
import type { ClientName, ClientOptions } from './clients.ts';
import { type CallRecord, callHeader, type OpenLoopResult } from './open-loop.ts';
import { median, percentile } from './stats.ts';
import type { SuiteSettings } from './suite.ts';
import { kyTiers, peerTiers, presetPerHost, presetTiers, retryPluginTiers, type Tiers } from './tiers.ts';

/** A client in the behaviour-under-faults suites, with what it can and cannot express. */
export type FaultClient = Tiers & {
  id: string;
  label: string;
  short: string;
  client: ClientName;
  options: ClientOptions;
};

/** The table's first columns: the client and what it carries (`tiers` picks which of retry, breaker, budget). */
export function clientColumns(tiers: readonly (keyof Tiers)[]): string[] {
  return ['client', ...tiers.map((t) => (t === 'perHost' ? 'per-host cap' : t))];
}

/** The cells of `clientColumns(tiers)` for one client; `caps` from `perHostCaps` (what the client reported). */
export function clientCells(
  c: FaultClient,
  tiers: readonly (keyof Tiers)[],
  caps?: ReadonlyMap<string, string>,
): string[] {
  return [c.label, ...tiers.map((t) => (t === 'perHost' ? (caps?.get(c.id) ?? c.perHost) : c[t]))];
}

/**
 * The per-host caps of `clients`, as each preset client reports them (`inspect()`: the agent's resolved
 * `limitPerHost` and `limit`, the host limiter's concurrency); the written-out label for the others.
 */
export async function perHostCaps(
  clients: readonly FaultClient[],
  settings: SuiteSettings,
): Promise<Map<string, string>> {
  const caps = new Map<string, string>();
  for (const c of clients) {
    if (c.client !== 'preset') {
      caps.set(c.id, c.perHost);
      continue;
    }
    const facts = await sharedWorker(c, settings.workerExecArgv).inspect();
    caps.set(c.id, presetPerHost((facts.caps ?? {}) as Parameters<typeof presetPerHost>[0]));
  }
  return caps;
}

/** Every client, each with its defaults: the same list in every fault suite. */
export const faultClients: readonly FaultClient[] = [
  {
    id: 'ky',
    label: "ky (defaults) on Node's default fetch",
    short: 'ky',
    client: 'ky-default-fetch',
    options: {},
    ...kyTiers,
  },
  {
    id: 'preset',
    label: 'ky with the whole preset (defaults)',
    short: 'preset',
    client: 'preset',
    options: {},
    ...presetTiers,
  },
  {
    id: 'ky-retry',
    label: "ky + @ky-resilience/retry (defaults) on Node's fetch",
    short: 'ky + retry plugin',
    client: 'ky-retry',
    options: {},
    ...retryPluginTiers,
  },
  { id: 'got', label: 'got (defaults)', short: 'got', client: 'got', options: {}, ...peerTiers.got },
  {
    id: 'axios',
    label: 'axios + axios-retry (defaults)',
    short: 'axios-retry',
    client: 'axios',
    options: {},
    ...peerTiers.axios,
  },
  {
    id: 'ofetch',
    label: 'ofetch (defaults)',
    short: 'ofetch',
    client: 'ofetch',
    options: {},
    ...peerTiers.ofetch,
  },
  {
    id: 'p-retry',
    label: 'p-retry (defaults) around fetch',
    short: 'p-retry',
    client: 'p-retry',
    options: {},
    ...peerTiers['p-retry'],
  },
  {
    id: 'opossum',
    label: 'opossum (defaults) around fetch',
    short: 'opossum',
    client: 'opossum',
    options: {},
    ...peerTiers.opossum,
  },
  {
    id: 'cockatiel',
    label: 'cockatiel (README policy) around fetch',
    short: 'cockatiel',
    client: 'cockatiel',
    options: {},
    ...peerTiers.cockatiel,
  },
];

/** The upstream side of one run for one client: URLs to call, and what the upstream saw. */
export type Target = {
  urls: readonly string[];
  /** Upstream attempts by call index (from the `x-bench-call` header). */
  attempts(tag: string): Map<number, number>;
  close(): Promise<void>;
  /** Restarts the upstreams' schedules (called for every client right before the run starts). */
  start(): void;
  /** When `start()` was called, as `performance.timeOrigin + performance.now()`. */
  startedWall: number;
};

/**
 * Upstreams on 127.0.0.1 programmed with `spec`, the same seed for every client; `blackholes` more hosts that accept
 * connections and never answer; `refused` more hosts on a closed port (every connection refused at once).
 */
export async function upstreamTarget(
  spec: RouteSpec,
  seed: number,
  hosts = 1,
  blackholes = 0,
  refused = 0,
): Promise<Target> {
  const upstreams: Upstream[] = [];
  for (let i = 0; i < hosts; i++) upstreams.push(await startUpstream({ host: '127.0.0.1', seed: seed + i }));
  const holes = await Promise.all(Array.from({ length: blackholes }, () => blackholeServer()));
  const closed = await Promise.all(Array.from({ length: refused }, () => closedPort()));
  const target: Target = {
    startedWall: Number.NaN,
    urls: [
      ...upstreams.map((u) => `${u.url}/fault`),
      ...holes.map((h) => `${h.url}/fault`),
      ...closed.map((port) => `http://127.0.0.1:${port}/fault`),
    ],
    attempts: (tag) => {
      const byCall = new Map<number, number>();
      for (const u of upstreams) {
        for (const headers of u.counters().headers) {
          const value = headers[callHeader];
          if (typeof value !== 'string' || !value.startsWith(`${tag}-`)) continue;
          const i = Number(value.slice(tag.length + 1));
          byCall.set(i, (byCall.get(i) ?? 0) + 1);
        }
      }
      return byCall;
    },
    start: () => {
      for (const u of upstreams) u.route('*', spec);
      target.startedWall = performance.timeOrigin + performance.now();
    },
    close: async () => {
      await Promise.all([...upstreams.map((u) => u.close()), ...holes.map((h) => h.close())]);
    },
  };
  return target;
}

/** One run of a fault suite: a workload and how to set up each client's upstream. */
export type FaultRun = {
  id: string;
  rate: number;
  count: number;
  drainMs: number;
  setup(seed: number): Promise<Target>;
};

/** What one client did in one run. */
export type RunOutcome = {
  records: CallRecord[];
  errors: OpenLoopResult['errors'];
  /** Upstream attempts by call index. */
  attempts: Map<number, number>;
  /** Upstream requests in all. */
  upstreamRequests: number;
  /** Number of URLs (hosts) the calls went round-robin over. */
  urls: number;
  /** When the upstreams' schedules started, in the client's run time (ms; usually a few ms before 0). */
  scheduleStart: number;
};

/** outcomes.get(clientId).get(runId)[round] */
export type FaultResults = Map<string, Map<string, RunOutcome[]>>;

/**
 * Runs every run of a fault suite for every client, `rounds` times. Within a run all clients go at once, each in
 * its own process against upstreams of its own with the same seed (so the same noise from the machine hits every
 * client), starting from a fresh client (breakers, budgets, pools empty). Rounds use seeds `seed`, `seed + 1`...
 * The client processes are shared by every fault suite of a `run.ts` invocation (see `closeSharedWorkers`).
 */
export async function runFaultSuite(
  name: string,
  settings: SuiteSettings,
  clients: readonly FaultClient[],
  runs: readonly FaultRun[],
  rounds: number,
  seed = 1,
  /** Run `runs` in reverse order in even rounds, so that no run always goes first. */
  alternate = false,
  /** Split the clients into this many groups, run one after the other within a run (the same seed for each). */
  groups = 1,
): Promise<FaultResults> {
  const results: FaultResults = new Map(clients.map((c) => [c.id, new Map(runs.map((r) => [r.id, []]))]));
  const workers = new Map(clients.map((c) => [c.id, sharedWorker(c, settings.workerExecArgv)]));
  await Promise.all([...workers.values()].map((w) => w.ready()));
  // Warm-up, once per process: the client loads its modules and sends 200 calls to a healthy upstream, so that the
  // measured runs do not pay for a cold JIT (which, with every client at once, competes for the cores).
  const cold = [...workers.values()].filter((w) => !warmed.has(w));
  if (cold.length > 0) {
    const warm = await upstreamTarget({}, seed);
    try {
      const urls = warm.urls;
      await Promise.all(
        cold.map((w) =>
          w.openLoop({ urls, rate: 200, count: settings.smoke ? 10 : 200, drainMs: 2_000, tag: 'warm' }),
        ),
      );
      for (const w of cold) warmed.add(w);
    } finally {
      await warm.close();
    }
  }
  // Clients split into `groups` (every `groups`-th client), run one group after the other: fewer processes compete
  // for the cores at once.
  const grouped = Array.from({ length: Math.max(1, groups) }, (_, g) =>
    clients.filter((_, k) => k % Math.max(1, groups) === g),
  ).filter((g) => g.length > 0);
  for (let round = 1; round <= rounds; round++) {
    for (const run of alternate && round % 2 === 0 ? [...runs].reverse() : runs) {
      for (const group of grouped) {
        await Promise.all(group.map((c) => workers.get(c.id)!.renew()));
        const targets = new Map<string, Target>();
        try {
          for (const c of group) targets.set(c.id, await run.setup(seed + round - 1));
          const tag = `${run.id}.${round}`;
          for (const t of targets.values()) t.start();
          const outcomes = await Promise.all(
            group.map((c) =>
              workers.get(c.id)!.openLoop({
                urls: targets.get(c.id)!.urls,
                rate: run.rate,
                count: run.count,
                drainMs: run.drainMs,
                tag,
              }),
            ),
          );
          for (const [k, c] of group.entries()) {
            const attempts = targets.get(c.id)!.attempts(tag);
            let upstreamRequests = 0;
            for (const n of attempts.values()) upstreamRequests += n;
            results
              .get(c.id)!
              .get(run.id)!
              .push({
                records: outcomes[k]!.records,
                errors: outcomes[k]!.errors,
                attempts,
                upstreamRequests,
                urls: targets.get(c.id)!.urls.length,
                scheduleStart: targets.get(c.id)!.startedWall - outcomes[k]!.t0Wall,
              });
          }
        } finally {
          await Promise.all([...targets.values()].map((t) => t.close()));
        }
      }
      settings.log(`${name}: round ${round}/${rounds}, ${run.id} done`);
    }
  }
  return results;
}

/** Client processes shared by the fault suites (one per client and options), closed by `closeSharedWorkers()`. */
const shared = new Map<string, ClientWorker>();
const warmed = new WeakSet<ClientWorker>();

function sharedWorker(c: FaultClient, execArgv: readonly string[]): ClientWorker {
  const key = JSON.stringify([c.client, c.options, execArgv]);
  let worker = shared.get(key);
  if (worker === undefined) {
    worker = new ClientWorker(c.client, c.options, { execArgv });
    shared.set(key, worker);
  }
  return worker;
}

/** Closes the client processes the fault suites started (`run.ts` calls it once every suite has run). */
export async function closeSharedWorkers(): Promise<void> {
  const list = [...shared.values()];
  shared.clear();
  await Promise.all(list.map((w) => w.close()));
}

/** Latency of the records in ms; unfinished calls count with the time they had when cut off (a lower bound). */
export function latencies(records: readonly CallRecord[]): number[] {
  return records.map((r) => r.end - r.start);
}

/** The p-th percentile latency, and whether an unfinished call (a lower bound) is at or above it. */
export function latencyPercentile(
  records: readonly CallRecord[],
  p: number,
): { ms: number; lowerBound: boolean } | undefined {
  if (records.length === 0) return undefined;
  const ms = percentile(latencies(records), p);
  const lowerBound = records.some((r) => r.outcome === 'unfinished' && r.end - r.start <= ms + 1e-9);
  return { ms, lowerBound };
}

/** `123 ms`, `1.23 s`, with `≥` for a lower bound. */
export function formatMs(ms: number, lowerBound = false): string {
  const text =
    ms >= 1000 ? `${(ms / 1000).toFixed(2)} s` : ms >= 10 ? `${ms.toFixed(0)} ms` : `${ms.toFixed(1)} ms`;
  return lowerBound ? `≥ ${text}` : text;
}

/** `99.6 %` */
export function formatPercent(share: number): string {
  return `${(share * 100).toFixed(1)} %`;
}

/** Sizes of a fault suite's run: `[smoke, full]` pairs; `--requests` overrides the count, `--rounds` the 3 rounds. */
export function faultPlan(
  settings: SuiteSettings,
  sizes: {
    count?: readonly [number, number];
    drainMs?: readonly [number, number];
    rounds?: readonly [number, number];
  } = {},
): { rounds: number; rate: number; count: number; drainMs: number } {
  const pick = (pair: readonly [number, number] | undefined): number => pair?.[settings.smoke ? 0 : 1] ?? 0;
  return {
    rounds: settings.rounds ?? (sizes.rounds === undefined ? (settings.smoke ? 1 : 3) : pick(sizes.rounds)),
    rate: 100,
    count: settings.requests ?? pick(sizes.count),
    drainMs: pick(sizes.drainMs),
  };
}

/** `figures(outcome)` of every round of `runId`, by client id. */
export function perClient<T>(
  results: FaultResults,
  clients: readonly FaultClient[],
  runId: string,
  figures: (outcome: RunOutcome) => T,
): Map<string, T[]> {
  return new Map(clients.map((c) => [c.id, results.get(c.id)!.get(runId)!.map(figures)]));
}

/** The median over the rounds of `pick`, for one client of `figures`. */
export function medianOf<T>(figures: ReadonlyMap<string, T[]>, id: string, pick: (f: T) => number): number {
  return median(figures.get(id)!.map(pick));
}

/** A fault suite of one run: the upstream's programme and the run's sizes (`[smoke, full]`). */
export type Scenario = {
  id: string;
  count: readonly [number, number];
  drainMs: readonly [number, number];
  /** Rounds `[smoke, full]`; 1 and 3 by default. */
  rounds?: readonly [number, number];
  route: RouteSpec;
  /** Client groups run one after the other (see `runFaultSuite`); 1 by default. */
  groups?: number;
};

/**
 * Runs one scenario for every client (see `runFaultSuite`) and reads `figures` off every round: the suite's
 * sizes, the raw results, the figures by client id, and the median over the rounds of one of them.
 */
export async function runScenario<T>(
  name: string,
  settings: SuiteSettings,
  clients: readonly FaultClient[],
  scenario: Scenario,
  figures: (outcome: RunOutcome, count: number) => T,
): Promise<{
  plan: ReturnType<typeof faultPlan>;
  results: FaultResults;
  figs: Map<string, T[]>;
  med: (id: string, pick: (f: T) => number) => number;
}> {
  const plan = faultPlan(settings, scenario);
  const run: FaultRun = {
    id: scenario.id,
    rate: plan.rate,
    count: plan.count,
    drainMs: plan.drainMs,
    setup: (seed) => upstreamTarget(scenario.route, seed),
  };
  const results = await runFaultSuite(name, settings, clients, [run], plan.rounds, 1, false, scenario.groups);
  const figs = perClient(results, clients, scenario.id, (o) => figures(o, plan.count));
  return { plan, results, figs, med: (id, pick) => medianOf(figs, id, pick) };
}

/** A note naming each client's most common failures in a run (summed over the rounds). */
export function failureNote(results: FaultResults, clients: readonly FaultClient[], runId: string): string {
  const parts: string[] = [];
  for (const c of clients) {
    const counts = new Map<string, number>();
    for (const outcome of results.get(c.id)!.get(runId)!) {
      for (const [label, n] of Object.entries(outcome.errors))
        counts.set(label, (counts.get(label) ?? 0) + n);
    }
    if (counts.size === 0) continue;
    const top = [...counts.entries()].sort((a, b) => b[1] - a[1]).slice(0, 2);
    parts.push(`${c.short}: ${top.map(([label, n]) => `${n}× ${label}`).join('; ')}`);
  }
  return `Failed calls by error, all rounds (the two most common per client): ${parts.length === 0 ? 'none' : parts.join(' — ')}.`;
}
