import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import { CounterRecord, emptyCounters, type RouteCounters } from './counters.ts';
import { assertLoopbackHost, type LoopbackHost, originOf } from './loopback.ts';
import { type UpstreamOptions, validateUpstreamOptions } from './options.ts';
import { seededRandom } from './random.ts';
import { respond } from './respond.ts';
import { type RouteSpec, stepFor, validateRouteKey, validateRouteSpec } from './route.ts';
import { scenarioRoute } from './scenarios.ts';
import { evaluateSchedule, type ScheduleVerdict } from './schedule.ts';
import type { Step } from './step.ts';

/** A running fault-injecting HTTP/1.1 upstream on loopback. */
export type Upstream = {
  /** `http://127.0.0.1:PORT` (or `http://[::1]:PORT`). */
  url: string;
  /** Same as `url`. */
  origin: string;
  port: number;
  host: string;
  /** Counters of one route or pathname (`'*'`: every request the `'*'` route served); no argument: totals. */
  counters(route?: string): RouteCounters;
  /** Counters by the request's `Host` header without port (lower-cased), so one upstream can stand for several host names. */
  byHost(hostHeader: string): RouteCounters;
  /** TCP connections opened in total (since start or the last `reset()`). */
  readonly connections: number;
  /** Sockets open right now. */
  readonly openSockets: number;
  /** (Re)programs a route: its request numbering restarts at 0 and its schedule's time at now. */
  route(path: string, spec: RouteSpec): void;
  /** Zeroes every counter and restarts every route's request numbering (requests in flight stay counted in `inFlight`). */
  reset(): void;
  /** Closes every keep-alive socket that is not serving a request. */
  closeIdleSockets(): void;
  /** Destroys every socket, clears every timer and closes the server. Idempotent. */
  close(): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
};

type RouteState = { spec: RouteSpec; next: number; epoch: number };

const UP: ScheduleVerdict = { state: 'up', extraDelayMs: 0 };

function pathnameOf(url: string | undefined): string {
  if (url === undefined || url === '') return '/';
  if (url === '*') return '*';
  try {
    // Origin-form (`/path?query`) is appended to a base instead of resolved against it: resolving
    // `//other/x` would read it as a scheme-relative URL (host `other`, pathname `/x`).
    if (url.startsWith('/')) return new URL(`http://upstream.invalid${url}`).pathname;
    return new URL(url, 'http://upstream.invalid').pathname;
  } catch {
    return url.split('?')[0] ?? url;
  }
}

/** `Host` header value without the port, lower-cased (`'[::1]:80'` → `'[::1]'`). */
export function hostOfHeader(hostHeader: string | undefined): string {
  if (hostHeader === undefined) return '';
  const host = hostHeader.trim().toLowerCase();
  if (host.startsWith('[')) {
    const end = host.indexOf(']');
    return end === -1 ? host : host.slice(0, end + 1);
  }
  const colon = host.indexOf(':');
  return colon === -1 ? host : host.slice(0, colon);
}

/**
 * Starts a programmable fault-injecting HTTP/1.1 server on loopback (`127.0.0.1:0` by default).
 * Rejects with an `UpstreamOptionsError` for bad options.
 *
 * @example
 * await using upstream = await startUpstream({ routes: { '/a': { steps: [{ status: 503, retryAfter: 1 }, {}] } } });
 * await fetch(`${upstream.url}/a`); // 503
 * await fetch(`${upstream.url}/a`); // 200
 * upstream.counters('/a').requests; // 2
 */
