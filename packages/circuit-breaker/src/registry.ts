import { CircuitState } from 'cockatiel';
import type { InitHook, Options } from 'ky';
import { LRUCache } from 'lru-cache';
import { handoffTo, setHandoff } from './body-handoff.ts';
import { CircuitBreakerOptionsError, type CircuitOpenError, CircuitSnapshotError } from './errors.ts';
import { type CircuitStateName, emit } from './events.ts';
import { HostBreaker, type HostBreakerInfo, type HostSnapshot } from './host-breaker.ts';
import {
  type CircuitBreakerOptions,
  contextKey,
  type ResolvedOptions,
  type ResolvedPolicy,
  resolveOptions,
  resolveRequestOptions,
} from './options.ts';

/** The fetch signature a ky `fetch` option has. */
export type FetchFunction = (input: Request | string | URL, init?: RequestInit) => Promise<Response>;

/** Every breaker's saved state: `toJSON()` output, `restore()` input. Plain JSON. */
/**
 * The host a manual control (`state`, `describe`, `isolate`, `reset`) acts on: a breaker key, or a URL
 * (a string, a `URL` or a `Request`) of the host. With the default key, a URL string that is not itself
 * a breaker's key stands for its origin, so `'https://api.example/'` and `'https://api.example/items'`
 * mean `'https://api.example'`. With a `key` option, a string is always the key itself, and a `URL` or
 * a `Request` is keyed by `key(request)`.
 */
export type HostArgument = string | URL | Request;

export type CircuitBreakerSnapshot = {
  readonly version: 1;
  /** The clock's time when it was taken. */
  readonly takenAt: number;
  /** The trip policy it was taken with (a snapshot restores only into the same policy). */
  readonly policy: string;
  readonly hosts: readonly HostSnapshot[];
};

/** Counts for `stats()`. */
export type CircuitBreakerStats = {
  /** Breakers kept now (the LRU's and the isolated ones). */
  readonly size: number;
  /** The LRU's bound (`maxHosts`). */
  readonly maxHosts: number;
  /** Breakers by state. */
  readonly states: Readonly<Record<CircuitStateName, number>>;
  /** Breakers dropped because the LRU was full. */
  readonly evicted: number;
  /** Breakers dropped after `idleTtlMs` without a call. */
  readonly expired: number;
  /** Calls turned away with a `CircuitOpenError`. */
  readonly rejected: number;
};

const objectToString = Object.prototype.toString;

function asRequest(input: unknown): Request | undefined {
  return input instanceof Request || objectToString.call(input) === '[object Request]'
    ? (input as Request)
    : undefined;
}

