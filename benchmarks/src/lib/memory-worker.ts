/**
 * Child-process entry of the memory suite (run with `--expose-gc`): many requests over many host names through the
 * preset, heap after warm-up and at the end, registry sizes, then the handles left open after `close()`.
 * argv: JSON `MemoryPlan`. Sends one `MemoryResult` over IPC and exits. Started by the memory suite; never imported.
 */
import { createHook } from 'node:async_hooks';
import { createConnection, createServer } from 'node:net';
import { getHeapSpaceStatistics } from 'node:v8';
import { createClient } from 'ky-resilience';

export type MemoryPlan = {
  port: number;
  requests: number;
  hosts: number;
  /** Requests per host visit (sent one after the other on one keep-alive connection). */
  perVisit: number;
  /** The handle check: requests over how many host names through a second client, closed while its sockets are open. */
  handleCheck: { requests: number; hosts: number };
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
  /** The handle check's client: sockets open (the agent's `connected`) and origins with a pool when `close()` was called. */
  openAtClose: { sockets: number; origins: number };
  /**
   * Tracked resources (async_hooks init without destroy) created while the handle check's client ran, by
   * `type at place` (the first stack frame outside Node), when `close()` resolved.
   */
  leftAfterClose: Record<string, number>;
  /** The same, 1 s later. */
  leftAfterSecond: Record<string, number>;
  /** Tracked resources created while the client ran, by type (how much the tracker saw). */
  created: Record<string, number>;
  /** The agent's stats after close(): origins and connected sockets. */
  agentAfterClose: { origins: number; sockets: number } | undefined;
  /** The control: an unref'd timer and an unref'd socket left open on purpose, as the tracker saw them. */
  control: Record<string, number>;
  /** Bounds read from the client's resolved options. */
  bounds: { dnsCacheSize: number | undefined; breakersMaxHosts: number | undefined };
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

/**
 * Resource types that hold the process or the client's state: sockets (and their connect requests), DNS requests,
 * timers (ref'd or not), immediates, HTTP parsers. `getActiveResourcesInfo()` lists only ref'd handles and every timer
 * of this project is unref'd, as are undici's idle sockets: async_hooks sees them all.
 */
const TRACKED = new Set([
  'TCPWRAP',
  'TCPCONNECTWRAP',
  'TCPSERVERWRAP',
  'GETADDRINFOREQWRAP',
  'Timeout',
  'Immediate',
  'HTTPCLIENTREQUEST',
  'HTTPINCOMINGMESSAGE',
  'SHUTDOWNWRAP',
  'WRITEWRAP',
]);

/** The first frame of a stack outside Node's internals and this file: where a resource was created. */
function origin(stack: string): string {
  const frames = stack.split('\n').slice(1);
  const frame = frames.find((f) => !f.includes('node:') && !f.includes('memory-worker.ts'));
  if (frame === undefined) return 'the benchmark';
  const match =
    /node_modules\/(?:\.pnpm\/[^/]+\/node_modules\/)?((?:@[^/]+\/)?[^/]+)\/(.*?):(\d+):\d+\)?$/.exec(frame);
  if (match !== null) return `${match[1]}/${match[2]}:${match[3]}`;
  const local = /packages\/(.*?):(\d+):\d+\)?$/.exec(frame);
  return local === null ? frame.trim().slice(0, 80) : `${local[1]}:${local[2]}`;
}

