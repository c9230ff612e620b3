import { startUpstream, type Upstream } from '@ky-resilience/testing';
import {
  AggregationTemporality,
  DataPointType,
  InMemoryMetricExporter,
  MeterProvider,
  PeriodicExportingMetricReader,
} from '@opentelemetry/sdk-metrics';
import { createClient, type ResilientClient } from 'ky-resilience';
import { subscribeMetrics } from './metrics.ts';

/** One recorded series: the instrument, its labels, and its value (a sum, or a histogram's count and sum). */
export type Series = {
  readonly name: string;
  readonly attributes: Readonly<Record<string, unknown>>;
  readonly value: number;
  /** Histograms only: the sum of the recorded values. */
  readonly sum?: number;
};

/** What {@link run} made happen, and what the metrics recorded. */
export type RunReport = {
  /** Calls made, and how many succeeded. */
  readonly calls: number;
  readonly succeeded: number;
  /** Requests the upstreams received. */
  readonly upstreamRequests: number;
  /** The same, by route (`/ok`, `/flaky`, `/late`, `/busy`, `/down`). */
  readonly requestsByRoute: Readonly<Record<string, number>>;
  /** Every series the in-memory exporter holds after the run. */
  readonly series: readonly Series[];
};

/** Sums the series of `name` whose attributes include `where`. */
export function total(series: readonly Series[], name: string, where: Record<string, unknown> = {}): number {
  return series
    .filter((s) => s.name === name && Object.entries(where).every(([k, v]) => s.attributes[k] === v))
    .reduce((sum, s) => sum + s.value, 0);
}

/**
 * Runs a small scripted workload against the testing upstream through one client, with an
 * OpenTelemetry `MeterProvider` whose reader exports into memory, and returns what it recorded:
 *
 * - `/ok` × 5: five successful attempts;
 * - `/flaky` (503 then 200): one retry;
 * - `/late` (headers after 1 s) with a 50 ms headers timeout and no retry: one timeout, one give-up;
 * - `/busy` × 6 in parallel through a per-host cap of 2 with a queue of 2: two queue-full rejections;
 * - a second host in a sustained outage (always 503), called twice: the first call's 4 attempts
 *   open its breaker (4 consecutive failures), the second call is turned away at once.
 *
 * The client knows nothing about metrics: `subscribeMetrics` listens on the diagnostics channels.
 * The provider and its in-memory reader are the run's own, since the report is read from them; to
 * feed your own pipeline, call `subscribeMetrics(meter)` with a meter of your provider.
 */
export async function run(): Promise<RunReport> {
  // Everything opened is closed in reverse order, even when a later step throws: a server left
  // listening after a failure would keep the process (and a test run) alive.
  const cleanups: Array<() => Promise<void> | void> = [];
  let report: RunReport;
  try {
    const exporter = new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE);
    const reader = new PeriodicExportingMetricReader({ exporter, exportIntervalMillis: 60_000 });
    const provider = new MeterProvider({ readers: [reader] });
    cleanups.push(() => provider.shutdown());
    const meter = provider.getMeter('ky-resilience-example');
    cleanups.push(subscribeMetrics(meter));
    const upstream = await startUpstream({
      routes: {
        '/ok': {},
        '/flaky': { steps: [{ status: 503 }, { status: 200 }] },
        '/late': { steps: [{ delayHeadersMs: 1_000 }] },
        '/busy': { steps: [{ delayHeadersMs: 50 }] },
      },
    });
    cleanups.push(() => upstream.close());
    const down = await startUpstream({ routes: { '/down': { steps: [{ status: 503 }] } } });
    cleanups.push(() => down.close());
    const client = createClient({
      name: 'example',
      ky: { baseUrl: `${upstream.url}/` },
      hostLimiter: { concurrency: 2, maxQueue: 2 },
      circuitBreaker: { policy: { kind: 'consecutive', failures: 4 } },
      retry: { backoff: { base: 5 }, budget: false },
    });
    cleanups.push(() => client.close());
    report = await workload(client, upstream, down, reader, exporter);
  } catch (error) {
    await closeAll(cleanups).catch(() => {});
    throw error;
  }
  await closeAll(cleanups);
  return report;
}

/** Runs every cleanup, last opened first, even when one throws; then throws the first error. */
async function closeAll(cleanups: ReadonlyArray<() => Promise<void> | void>): Promise<void> {
  let failure: { error: unknown } | undefined;
  for (const cleanup of [...cleanups].reverse()) {
    try {
      await cleanup();
    } catch (error) {
      failure ??= { error };
    }
  }
  if (failure !== undefined) throw failure.error;
}

/** The calls of {@link run}, then what the upstreams counted and the exporter's series. */
async function workload(
  client: ResilientClient,
  upstream: Upstream,
  down: Upstream,
  reader: PeriodicExportingMetricReader,
  exporter: InMemoryMetricExporter,
): Promise<RunReport> {
  let calls = 0;
  let succeeded = 0;
  const call = async (promise: Promise<unknown>): Promise<void> => {
    calls += 1;
    try {
      await promise;
      succeeded += 1;
    } catch {
      // counted by the metrics
    }
  };
  for (let i = 0; i < 5; i += 1) await call(client.get('ok').text());
  await call(client.get('flaky').text());
  await call(
    client
      .get('late', {
        context: { '@ky-resilience/timeout': { headers: 50 }, '@ky-resilience/retry': { limit: 0 } },
      })
      .text(),
  );
  await Promise.all(
    Array.from({ length: 6 }, () =>
      call(client.get('busy', { context: { '@ky-resilience/retry': { limit: 0 } } }).text()),
    ),
  );
  await call(client.get(`${down.url}/down`).text());
  await call(client.get(`${down.url}/down`).text());
  await reader.forceFlush();
  const series: Series[] = [];
  for (const resourceMetrics of exporter.getMetrics().slice(-1)) {
    for (const scope of resourceMetrics.scopeMetrics) {
      for (const metric of scope.metrics) {
        for (const point of metric.dataPoints) {
          if (metric.dataPointType === DataPointType.HISTOGRAM) {
            const value = point.value as { count: number; sum?: number };
            series.push({
              name: metric.descriptor.name,
              attributes: point.attributes,
              value: value.count,
              ...(value.sum === undefined ? {} : { sum: value.sum }),
            });
          } else {
            series.push({
              name: metric.descriptor.name,
              attributes: point.attributes,
              value: point.value as number,
            });
          }
        }
      }
    }
  }
  const requestsByRoute: Record<string, number> = {};
  for (const route of ['/ok', '/flaky', '/late', '/busy']) {
    requestsByRoute[route] = upstream.counters(route).requests;
  }
  requestsByRoute['/down'] = down.counters('/down').requests;
  return {
    calls,
    succeeded,
    upstreamRequests: upstream.counters().requests + down.counters().requests,
    requestsByRoute,
    series,
  };
}