// An origin as the URL parser writes it: lower-case http(s), a lower-case host name, a port that is not
// the scheme's default. Anything else (upper case, `:80`, IPv6, user info) is parsed.
const normalizedOrigin = /^https?:\/\/([a-z0-9.-]+)(?::([1-9]\d{0,4}))?$/;
// A host whose last label is numeric is an IPv4 address, which the parser rewrites (127.1, 0x7f.0.0.1)
// unless it is already a dotted quad of plain decimals.
const numericLabel = /(?:^|\.)(?:\d+|0x[0-9a-f]*)$/;
const dottedQuad = /^(?:(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\.){3}(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)$/;

// The last origin found normalized: a run of calls to one host checks it once (the regular
// expressions cost about a microsecond per call).
let lastNormalized = '';

function isNormalizedOrigin(origin: string): boolean {
  if (origin === lastNormalized) return true;
  const match = normalizedOrigin.exec(origin);
  if (match === null) return false;
  const host = match[1] as string;
  const port = match[2];
  if (port !== undefined && port === (origin.startsWith('https:') ? '443' : '80')) return false;
  if (numericLabel.test(host) && !dottedQuad.test(host)) return false;
  lastNormalized = origin;
  return true;
}

/** The origin of an absolute http(s) URL, without parsing it when it is already normalized. */
export function originOf(url: string): string {
  const start = url.indexOf('//');
  if (start > 0) {
    const end = url.indexOf('/', start + 2);
    const origin = end === -1 ? url : url.slice(0, end);
    if (isNormalizedOrigin(origin)) return origin;
  }
  try {
    return new URL(url).origin;
  } catch {
    return url;
  }
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

const stateNames: readonly CircuitStateName[] = ['closed', 'open', 'half-open', 'isolated'];

/**
 * The saved cockatiel state must be one `toJSON()` writes: closed, isolated, or open with a positive
 * attempt number (cockatiel saves a half-open circuit as open). Anything else would leave cockatiel and
 * the breaker disagreeing about the state after the first call.
 */
function checkOwnState(path: string, ownState: unknown): void {
  if (!isRecord(ownState)) throw new CircuitSnapshotError(path, 'expected an object');
  const { value, attemptNo } = ownState;
  if (value === CircuitState.Open) {
    if (typeof attemptNo !== 'number' || !Number.isInteger(attemptNo) || attemptNo < 1) {
      throw new CircuitSnapshotError(`${path}.attemptNo`, 'expected a positive integer for an open circuit');
    }
    return;
  }
  if (value !== CircuitState.Closed && value !== CircuitState.Isolated) {
    throw new CircuitSnapshotError(`${path}.value`, 'expected 0 (closed), 1 (open) or 3 (isolated)');
  }
}

function isCount(value: unknown, max: number): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0 && value <= max;
}

/**
 * The saved counters must be what the policy's breaker writes: cockatiel's `ConsecutiveBreaker` and
 * `CountBreaker` take any value and then never open (a count of `'x'` or `undefined` turns into NaN,
 * samples of another length are never filled). The window breaker checks its own buckets.
 */
function checkBreakerState(path: string, policy: ResolvedPolicy, state: unknown): void {
  if (policy.kind === 'consecutive') {
    if (!isCount(state, Number.MAX_SAFE_INTEGER)) {
      throw new CircuitSnapshotError(
        path,
        'expected the count of failures in a row (an integer of at least 0)',
      );
    }
    return;
  }
  if (policy.kind !== 'count') return;
  const size = policy.size;
  if (!isRecord(state)) throw new CircuitSnapshotError(path, 'expected an object');
  const { samples, currentSample, successes, failures } = state;
  if (
    !Array.isArray(samples) ||
    samples.length !== size ||
    !samples.every((sample) => sample === true || sample === false || sample === null)
  ) {
    throw new CircuitSnapshotError(`${path}.samples`, `expected ${size} samples, each true, false or null`);
  }
  if (!isCount(currentSample, size - 1)) {
    throw new CircuitSnapshotError(`${path}.currentSample`, `expected an integer from 0 to ${size - 1}`);
  }
  const counted = (value: boolean): number => samples.filter((sample) => sample === value).length;
  if (successes !== counted(true) || failures !== counted(false)) {
    throw new CircuitSnapshotError(path, 'expected successes and failures to match the samples');
  }
}

function optionalTime(path: string, value: unknown): number | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'number' || !Number.isFinite(value)) {
    throw new CircuitSnapshotError(path, 'expected a finite number or nothing');
  }
  return value;
}

/**
 * The breakers of every key, created on first use and kept in an LRU (`maxHosts`, `idleTtlMs`),
 * with the ky plugin (`kyOptions`) and the manual controls. One registry can serve any number of
 * ky instances: they then share their breakers.
 */
export class CircuitBreakerRegistry {
  readonly #options: ResolvedOptions;
  readonly #cache: LRUCache<string, HostBreaker>;
  /** Isolated breakers, kept apart from the LRU so that isolation is never evicted. */
  readonly #isolated = new Map<string, HostBreaker>();
  readonly #policyTag: string;
  #evicted = 0;
  #expired = 0;
  #rejected = 0;
  /** The ky options fragment: `ky.extend(registry.kyOptions)`. */
  readonly kyOptions: Options;

