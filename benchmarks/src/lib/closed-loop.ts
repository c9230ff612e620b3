/**
 * The closed-loop throughput suites' machinery (agent-throughput, overhead, plugin-overhead): every client in a
 * process of its own against an upstream of its own, warm-up, then rounds running every figure once.
 */
import { setTimeout as delay } from 'node:timers/promises';
import { startUpstream, type Upstream, type UpstreamOptions } from '@ky-resilience/testing';
import { ClientWorker } from './client-worker.ts';
import type { ClientName, ClientOptions } from './clients.ts';
import { formatRate, formatRatio, goal } from './report.ts';
import { median, spread } from './stats.ts';
import type { SuiteSettings } from './suite.ts';
import { barChart } from './svg.ts';

/** One client under test: measured at each of `concurrencies` (default: every concurrency of the suite). */
export type LoopClient = {
  id: string;
  client: ClientName;
  options?: ClientOptions;
  concurrencies?: readonly number[];
};

/** A client as a throughput suite's table and chart name it. */
export type LoopVariant = LoopClient & {
  /** Row label in the table. */
  label: string;
  /** Bar label in the chart. */
  short: string;
};

export type LoopSample = {
  rate: number;
  /** The client process's CPU time (user + system) per request, µs. */
  cpuPerRequest: number;
  /** Sockets open at the upstream after the run. */
  open: number;
  /** Connections the upstream accepted during the run. */
  opened: number;
};

export type LoopPlan = {
  name: string;
  concurrencies: readonly number[];
  requests: number;
  rounds: number;
  /** Warm-up requests per client and concurrency, in this order of concurrencies. */
  warmup: { requests: number; concurrencies: readonly number[] };
  /** Start every measured run with no idle socket: the upstream closes them and the client is given 20 ms to see it. */
  cold: boolean;
  /** Table order in odd rounds, reversed in even ones (a drift of the machine's speed then favours no figure). */
  alternate?: boolean;
  /** Options of every client's upstream (`startUpstream`), 127.0.0.1 always. */
  upstream?: Omit<UpstreamOptions, 'host'>;
  /** Called after the rounds, with the client processes still running (e.g. to ask them for their account). */
  after?(workers: ReadonlyMap<string, ClientWorker>): Promise<void>;
};

/** The rounds' samples of every figure, and the figures derived from them. */
export class LoopSamples {
  readonly #samples = new Map<string, LoopSample[]>();

  add(id: string, concurrency: number, sample: LoopSample): void {
    const key = `${id}@${concurrency}`;
    const list = this.#samples.get(key) ?? [];
    list.push(sample);
    this.#samples.set(key, list);
  }

  /** Samples of one figure, in round order; `undefined` when the client was not measured at `concurrency`. */
  list(id: string, concurrency: number): LoopSample[] | undefined {
    return this.#samples.get(`${id}@${concurrency}`);
  }

  rates(id: string, concurrency: number): number[] | undefined {
    return this.list(id, concurrency)?.map((s) => s.rate);
  }

  /** Per-round values of `pick(subject) ÷ pick(baseline)` (the two ran in the same round). */
  perRound(
    subject: string,
    baseline: string,
    concurrency: number,
    pick: (s: LoopSample) => number = (s) => s.rate,
  ): number[] | undefined {
    const a = this.list(subject, concurrency);
    const b = this.list(baseline, concurrency);
    if (a === undefined || b === undefined) return undefined;
    return a.map((s, i) => pick(s) / pick(b[i]!));
  }

  /** Median over the rounds of the per-round req/s ratio subject ÷ baseline. */
  ratio(subject: string, baseline: string, concurrency: number): number | undefined {
    const r = this.perRound(subject, baseline, concurrency);
    return r === undefined ? undefined : median(r);
  }

  /** `median (min–max)` req/s, or `—`. */
  rateCell(id: string, concurrency: number): string {
    const r = this.rates(id, concurrency);
    return r === undefined ? '—' : spread(r, formatRate);
  }

  /** The median ratio to `baseline`, or `—`. */
  ratioCell(id: string, baseline: string, concurrency: number): string {
    const r = this.ratio(id, baseline, concurrency);
    return r === undefined ? '—' : formatRatio(r);
  }

  /** Median client µs CPU per request, or `—`. */
  cpuCell(id: string, concurrency: number): string {
    const list = this.list(id, concurrency);
    return list === undefined ? '—' : median(list.map((s) => s.cpuPerRequest)).toFixed(0);
  }

