/**
 * Child-process entry of the memory suite (run with `--expose-gc`): many requests over many host names through the
 * preset, heap after warm-up and at the end, registry sizes, then the handles left open after `close()`.
 * argv: JSON `MemoryPlan`. Sends one `MemoryResult` over IPC and exits. Started by the memory suite; never imported.
 */
import { getHeapSpaceStatistics } from 'node:v8';
import { createClient } from 'ky-resilience';

export type MemoryPlan = {
  port: number;
  requests: number;
  hosts: number;
  /** Requests per host visit (sent one after the other on one keep-alive connection). */
  perVisit: number;
  concurrency: number;
  warmup: number;
  keepAliveMs: number;
};

export type MemoryResult = {
  heapAfterWarmup: number;
  heapAtEnd: number;
  /** Used bytes per V8 heap space after the warm-up and at the end (where a change lives: data or code). */
  spacesAfterWarmup: Record<string, number>;
  spacesAtEnd: Record<string, number>;
  /** Heap samples (after a full GC) at the middle and the end of the measured pass. */
  heapSamples: number[];
  errors: number;
  firstError?: string;
  ms: number;
  stats: Record<string, unknown>;
  /** Resources active after `close()` that were not active before the client was created. */
  leftAfterClose: string[];
  /** The same, 1 s later (sockets being torn down, timers that fire once more). */
  leftAfterSecond: string[];
};

const plan = JSON.parse(process.argv[2] ?? '{}') as MemoryPlan;
const gc = (globalThis as { gc?: () => void }).gc;
if (gc === undefined) throw new Error('run with --expose-gc');

/**
 * Heap used once the idle keep-alive sockets have closed (undici's idle timers have about 1 s resolution, and a
 * socket's buffers would otherwise be counted or not by chance) and after full collections.
 */
async function heap(): Promise<number> {
  const deadline = performance.now() + 5_000;
  await new Promise((resolve) => setTimeout(resolve, plan.keepAliveMs));
  while (performance.now() < deadline && Object.keys(client.stats().agent?.origins ?? {}).length > 0) {
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  // Finalizers (undici registers response bodies with a FinalizationRegistry) run after a collection: collect,
  // let them run, and collect again, three times.
  for (let i = 0; i < 3; i++) {
    gc!();
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  gc!();
  return process.memoryUsage().heapUsed;
}

/** Resources in `after` beyond those in `before` (a multiset difference). */
function extra(before: readonly string[], after: readonly string[]): string[] {
  const counts = new Map<string, number>();
  for (const r of before) counts.set(r, (counts.get(r) ?? 0) + 1);
  const out: string[] = [];
  for (const r of after) {
    const n = counts.get(r) ?? 0;
    if (n > 0) counts.set(r, n - 1);
    else out.push(r);
  }
  return out;
}

const baseline = process.getActiveResourcesInfo();
const answer = [{ address: '127.0.0.1', family: 4 as const, ttl: 60_000 }];
const client = createClient({
  agent: {
    resolver: async () => answer,
    keepAliveTimeout: plan.keepAliveMs,
    keepAliveMaxTimeout: plan.keepAliveMs,
  },
});

let next = 0;
let errors = 0;
let firstError: string | undefined;
/** Runs requests [from, to): lanes take whole host visits, so each visit reuses one connection. */
async function runRange(from: number, to: number): Promise<void> {
  next = from;
  const lane = async (): Promise<void> => {
    while (next < to) {
      const start = next;
      const end = Math.min(to, start + plan.perVisit);
      next = end;
      const host = Math.floor(start / plan.perVisit) % plan.hosts;
      const url = `http://h${host}.bench.test:${plan.port}/memory`;
      for (let n = start; n < end; n++) {
        try {
          await client.get(url).text();
        } catch (error) {
          errors += 1;
          firstError ??= String(error);
        }
      }
    }
  };
  await Promise.all(Array.from({ length: plan.concurrency }, lane));
}

const t0 = performance.now();
await runRange(0, plan.warmup);
const spaces = (): Record<string, number> =>
  Object.fromEntries(getHeapSpaceStatistics().map((space) => [space.space_name, space.space_used_size]));
const heapAfterWarmup = await heap();
const spacesAfterWarmup = spaces();
const heapSamples: number[] = [];
const step = Math.ceil((plan.requests - plan.warmup) / 2);
for (let from = plan.warmup; from < plan.requests; from += step) {
  await runRange(from, Math.min(plan.requests, from + step));
  heapSamples.push(await heap());
}
const heapAtEnd = heapSamples[heapSamples.length - 1] ?? (await heap());
const spacesAtEnd = spaces();
const ms = performance.now() - t0;

const raw = client.stats() as unknown as Record<string, unknown>;
const agent = raw.agent as { origins?: Record<string, unknown>; dns?: unknown } | undefined;
const stats: Record<string, unknown> = {
  ...raw,
  agent: agent === undefined ? undefined : { ...agent, origins: Object.keys(agent.origins ?? {}).length },
};
await client.close();
const leftAfterClose = extra(baseline, process.getActiveResourcesInfo());
await new Promise((resolve) => setTimeout(resolve, 1_000));
const leftAfterSecond = extra(baseline, process.getActiveResourcesInfo());

const result: MemoryResult = {
  heapAfterWarmup,
  heapAtEnd,
  spacesAfterWarmup,
  spacesAtEnd,
  heapSamples,
  errors,
  ms,
  stats,
  leftAfterClose,
  leftAfterSecond,
};
if (firstError !== undefined) result.firstError = firstError;
process.send?.(result, () => process.disconnect());