  constructor(options?: CircuitBreakerOptions) {
    const resolved = resolveOptions(options);
    const onRejected = resolved.onRejected;
    this.#options = {
      ...resolved,
      onRejected: (event) => {
        this.#rejected += 1;
        emit(onRejected, event);
      },
    };
    this.#policyTag = JSON.stringify(resolved.policy);
    // Idle expiry is checked here on lookup (one clock read), not by lru-cache's TTL, which costs
    // several clock reads per lookup.
    this.#cache = new LRUCache<string, HostBreaker>({
      max: resolved.maxHosts,
      dispose: (breaker, _key, reason) => {
        if (reason === 'evict') this.#evicted += 1;
        if (reason !== 'delete') breaker.detach();
      },
    });
    // ky runs every init hook of a call on one options object: this registry marks the calls whose
    // fetch it has wrapped (a symbol of its own, which ky's `for...in` of the options never sees; a
    // WeakSet costs its garbage collector's ephemeron work on every call). The same kyOptions
    // installed twice on a ky chain (a child instance extended with it again) would otherwise pass
    // each attempt through the breaker twice: every failure counted twice, and the inner pass turning
    // away the outer pass's half-open probe, so that no probe ever reached the host and the circuit
    // stayed half-open for good.
    const wrappedMark = Symbol('@ky-resilience/circuit-breaker wrapped');
    const init: InitHook = (callOptions) => {
      const marked = callOptions as Record<symbol, unknown>;
      if (marked[wrappedMark] === true) return;
      marked[wrappedMark] = true;
      const overrides = resolveRequestOptions(callOptions.context?.[contextKey]);
      if (overrides?.bypass === true) return;
      const inner: FetchFunction =
        callOptions.fetch ?? ((input, requestInit) => globalThis.fetch(input, requestInit));
      callOptions.fetch = this.#wrap(inner, overrides?.key);
    };
    this.kyOptions = { hooks: { init: [init] } };
  }

  /**
   * `fetch` wrapped in the breakers, for use without ky: each call goes through the breaker of
   * its key (`key(request)` when given a Request, else the URL's origin).
   */
  wrapFetch(fetch: FetchFunction): FetchFunction {
    return this.#wrap(fetch, undefined);
  }

  /**
   * The state of `host`'s breaker (`'closed'` for a key without one). `host` is a key, or a URL of
   * the host (see {@link HostArgument}).
   */
  state(host: HostArgument): CircuitStateName {
    return this.#find(this.#hostKey(host))?.state ?? 'closed';
  }

  /** Details of `host`'s breaker, or `undefined` when there is none. Does not refresh its age. */
  describe(host: HostArgument): HostBreakerInfo | undefined {
    return this.#find(this.#hostKey(host))?.info();
  }

  /**
   * Holds `host`'s circuit open (creating its breaker if needed): every call is rejected with a
   * `CircuitOpenError` of state `isolated` until {@link reset}. Isolated breakers are never evicted.
   */
  isolate(host: HostArgument): void {
    const key = checkHost(this.#hostKey(host));
    let breaker = this.#isolated.get(key);
    if (breaker === undefined) {
      breaker = this.#find(key);
      if (breaker !== undefined) {
        this.#cache.delete(key);
      } else {
        const stale = this.#cache.peek(key);
        if (stale !== undefined) this.#expire(key, stale);
        breaker = new HostBreaker(key, this.#options);
      }
      this.#isolated.set(key, breaker);
    }
    breaker.isolate();
  }

  /**
   * Replaces `host`'s breaker by a closed one with fresh counters (ends an isolation, closes an
   * open circuit). Calls still in flight on the old breaker are not counted. Emits `onStateChange`
   * with reason `reset` when the state was not `closed`.
   */
  reset(host: HostArgument): void {
    const key = checkHost(this.#hostKey(host));
    const old = this.#find(key);
    if (old === undefined) return;
    this.#drop(key, old);
    const fresh = new HostBreaker(key, this.#options);
    this.#cache.set(key, fresh);
    this.#announce(key, old.state, 'reset');
  }

  /** Every breaker's state, as plain JSON (for serverless cold starts: save it, `restore()` it). */
  toJSON(): CircuitBreakerSnapshot {
    // Expired breakers are left out (`state()` already reports them closed); the others go least
    // recently used first, so that a restore rebuilds the same LRU order.
    this.#purge();
    const hosts: HostSnapshot[] = [];
    for (const breaker of this.#isolated.values()) hosts.push(breaker.snapshot());
    for (const breaker of this.#cache.rvalues()) if (breaker !== undefined) hosts.push(breaker.snapshot());
    return { version: 1, takenAt: this.#options.clock(), policy: this.#policyTag, hosts };
  }

  /**
   * Recreates breakers from a {@link toJSON} snapshot (taken with the same `policy`). Each saved
   * key gets a new breaker in its saved state, replacing any current one; other keys are left
   * alone. A breaker saved half-open comes back open with its probe due. Emits `onStateChange`
   * with reason `restored` for each key whose state changes.
   *
   * @throws {CircuitSnapshotError} when it is not a snapshot of this version or policy; nothing
   * is restored then.
   */
  restore(snapshot: unknown): void {
    if (!isRecord(snapshot)) throw new CircuitSnapshotError('(root)', 'expected an object');
    if (snapshot.version !== 1) throw new CircuitSnapshotError('version', 'expected 1');
    if (snapshot.policy !== this.#policyTag) {
      throw new CircuitSnapshotError(
        'policy',
        `taken with policy ${String(snapshot.policy)}, not ${this.#policyTag}`,
      );
    }
    if (!Array.isArray(snapshot.hosts)) throw new CircuitSnapshotError('hosts', 'expected an array');
    const restored: HostBreaker[] = [];
    snapshot.hosts.forEach((saved: unknown, index: number) => {
      const path = `hosts[${index}]`;
      if (!isRecord(saved)) throw new CircuitSnapshotError(path, 'expected an object');
      if (typeof saved.host !== 'string' || saved.host === '') {
        throw new CircuitSnapshotError(`${path}.host`, 'expected a non-empty string');
      }
      if (!stateNames.includes(saved.state as CircuitStateName)) {
        throw new CircuitSnapshotError(`${path}.state`, `expected one of ${stateNames.join(', ')}`);
      }
      if (!isRecord(saved.policy)) throw new CircuitSnapshotError(`${path}.policy`, 'expected an object');
      const openedAt = optionalTime(`${path}.openedAt`, saved.openedAt);
      const nextProbeAt = optionalTime(`${path}.nextProbeAt`, saved.nextProbeAt);
      const lastUsed = optionalTime(`${path}.lastUsed`, saved.lastUsed);
      checkOwnState(`${path}.policy.ownState`, saved.policy.ownState);
      checkBreakerState(`${path}.policy.breakerState`, this.#options.policy, saved.policy.breakerState);
      const host: HostSnapshot = {
        host: saved.host,
        state: saved.state as CircuitStateName,
        openedAt,
        nextProbeAt,
        policy: saved.policy,
        lastUsed,
      };
      // Idle for longer than idleTtlMs by now: the live registry would have dropped it.
      const idle = this.#options.idleTtlMs;
      if (lastUsed !== undefined && idle !== false && this.#options.clock() - lastUsed > idle) return;
      try {
        restored.push(new HostBreaker(host.host, this.#options, host));
      } catch (error) {
        throw new CircuitSnapshotError(`${path}.policy`, 'cockatiel refused the saved state', error);
      }
    });
    for (const breaker of restored) {
      const key = breaker.host;
      const old = this.#find(key);
      if (old !== undefined) this.#drop(key, old);
      if (breaker.state === 'isolated') {
        this.#isolated.set(key, breaker);
      } else {
        this.#cache.set(key, breaker);
      }
      this.#announce(key, old?.state ?? 'closed', 'restored');
    }
  }

  /**
   * The `CircuitOpenError` a call to `input` would get now from its breaker (open, isolated, or half-open
   * with every probe slot taken), reported to `onRejected` and counted like the breaker's own rejections;
   * `undefined` when the breaker would let the call through, or when the key has no breaker yet. Creates
   * nothing and leaves the breaker's state and idle time alone. A host limiter's `beforeWait` can call it,
   * so that a call for a host whose circuit is open fails at once instead of first waiting for a slot.
   */
  rejection(input: Request | string | URL): CircuitOpenError | undefined {
    const request = asRequest(input);
    const breaker = this.#find(this.#keyOf(input, request));
    const state = breaker?.turnsAway();
    return state === undefined ? undefined : (breaker as HostBreaker).refuse(state, request);
  }

  /** Counts of breakers by state, evictions, expiries and rejections. */
  stats(): CircuitBreakerStats {
    this.#purge();
    const states: Record<CircuitStateName, number> = { closed: 0, open: 0, 'half-open': 0, isolated: 0 };
    for (const breaker of this.#isolated.values()) states[breaker.state] += 1;
    for (const breaker of this.#cache.values()) states[breaker.state] += 1;
    return {
      size: this.#cache.size + this.#isolated.size,
      maxHosts: this.#options.maxHosts,
      states,
      evicted: this.#evicted,
      expired: this.#expired,
      rejected: this.#rejected,
    };
  }

  /** Breakers kept now (expired ones are dropped first). */
  get size(): number {
    this.#purge();
    return this.#cache.size + this.#isolated.size;
  }

  #wrap(inner: FetchFunction, fixedKey: string | undefined): FetchFunction {
    const guarded: FetchFunction = (input, init) => {
      const request = asRequest(input);
      let breaker: HostBreaker;
      try {
        breaker = this.#breaker(fixedKey ?? this.#keyOf(input, request));
      } catch (error) {
        // Like fetch, the wrapper always returns a promise (a bad key rejects it).
        return Promise.reject(error);
      }
      // A body hand-off addressed to this wrapper goes on to the next one (the response is passed up as is).
      const consumer = handoffTo(init, guarded);
      const forwarded = consumer === undefined ? init : setHandoff({ ...init }, consumer, inner);
      return breaker.run(request, init?.signal ?? request?.signal, () => inner(input, forwarded), consumer);
    };
    return guarded;
  }

  #keyOf(input: Request | string | URL, request: Request | undefined): string {
    const custom = this.#options.key;
    if (custom !== undefined && request !== undefined) {
      const key = custom(request);
      if (typeof key !== 'string' || key === '') {
        throw new CircuitBreakerOptionsError(
          'key',
          key,
          'expected key(request) to return a non-empty string',
        );
      }
      return key;
    }
    return originOf(request?.url ?? String(input));
  }

  #breaker(key: string): HostBreaker {
    if (this.#isolated.size !== 0) {
      const isolated = this.#isolated.get(key);
      if (isolated !== undefined) return isolated;
    }
    const idle = this.#options.idleTtlMs;
    const now = idle === false ? 0 : this.#options.clock();
    let breaker = this.#cache.get(key);
    if (breaker !== undefined && idle !== false && now - breaker.lastUsed > idle) {
      this.#expire(key, breaker);
      breaker = undefined;
    }
    if (breaker === undefined) {
      breaker = new HostBreaker(key, this.#options);
      this.#cache.set(key, breaker);
    }
    breaker.lastUsed = now;
    return breaker;
  }

  /** The breaker of `key`, if it has one that has not expired; does not refresh it. */
  /**
   * The key a manual control means by `host`: a URL object or a Request is keyed as a call to it
   * would be; a string is the key itself, except that with the default key an absolute http(s) URL
   * that is not the key of a breaker stands for its origin (`'https://api.example/'`,
   * `'https://API.example:443/items'`). Anything else is returned as it is, for `checkHost`.
   */
  #hostKey(host: unknown): string {
    if (typeof host === 'string') {
      if (this.#options.key !== undefined || !httpUrl.test(host) || this.#find(host) !== undefined) {
        return host;
      }
      return originOf(host);
    }
    if (host instanceof URL) {
      return this.#keyOf(host, this.#options.key === undefined ? undefined : new Request(host));
    }
    const request = asRequest(host);
    return request === undefined ? (host as string) : this.#keyOf(request, request);
  }

  #find(key: string): HostBreaker | undefined {
    const isolated = this.#isolated.get(key);
    if (isolated !== undefined) return isolated;
    const breaker = this.#cache.peek(key);
    return breaker === undefined || this.#stale(breaker) ? undefined : breaker;
  }

  #stale(breaker: HostBreaker): boolean {
    const idle = this.#options.idleTtlMs;
    return idle !== false && this.#options.clock() - breaker.lastUsed > idle;
  }

  #expire(key: string, breaker: HostBreaker): void {
    this.#expired += 1;
    this.#cache.delete(key);
    breaker.detach();
  }

  /** Drops every expired breaker. */
  #purge(): void {
    if (this.#options.idleTtlMs === false) return;
    for (const [key, breaker] of [...this.#cache.entries()]) {
      if (this.#stale(breaker)) this.#expire(key, breaker);
    }
  }

  #drop(key: string, breaker: HostBreaker): void {
    if (this.#isolated.get(key) === breaker) {
      this.#isolated.delete(key);
    } else {
      this.#cache.delete(key);
    }
    breaker.detach();
  }

  #announce(key: string, from: CircuitStateName, reason: 'reset' | 'restored'): void {
    const current = this.#find(key);
    const to = current?.state ?? 'closed';
    if (from === to) return;
    const info = current?.info();
    emit(this.#options.onStateChange, {
      host: key,
      from,
      to,
      reason,
      at: this.#options.clock(),
      nextProbeAt: info?.nextProbeAt,
      lastFailure: info?.lastFailure,
    });
  }
}

/** An absolute http(s) URL (the scheme is case-insensitive, as the URL parser reads it). */
const httpUrl = /^https?:\/\//i;

function checkHost(host: unknown): string {
  if (typeof host !== 'string' || host === '') {
    throw new CircuitBreakerOptionsError('host', host, 'expected a non-empty string (a breaker key)');
  }
  return host;
}

/**
 * Creates a registry of per-host circuit breakers: `kyOptions` is the ky plugin, the rest are the
 * manual controls. Apply it after `@ky-resilience/timeout` (so that attempt timeouts happen inside
 * the breaker and count) and before a host limiter.
 *
 * @throws {CircuitBreakerOptionsError} on an unknown option or a bad value.
 * @example
 * const breakers = circuitBreakerPlugin({ policy: { kind: 'consecutive', failures: 5 } });
 * const api = ky.create(agent.kyOptions).extend(timeoutPlugin()).extend(breakers.kyOptions);
 * breakers.state('https://api.example'); // 'closed'
 */
export function circuitBreakerPlugin(options?: CircuitBreakerOptions): CircuitBreakerRegistry {
  return new CircuitBreakerRegistry(options);
}