export async function startUpstream(options?: UpstreamOptions): Promise<Upstream> {
  const opts = validateUpstreamOptions(options);
  const host: LoopbackHost = assertLoopbackHost('host', opts.host ?? '127.0.0.1');
  const clock = opts.clock ?? (() => performance.now());
  const now = opts.now ?? Date.now;
  const random = opts.random ?? seededRandom(opts.seed ?? 1);

  const routes = new Map<string, RouteState>();
  const totals = new CounterRecord();
  const byPath = new Map<string, CounterRecord>();
  const byHostHeader = new Map<string, CounterRecord>();
  const sockets = new Set<Socket>();
  const seenSockets = new WeakSet<Socket>();
  const timers = new Set<NodeJS.Timeout>();
  let connections = 0;
  let closing: Promise<void> | undefined;

  const recordOf = (map: Map<string, CounterRecord>, key: string): CounterRecord => {
    let record = map.get(key);
    if (record === undefined) {
      record = new CounterRecord();
      map.set(key, record);
    }
    return record;
  };

  const handle = (req: IncomingMessage, res: ServerResponse): void => {
    const socket = req.socket;
    const firstOnConnection = !seenSockets.has(socket);
    seenSockets.add(socket);
    const pathname = pathnameOf(req.url);
    const key = routes.has(pathname) ? pathname : '*';
    const state = routes.get(key)!;
    const n = state.next;
    state.next += 1;
    const records = new Set<CounterRecord>([totals, recordOf(byPath, pathname), recordOf(byPath, key)]);
    records.add(recordOf(byHostHeader, hostOfHeader(req.headers.host)));
    const headers = { ...req.headers };
    for (const record of records) record.begin(headers, firstOnConnection);

    const ownTimers = new Set<NodeJS.Timeout>();
    let finished = false;
    const finish = (): void => {
      if (finished) return;
      finished = true;
      for (const record of records) record.end();
      for (const timer of ownTimers) {
        clearTimeout(timer);
        timers.delete(timer);
      }
      ownTimers.clear();
    };
    res.once('close', finish);

    const verdict =
      state.spec.schedule === undefined
        ? UP
        : evaluateSchedule(state.spec.schedule, clock() - state.epoch, random);
    let step: Step;
    let extraDelayMs = 0;
    if (verdict.state === 'down') {
      step = {
        status: verdict.status,
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ ok: false, route: pathname, n, schedule: verdict.kind }),
      };
    } else {
      step = stepFor(state.spec, n);
      extraDelayMs = verdict.extraDelayMs;
    }
    const defaultBody = JSON.stringify({ ok: (step.status ?? 200) < 400, route: pathname, n });

    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.once('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      for (const record of records) record.bodies.push(body);
      if (closing !== undefined) return;
      respond({
        req,
        res,
        step,
        extraDelayMs,
        defaultBody,
        now,
        keepAliveHint: opts.keepAliveHint ?? false,
        later: (ms, fn) => {
          if (finished || closing !== undefined) return;
          const timer = setTimeout(() => {
            timers.delete(timer);
            ownTimers.delete(timer);
            fn();
          }, ms);
          timer.unref();
          timers.add(timer);
          ownTimers.add(timer);
        },
        onStatus: (status) => {
          for (const record of records) record.status(status);
        },
        onReset: finish,
      });
    });
  };

  const programmed = opts.routes ?? {};
  for (const [path, spec] of Object.entries(programmed)) routes.set(path, { spec, next: 0, epoch: clock() });
  if (!routes.has('*')) {
    routes.set('*', { spec: scenarioRoute(opts.scenario ?? 'healthy'), next: 0, epoch: clock() });
  }

  const server = createServer(handle);
  server.keepAliveTimeout = opts.keepAliveTimeout ?? 5_000;
  // Node 24+ adds a buffer to the keep-alive timeout; zero it so short timeouts close idle sockets on time.
  if ('keepAliveTimeoutBuffer' in server) server.keepAliveTimeoutBuffer = 0;
  server.on('connection', (socket: Socket) => {
    connections += 1;
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  });

  await new Promise<void>((resolve, reject) => {
    const onError = (error: Error): void => reject(error);
    server.once('error', onError);
    server.listen({ host, port: opts.port ?? 0 }, () => {
      server.off('error', onError);
      resolve();
    });
  });
  server.on('error', () => {});

  // Schedules measure from here: the moment the upstream is listening.
  const startedAt = clock();
  for (const state of routes.values()) state.epoch = startedAt;

  const address = server.address();
  const port = typeof address === 'object' && address !== null ? address.port : 0;
  const origin = originOf(host, port);

  const close = (): Promise<void> => {
    if (closing !== undefined) return closing;
    for (const timer of timers) clearTimeout(timer);
    timers.clear();
    closing = new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
      for (const socket of sockets) socket.destroy();
    });
    return closing;
  };

  return {
    url: origin,
    origin,
    port,
    host,
    counters(route?: string): RouteCounters {
      if (route === undefined) return totals.snapshot();
      return byPath.get(route)?.snapshot() ?? emptyCounters();
    },
    byHost(hostHeader: string): RouteCounters {
      return byHostHeader.get(hostOfHeader(hostHeader))?.snapshot() ?? emptyCounters();
    },
    get connections(): number {
      return connections;
    },
    get openSockets(): number {
      return sockets.size;
    },
    route(path: string, spec: RouteSpec): void {
      validateRouteKey('route', path);
      validateRouteSpec(`route(${JSON.stringify(path)})`, spec);
      routes.set(path, { spec, next: 0, epoch: clock() });
    },
    reset(): void {
      totals.reset();
      for (const record of byPath.values()) record.reset();
      for (const record of byHostHeader.values()) record.reset();
      for (const state of routes.values()) state.next = 0;
      connections = 0;
    },
    closeIdleSockets(): void {
      server.closeIdleConnections();
    },
    close,
    [Symbol.asyncDispose]: close,
  };
}