  /** The median of `pick` at each concurrency, `a / b`. */
  perConcurrencyCell(id: string, concurrencies: readonly number[], pick: (s: LoopSample) => number): string {
    return concurrencies
      .map((c) => {
        const list = this.list(id, c);
        return list === undefined ? '—' : String(median(list.map(pick)));
      })
      .join(' / ');
  }
}

/** A bar chart of the median req/s of every client, one series per concurrency. */
export function rateChart(
  samples: LoopSamples,
  title: string,
  clients: readonly { id: string; short: string }[],
  concurrencies: readonly number[],
  width: number,
): string {
  return barChart({
    title,
    categories: clients.map((c) => c.short),
    series: concurrencies.map((n) => ({
      name: `${n} in flight`,
      values: clients.map((c) => {
        const r = samples.rates(c.id, n);
        return r === undefined ? undefined : median(r);
      }),
    })),
    unit: 'requests per second',
    width,
  });
}

/** A goal on the median per-round req/s ratio `subject ÷ baseline` at one concurrency. */
export type RatioGoal = {
  label: string;
  subject: string;
  baseline: string;
  concurrency: number;
  target: number;
};

/** PASS/MISS of each goal `ratio ≥ target`. */
export function ratioChecks(
  samples: LoopSamples,
  goals: readonly RatioGoal[],
): { line: string; met: boolean }[] {
  return goals.map((g) => goal(g.label, samples.ratio(g.subject, g.baseline, g.concurrency)!, '≥', g.target));
}

/** Runs the plan's warm-up and rounds; closes every process and upstream before it returns. */
export async function runClosedLoop(
  settings: SuiteSettings,
  plan: LoopPlan,
  clients: readonly LoopClient[],
): Promise<LoopSamples> {
  const upstreams = new Map<string, Upstream>();
  const workers = new Map<string, ClientWorker>();
  const samples = new LoopSamples();
  const concurrenciesOf = (c: LoopClient): readonly number[] => c.concurrencies ?? plan.concurrencies;
  try {
    for (const c of clients) {
      upstreams.set(c.id, await startUpstream({ ...plan.upstream, host: '127.0.0.1' }));
      workers.set(c.id, new ClientWorker(c.client, c.options ?? {}, { execArgv: settings.workerExecArgv }));
    }
    const urlOf = (id: string): string => `${upstreams.get(id)!.url}/bench`;
    await Promise.all([...workers.values()].map((w) => w.ready()));

    settings.log(`${plan.name}: warm-up (${plan.warmup.requests} requests per client and concurrency)`);
    const warmupStarted = performance.now();
    for (const c of clients) {
      for (const n of plan.warmup.concurrencies) {
        if (concurrenciesOf(c).includes(n))
          await workers.get(c.id)!.run(urlOf(c.id), plan.warmup.requests, n);
      }
    }
    settings.log(`${plan.name}: warm-up took ${((performance.now() - warmupStarted) / 1000).toFixed(1)} s`);
    for (let round = 1; round <= plan.rounds; round++) {
      const order = plan.alternate === true && round % 2 === 0 ? [...clients].reverse() : clients;
      for (const n of plan.concurrencies) {
        for (const c of order) {
          if (!concurrenciesOf(c).includes(n)) continue;
          const upstream = upstreams.get(c.id)!;
          if (plan.cold) {
            upstream.closeIdleSockets();
            await delay(20);
          }
          upstream.reset();
          const result = await workers.get(c.id)!.run(urlOf(c.id), plan.requests, n);
          const sample: LoopSample = {
            rate: (plan.requests * 1000) / result.ms,
            cpuPerRequest: result.cpuMicros / plan.requests,
            open: upstream.openSockets,
            opened: upstream.connections,
          };
          samples.add(c.id, n, sample);
          settings.log(
            `${plan.name}: round ${round}/${plan.rounds}, ${n} in flight, ${c.id}: ${formatRate(sample.rate)} req/s, ` +
              `${sample.cpuPerRequest.toFixed(0)} µs CPU/req`,
          );
        }
      }
    }
    await plan.after?.(workers);
  } finally {
    await Promise.all([...workers.values()].map((w) => w.close()));
    await Promise.all([...upstreams.values()].map((u) => u.close()));
  }
  return samples;
}
