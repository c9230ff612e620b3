import { createRequire } from 'node:module';
import type { Dispatcher, Client as UndiciClient, Pool as UndiciPool } from 'undici';

const require = createRequire(import.meta.url);
// undici's internal symbols, loaded by path like the dispatchers themselves.
const { kHTTPContext, kMaxConcurrentStreams } = require('undici/lib/core/symbols.js') as {
  kHTTPContext: symbol;
  kMaxConcurrentStreams: symbol;
};

type OriginDispatcher = UndiciPool | UndiciClient;
type PoolOptions = UndiciPool.Options & { connections?: number | null };

/**
 * The undici Agent's per-origin dispatcher (a Pool, or a Client for one connection, as undici's default
 * factory makes), with one change. undici 7.10+ closes an origin's pool when its connection count falls to zero,
 * counting connects and disconnects in a closure that looks the origin up again: once it has closed one pool
 * while a request was still on its way to a new connection, the late disconnect of that closed pool is counted
 * against the origin's next pool, which is closed in turn after its first request, and so on. Sequential
 * requests to the origin then each open a new connection, after any connection of it closed (a
 * `Connection: close`, or undici's own close after a HEAD). nodejs/undici#5022. A closed pool's disconnects
 * are therefore not reported to the Agent.
 *
 * And a second: the agent keeps HTTP/1.1 pipelining off (`pipelining: 1`), but undici applies that same limit
 * to an HTTP/2 connection, which then carries one stream at a time: concurrent requests to an h2 origin each
 * opened a connection of their own. A connection that negotiated h2 is given its session's stream limit
 * instead: `limitPerHost` then caps the origin's connections, each carrying up to that many requests, and the
 * agent's `limit` still caps the requests in flight across origins.
 */
export function originPool(origin: string | URL, options: PoolOptions): Dispatcher {
  // Loaded by path: the undici entry point would install a global dispatcher as a side effect.
  const dispatcher: OriginDispatcher =
    options.connections === 1
      ? new (require('undici/lib/dispatcher/client.js') as typeof UndiciClient)(origin, options)
      : new (require('undici/lib/dispatcher/pool.js') as typeof UndiciPool)(origin, options);
  dispatcher.on('connect', (_origin: URL, targets: readonly Dispatcher[]) => {
    const client = targets.at(-1) as (UndiciClient & Record<symbol, unknown>) | undefined;
    if (client === undefined) return;
    const context = client[kHTTPContext] as { version?: string } | null | undefined;
    const streams = client[kMaxConcurrentStreams];
    const wanted =
      context?.version === 'h2' ? (typeof streams === 'number' && streams > 0 ? streams : 100) : 1;
    // Back to 1 if a reconnect of the same client negotiated HTTP/1.1: never pipeline HTTP/1.1.
    if (client.pipelining !== wanted) client.pipelining = wanted;
  });
  const emit = dispatcher.emit;
  dispatcher.emit = function emitUnlessClosed(
    this: OriginDispatcher,
    event: string | symbol,
    ...args: unknown[]
  ): boolean {
    if (event === 'disconnect' && this.closed) return false;
    return Reflect.apply(emit, this, [event, ...args]) as boolean;
  } as typeof dispatcher.emit;
  return dispatcher;
}