/** Live tracked resources (created after `start()`, not yet destroyed), by async id. */
function tracker(): {
  start(): void;
  stop(): void;
  /** Live resources by `type at place`. */
  live(): Record<string, number>;
  /** Live resources by type. */
  liveTypes(): Record<string, number>;
  created: Record<string, number>;
  /** Runs `make` (the bench's own timer or immediate) without tracking what it creates. */
  untracked<T>(make: () => T): T;
} {
  const live = new Map<number, string>();
  const where = new Map<number, string>();
  const created: Record<string, number> = {};
  let quiet = false;
  const hook = createHook({
    init(id, type) {
      if (quiet || !TRACKED.has(type)) return;
      live.set(id, type);
      where.set(id, origin(new Error().stack ?? ''));
      created[type] = (created[type] ?? 0) + 1;
    },
    destroy(id) {
      live.delete(id);
      where.delete(id);
    },
  });
  return {
    start: () => hook.enable(),
    stop: () => hook.disable(),
    untracked: (make) => {
      quiet = true;
      try {
        return make();
      } finally {
        quiet = false;
      }
    },
    created,
    live: () => {
      const byType: Record<string, number> = {};
      for (const [id, type] of live) {
        const key = `${type} at ${where.get(id)}`;
        byType[key] = (byType[key] ?? 0) + 1;
      }
      return byType;
    },
    liveTypes: () => {
      const byType: Record<string, number> = {};
      for (const type of live.values()) byType[type] = (byType[type] ?? 0) + 1;
      return byType;
    },
  };
}

/** A turn of the event loop (destroy hooks of closed handles run after their close callbacks), untracked. */
const settle = (t?: ReturnType<typeof tracker>) =>
  new Promise((resolve) =>
    t === undefined ? setImmediate(resolve) : t.untracked(() => setImmediate(resolve)),
  );

/** Whether the tracker sees what `getActiveResourcesInfo()` misses: an unref'd timer and an unref'd socket. */
async function control(): Promise<Record<string, number>> {
  const server = createServer((socket) => socket.on('error', () => {}));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  const t = tracker();
  t.start();
  const timer = setTimeout(() => {}, 60_000).unref();
  const socket = createConnection(port, '127.0.0.1');
  await new Promise((resolve) => socket.once('connect', resolve));
  socket.unref();
  await settle(t);
  const seen = t.liveTypes();
  t.stop();
  clearTimeout(timer);
  socket.destroy();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return seen;
}

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
const bounds = {
  dnsCacheSize: client.agent?.options.dnsCacheSize,
  breakersMaxHosts: client.breakers?.stats().maxHosts,
};
await client.close();

/** Sockets connected across the agent's origins (`stats().agent.origins[*].connected`). */
function agentSockets(c: ReturnType<typeof createClient>): { origins: number; sockets: number } | undefined {
  const origins = c.stats().agent?.origins;
  if (origins === undefined) return undefined;
  let sockets = 0;
  for (const o of Object.values(origins)) sockets += (o as { connected?: number }).connected ?? 0;
  return { origins: Object.keys(origins).length, sockets };
}

// The handle check: a second client with the agent's default keep-alive (4 s), created with the tracker on, so
// every socket, timer and DNS request it makes is seen; closed right after its last request, with its pools full.
const controlSeen = await control();
const track = tracker();
track.start();
const checked = createClient({ agent: { resolver: async () => answer } });
await Promise.all(
  Array.from({ length: 16 }, async (_, lane) => {
    for (let i = lane; i < plan.handleCheck.requests; i += 16) {
      const url = `http://c${i % plan.handleCheck.hosts}.bench.test:${plan.port}/memory`;
      try {
        await checked.get(url).text();
      } catch (error) {
        errors += 1;
        firstError ??= String(error);
      }
    }
  }),
);
const openAtClose = agentSockets(checked) ?? { origins: 0, sockets: 0 };
await checked.close();
const agentAfterClose = agentSockets(checked);
await settle(track);
const leftAfterClose = track.live();
await new Promise((resolve) => track.untracked(() => setTimeout(resolve, 1_000)));
const leftAfterSecond = track.live();
track.stop();

const result: MemoryResult = {
  heapAfterWarmup,
  heapAtEnd,
  spacesAfterWarmup,
  spacesAtEnd,
  heapSamples,
  errors,
  ms,
  stats,
  openAtClose,
  leftAfterClose,
  leftAfterSecond,
  created: track.created,
  agentAfterClose,
  control: controlSeen,
  bounds,
};
if (firstError !== undefined) result.firstError = firstError;
process.send?.(result, () => process.disconnect());
