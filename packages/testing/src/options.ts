import { UpstreamOptionsError } from './errors.ts';
import { assertLoopbackHost } from './loopback.ts';
import { type RouteSpec, validateRouteKey, validateRouteSpec } from './route.ts';
import { type ScenarioName, scenarioNames } from './scenarios.ts';
import {
  assertBoolean,
  assertFinite,
  assertFunction,
  assertInteger,
  assertKnownKeys,
  assertNonNegative,
} from './validate.ts';

/** Options of {@link startUpstream}. */
export type UpstreamOptions = {
  /**
   * Address to listen on. Only loopback is allowed; anything else throws an `UpstreamOptionsError` (a `TypeError`).
   * @default '127.0.0.1'
   * @example { host: '::1' }
   */
  host?: string;
  /**
   * Port to listen on; 0 picks a free one.
   * @default 0
   * @example { port: 8080 }
   */
  port?: number;
  /**
   * Server keep-alive timeout (ms): an idle keep-alive socket is closed after this long. Small values
   * make stale keep-alive sockets for clients with a longer idle timeout. `0` disables the timeout.
   * @default 5000
   * @example { keepAliveTimeout: 50 }
   */
  keepAliveTimeout?: number;
  /**
   * Advertise the keep-alive timeout to clients (`Keep-Alive: timeout=N`, as Node does by default).
   * Off by default: idle sockets are then closed without warning, like many servers and load
   * balancers do, so a client with a longer idle timeout can pick a stale socket.
   * @default false
   * @example { keepAliveTimeout: 1000, keepAliveHint: true }
   */
  keepAliveHint?: boolean;
  /**
   * Routes by pathname (`'/a'`); `'*'` is any other path. Unprogrammed paths are healthy 200s.
   * @default { '*': {} }
   * @example { routes: { '/flaky': { steps: [{ status: 503 }, { status: 200 }] } } }
   */
  routes?: Record<string, RouteSpec>;
  /**
   * Named preset for the `'*'` route (an explicit `routes['*']` wins).
   * @default 'healthy'
   * @example { scenario: 'incident' }
   */
  scenario?: ScenarioName;
  /**
   * Monotonic clock in ms used by schedules, which measure from when a route was programmed.
   * @default () => performance.now()
   * @example { clock: () => fakeNow }
   */
  clock?: () => number;
  /**
   * Wall clock in epoch ms, used only for HTTP-dates (`retryAfterDate`).
   * @default Date.now
   * @example { now: () => Date.UTC(2030, 0, 1) }
   */
  now?: () => number;
  /**
   * Random numbers in [0, 1) for `brownout` and `slowTail` schedules.
   * @default a PRNG seeded with `seed` (deterministic)
   * @example { random: () => 0 }
   */
  random?: () => number;
  /**
   * Seed of the default PRNG (ignored when `random` is given).
   * @default 1
   * @example { seed: 42 }
   */
  seed?: number;
};

const OPTION_KEYS: readonly string[] = [
  'host',
  'port',
  'keepAliveTimeout',
  'keepAliveHint',
  'routes',
  'scenario',
  'clock',
  'now',
  'random',
  'seed',
];

/** Validates the options of `startUpstream()`; throws an `UpstreamOptionsError` naming the option and the value. */
export function validateUpstreamOptions(options: unknown): UpstreamOptions {
  if (options === undefined) return {};
  if (typeof options !== 'object' || options === null || Array.isArray(options)) {
    throw new UpstreamOptionsError('options', options, 'an object');
  }
  const record = options as Record<string, unknown>;
  assertKnownKeys('', record, OPTION_KEYS);
  if (record.host !== undefined) assertLoopbackHost('host', record.host);
  if (record.port !== undefined) assertInteger('port', record.port, 0, 65_535);
  if (record.keepAliveTimeout !== undefined) {
    assertNonNegative('keepAliveTimeout', record.keepAliveTimeout, 2_147_483_647);
  }
  if (record.keepAliveHint !== undefined) assertBoolean('keepAliveHint', record.keepAliveHint);
  if (record.routes !== undefined) {
    const routes = record.routes;
    if (typeof routes !== 'object' || routes === null || Array.isArray(routes)) {
      throw new UpstreamOptionsError('routes', routes, 'an object keyed by pathname');
    }
    for (const [key, spec] of Object.entries(routes)) {
      validateRouteKey('routes', key);
      validateRouteSpec(`routes[${JSON.stringify(key)}]`, spec);
    }
  }
  if (record.scenario !== undefined && !scenarioNames.includes(record.scenario as ScenarioName)) {
    throw new UpstreamOptionsError('scenario', record.scenario, `one of ${scenarioNames.join(', ')}`);
  }
  if (record.clock !== undefined) assertFunction('clock', record.clock);
  if (record.now !== undefined) assertFunction('now', record.now);
  if (record.random !== undefined) assertFunction('random', record.random);
  if (record.seed !== undefined) assertFinite('seed', record.seed);
  return record as UpstreamOptions;
}
