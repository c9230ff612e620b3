import { mkdir, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { startUpstream, type Upstream } from '@ky-resilience/testing';
import {
  createPlainClient,
  createResilientClient,
  type DemoClient,
  defaultBudgetRatio,
  resilientSettings,
} from './clients.ts';
import { scaledIncident } from './incident.ts';
import { Progress, type ProgressOutput } from './progress.ts';
import { ClientRecorder } from './recorder.ts';
import { renderReport } from './report-html.ts';
import { type ClientSummary, summarize } from './summary.ts';
import { renderTable } from './table.ts';
import { runWorkload } from './workload.ts';

export type DemoOptions = {
  /** Multiplies every phase of the incident (1: 8 s + 8 s + 10 s + 8 s = 34 s). */
  scale: number;
  /** Calls started per second by each client. */
  ratePerSec: number;
  /** Where the HTML report goes; `false`: no report. */
  reportPath: string | false;
  /** Where progress and the table go. */
  out: ProgressOutput;
  /** Seed of both upstreams' brownout draws. */
  seed: number;
  /** The resilient client's retry budget `ratio` (default {@link defaultBudgetRatio}). */
  budgetRatio?: number;
};

export type DemoResult = {
  summaries: ClientSummary[];
  recorders: ClientRecorder[];
  table: string;
  reportPath: string | false;
};

type Lane = { recorder: ClientRecorder; upstream: Upstream; client: DemoClient };

/** Calls each client makes, all at once, before the incident starts (as many as the agent's sockets per host). */
const warmUpCalls = 10;

/**
 * Runs the same workload through plain ky and through the resilient client, each against its own
 * upstream running the same scripted incident, then prints the comparison and writes the report.
 */
export async function runDemo(options: DemoOptions): Promise<DemoResult> {
  const incident = scaledIncident(options.scale, 5);
  const budgetRatio = options.budgetRatio ?? defaultBudgetRatio;
  const tailMs = Math.round(1_000 * options.scale);
  const endMs = incident.totalMs + tailMs;
  let t0 = performance.now();
  const clock = (): number => performance.now() - t0;
  const lanes: Lane[] = [];
  let result: DemoResult;
  try {
    const plain = new ClientRecorder('plain', 'plain ky', clock);
    const resilient = new ClientRecorder('resilient', 'ky-resilience', clock);
    for (const recorder of [plain, resilient]) {
      const upstream = await startUpstream({ seed: options.seed });
      lanes.push({ recorder, upstream, client: { get: async () => {}, close: async () => {} } });
    }
    lanes[0]!.client = createPlainClient(plain);
    lanes[1]!.client = createResilientClient(resilient, options.scale, budgetRatio);

    const progress = new Progress(
      options.out,
      lanes.map((lane) => lane.recorder),
      incident.phases,
      incident.totalMs,
      Math.max(1_000, 5_000 * options.scale),
    );
    // Warm-up, before the incident and not counted: both clients open their connections and
    // compile what their first request needs (the agent's HTTP parser, the plugins' code), as a
    // running service would have. A cold first second on a loaded machine would otherwise time out
    // and be taken for the incident.
    for (const lane of lanes) {
      await Promise.all(
        Array.from({ length: warmUpCalls }, () => lane.client.get(`${lane.upstream.url}/warm-up`)),
      );
    }
    const warmUpRequests = lanes.map((lane) => lane.upstream.counters().requests);
    const sample = (): void => {
      lanes.forEach((lane, i) => {
        lane.recorder.sampleAttempts(lane.upstream.counters().requests - warmUpRequests[i]!);
      });
    };
    // Both upstreams start the incident now: their schedules measure from this moment.
    for (const lane of lanes) lane.upstream.route('*', incident.route);
    t0 = performance.now();
    const sampleEveryMs = Math.max(25, Math.round(100 * options.scale));
    let ticks = 0;
    const ticker = setInterval(() => {
      sample();
      if (++ticks % Math.max(1, Math.round(250 / sampleEveryMs)) === 0) progress.update(clock());
    }, sampleEveryMs);
    ticker.unref();
    try {
      await Promise.all(
        lanes.map((lane) =>
          runWorkload({
            ratePerSec: options.ratePerSec,
            untilMs: endMs,
            maxInFlight: 500,
            call: (path) => lane.client.get(`${lane.upstream.url}${path}`),
            recorder: lane.recorder,
          }),
        ),
      );
    } finally {
      clearInterval(ticker);
    }
    sample();
    progress.update(clock(), true);

    const recorders = lanes.map((lane) => lane.recorder);
    const summaries = recorders.map((r) => summarize(r, incident.phases, incident.recoveryAtMs));
    const table = renderTable(summaries);
    let reportPath: string | false = false;
    if (options.reportPath !== false) {
      const html = renderReport({
        recorders,
        summaries,
        phases: incident.phases,
        recoveryAtMs: incident.recoveryAtMs,
        endMs: Math.max(endMs, ...recorders.flatMap((r) => r.calls.map((c) => c.endMs))),
        workload: `${options.ratePerSec} GETs per second per client, started on a fixed schedule whatever happens to earlier calls; incident scale ${options.scale} (${(incident.totalMs / 1000).toFixed(1)} s), upstream seed ${options.seed}.`,
        configs: {
          plain:
            'ky defaults: retry limit 2 (0.3 s, 0.6 s) on 408/413/429/500/502/503/504, timeout 10 s, Node’s global fetch.',
          resilient: resilientDescription(options.scale, budgetRatio),
        },
        generatedAt: new Date(),
      });
      await mkdir(dirname(options.reportPath), { recursive: true });
      await writeFile(options.reportPath, html);
      reportPath = options.reportPath;
    }
    result = { summaries, recorders, table, reportPath };
  } catch (error) {
    await closeLanes(lanes).catch(() => {});
    throw error;
  }
  await closeLanes(lanes);
  return result;
}

/**
 * Closes every client, then every upstream, even when one close fails (a listening server left
 * open would keep the process alive); then throws the first failure.
 */
async function closeLanes(lanes: readonly Lane[]): Promise<void> {
  let failure: { error: unknown } | undefined;
  const closes = [...lanes.map((l) => () => l.client.close()), ...lanes.map((l) => () => l.upstream.close())];
  for (const close of closes) {
    try {
      await close();
    } catch (error) {
      failure ??= { error };
    }
  }
  if (failure !== undefined) throw failure.error;
}

/** The resilient client's settings, as the report shows them. */
export function resilientDescription(scale: number, budgetRatio: number = defaultBudgetRatio): string {
  return `createClient(${JSON.stringify(resilientSettings(scale, budgetRatio))}) of ky-resilience.`;
}
