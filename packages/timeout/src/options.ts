import { TimeoutOptionsError } from './errors.ts';

/** The key under `options.context` where a request overrides the instance's limits. */
export const contextKey = '@ky-resilience/timeout';

/**
 * `setTimeout`/`clearTimeout`-like functions the tiers schedule with. Handles that have an
 * `unref()` method are unref'd, so a pending timer never keeps the process alive.
 */
export type Timers = {
  setTimeout: (callback: () => void, ms: number) => unknown;
  clearTimeout: (handle: unknown) => void;
};

/**
 * The limits, in milliseconds. Each is a finite number from 0 to 2^31−1, or `false` to turn the
 * tier off. These are also the keys a request may override through
 * `context['@ky-resilience/timeout']`.
 */
export type TimeoutLimits = {
  /**
   * The whole ky call: every attempt, every backoff sleep, hooks, and the body read of ky's
   * `.json()`/`.text()` shortcuts. Applied through ky's `totalTimeout`; raises `TotalTimeoutError`.
   * A given `attempt` above it is an error; a default or inherited one shrinks to it.
   * @default 30_000
   * @example { total: 60_000 }
   */
  total?: number | false;
  /**
   * One attempt, from the moment its fetch is called (time waiting in a limiter's queue before it
   * is not counted) until its response body has been read to the end, cancelled or has failed
   * (a response without a body ends the attempt when the head arrives). Replaces ky's own
   * `timeout`. Raises `AttemptTimeoutError`. Set `false` for long streaming downloads and rely on
   * `bodyIdle`.
   * @default 10_000
   * @example { attempt: 5_000 }
   */
  attempt?: number | false;
  /**
   * The agent's connect timeout (`createAgent({ connectTimeout })`), which owns the connect timer.
   * This plugin does not start a timer for it: it checks that it is not above `attempt` or
   * `headers`, and uses it as the `limit` of the `ConnectTimeoutError` it raises when the agent
   * (or undici) reports a connect timeout (`UND_ERR_CONNECT_TIMEOUT`). Connect timeouts are
   * mapped whatever this is set to; the agent's own figure wins when it reports one.
   * @default false (not checked; the limit is taken from the agent's error)
   * @example { connect: 2_000 } // with createAgent({ connectTimeout: 2_000 })
   */
  connect?: number | false;
  /**
   * Time to first byte: from the moment the attempt's fetch is called until the response head
   * (status line and headers) has arrived. Raises `HeadersTimeoutError`. At most `attempt`.
   * @default false (the attempt limit bounds it)
   * @example { headers: 3_000 }
   */
  headers?: number | false;
  /**
   * The longest a read of the response body may wait for the next chunk. A slow but steady body
   * never trips it; a body that stalls does, also right after the head. The timer runs only while
   * the body is being read (a body nobody reads is bounded by `attempt`). Raises
   * `BodyIdleTimeoutError`.
   * @default 10_000
   * @example { bodyIdle: 2_000 }
   */
  bodyIdle?: number | false;
};

/** Options of {@link timeoutPlugin}: the limits, plus injectable timer functions. */
export type TimeoutOptions = TimeoutLimits & {
  /**
   * The timer functions used for `attempt`, `headers` and `bodyIdle` (read on each call, so a
   * test can record the delays asked for). `total` uses ky's own timers.
   * @default the global setTimeout and clearTimeout, looked up when a timer starts
   * @example { timers: { setTimeout: (fn, ms) => { asked.push(ms); return setTimeout(fn, ms); }, clearTimeout } }
   */
  timers?: Timers;
};

/** The limits after defaults and validation. */
export type ResolvedTimeoutLimits = {
  readonly total: number | false;
  readonly attempt: number | false;
  readonly connect: number | false;
  readonly headers: number | false;
  readonly bodyIdle: number | false;
};

/** The defaults of every limit. */
export const defaultTimeoutLimits: ResolvedTimeoutLimits = Object.freeze({
  total: 30_000,
  attempt: 10_000,
  connect: false,
  headers: false,
  bodyIdle: 10_000,
});

/** The largest delay a timer accepts: 2^31−1 ms. */
export const maxTimeoutMs = 2_147_483_647;

const limitKeys: readonly (keyof TimeoutLimits)[] = ['total', 'attempt', 'connect', 'headers', 'bodyIdle'];

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null) return false;
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

function checkLimit(name: string, value: unknown): number | false {
  if (value === false) return false;
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0 || value > maxTimeoutMs) {
    throw new TimeoutOptionsError(name, value, `expected false or a finite number from 0 to ${maxTimeoutMs}`);
  }
  return value;
}

const orderedPairs: readonly (readonly [keyof TimeoutLimits, keyof TimeoutLimits])[] = [
  ['attempt', 'total'],
  ['headers', 'attempt'],
  ['connect', 'attempt'],
  ['connect', 'headers'],
  // With `attempt` off, nothing above them but `total` (with `attempt` on, implied by the pairs above).
  ['headers', 'total'],
  ['connect', 'total'],
];

/**
 * Merges `overrides` over `base` and validates the result. Values given in `overrides` win; a
 * value taken from `base` that would exceed a limit given in `overrides` shrinks to it (setting
 * `total: 5_000` alone lowers the default `attempt` to 5 000 ms). Two given values in the wrong
 * order (`attempt` above `total`, `headers` or `connect` above `attempt` or, with `attempt` off,
 * above `total`, `connect` above `headers`) are an error. `prefix` goes before option names in errors
 * (`"context['@ky-resilience/timeout']."` for a request's overrides).
 */
export function resolveLimits(
  base: ResolvedTimeoutLimits,
  overrides: unknown,
  prefix: string,
): ResolvedTimeoutLimits {
  if (overrides === undefined) return base;
  if (!isPlainObject(overrides)) {
    throw new TimeoutOptionsError(
      prefix === '' ? 'options' : prefix.slice(0, -1),
      overrides,
      'expected an object',
    );
  }
  const merged: Record<keyof TimeoutLimits, number | false> = { ...base };
  const given = new Set<string>();
  for (const key of Object.keys(overrides)) {
    if (!(limitKeys as readonly string[]).includes(key)) {
      throw new TimeoutOptionsError(
        `${prefix}${key}`,
        overrides[key],
        `unknown option (known: ${limitKeys.join(', ')})`,
      );
    }
    const value = overrides[key];
    if (value === undefined) continue;
    merged[key as keyof TimeoutLimits] = checkLimit(`${prefix}${key}`, value);
    given.add(key);
  }
  for (const [smaller, larger] of orderedPairs) {
    const low = merged[smaller];
    const high = merged[larger];
    if (typeof low !== 'number' || typeof high !== 'number' || low <= high) continue;
    if (!given.has(smaller)) {
      merged[smaller] = high;
      continue;
    }
    throw new TimeoutOptionsError(
      `${prefix}${smaller}`,
      low,
      `expected at most \`${larger}\` (${high} ms): \`${smaller}\` can never trip above it`,
    );
  }
  return Object.freeze(merged);
}

/** Validates the plugin's options: the limits (with defaults filled in) and the timers. */
export function resolveTimeoutOptions(options: unknown): {
  limits: ResolvedTimeoutLimits;
  timers: Timers | undefined;
} {
  if (options === undefined) return { limits: defaultTimeoutLimits, timers: undefined };
  if (!isPlainObject(options)) {
    throw new TimeoutOptionsError('options', options, 'expected an object');
  }
  const { timers, ...limits } = options;
  if (timers !== undefined) {
    if (
      typeof timers !== 'object' ||
      timers === null ||
      typeof (timers as Timers).setTimeout !== 'function' ||
      typeof (timers as Timers).clearTimeout !== 'function'
    ) {
      throw new TimeoutOptionsError(
        'timers',
        timers,
        'expected an object with setTimeout and clearTimeout functions',
      );
    }
  }
  return { limits: resolveLimits(defaultTimeoutLimits, limits, ''), timers: timers as Timers | undefined };
}
