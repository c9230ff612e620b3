/** Why a call was turned away without touching the network. */
export type RejectedState = 'open' | 'half-open' | 'isolated';

/** What a {@link CircuitOpenError} carries. */
export type CircuitOpenErrorInit = {
  /** The breaker's key: the origin by default (`'https://api.example:8443'`), or what `key(request)` returned. */
  readonly host: string;
  /** The state that turned the call away. */
  readonly state: RejectedState;
  /**
   * When the next probe is allowed, in the clock's milliseconds (epoch ms with the default clock):
   * for `open`, the end of the open period; for `half-open`, `undefined` (a probe is running, the
   * verdict comes with it); for `isolated`, `undefined` (only `reset(host)` ends it).
   */
  readonly nextProbeAt: number | undefined;
  /** The clock's time when the call was turned away. */
  readonly now: number;
  /** The request that was turned away, when known. */
  readonly request?: Request | undefined;
};

const circuitOpenErrorBrand: symbol = Symbol.for('@ky-resilience/circuit-breaker.CircuitOpenError');
const optionsErrorBrand: symbol = Symbol.for('@ky-resilience/circuit-breaker.CircuitBreakerOptionsError');
const snapshotErrorBrand: symbol = Symbol.for('@ky-resilience/circuit-breaker.CircuitSnapshotError');

const stateLabels: Readonly<Record<RejectedState, string>> = {
  open: 'the circuit is open',
  'half-open': 'the circuit is half-open and its probes are in flight',
  isolated: 'the circuit is isolated',
};

/**
 * The breaker for `host` turned the call away at once, without touching the network. Test with
 * {@link isCircuitOpenError} (works across copies of the package) or `instanceof`.
 *
 * Its `code` is `ERR_KYR_CIRCUIT_OPEN`. ky does not retry it (it is not a network error), and the
 * retry plugin classifies it as a non-retryable error, so a call is never retried against a host
 * whose breaker is open.
 */
export class CircuitOpenError extends Error {
  override name: string = 'CircuitOpenError';
  /** A stable machine-readable code. */
  readonly code: 'ERR_KYR_CIRCUIT_OPEN' = 'ERR_KYR_CIRCUIT_OPEN';
  /** The breaker's key (the origin by default). */
  readonly host: string;
  /** The state that turned the call away. */
  readonly state: RejectedState;
  /** When the next probe is allowed (clock ms), or `undefined` (half-open, isolated). */
  readonly nextProbeAt: number | undefined;
  /** Milliseconds from now until `nextProbeAt` (0 when it has passed), or `undefined`. */
  readonly retryAfterMs: number | undefined;
  /** The request that was turned away, when known. */
  readonly request?: Request;

  constructor(init: CircuitOpenErrorInit) {
    const retryAfterMs =
      init.nextProbeAt === undefined ? undefined : Math.max(0, init.nextProbeAt - init.now);
    super(
      `Circuit open for ${init.host}: ${stateLabels[init.state]}` +
        (retryAfterMs === undefined ? '' : `; next probe in ${Math.ceil(retryAfterMs)} ms`),
    );
    this.host = init.host;
    this.state = init.state;
    this.nextProbeAt = init.nextProbeAt;
    this.retryAfterMs = retryAfterMs;
    if (init.request !== undefined) {
      this.request = init.request;
    }
    Object.defineProperty(this, circuitOpenErrorBrand, { value: true });
  }
}

/** True for a {@link CircuitOpenError}, also one from another copy of this package. */
export function isCircuitOpenError(error: unknown): error is CircuitOpenError {
  return typeof error === 'object' && error !== null && circuitOpenErrorBrand in error;
}

/**
 * An option of the circuit breaker is unknown or has a bad value. `option` names it
 * (`'policy.threshold'`, `'maxHosts'`, ... or the unknown key) and `value` holds what was given.
 */
export class CircuitBreakerOptionsError extends Error {
  override name: string = 'CircuitBreakerOptionsError';
  readonly code: 'ERR_KYR_CIRCUIT_BREAKER_OPTIONS' = 'ERR_KYR_CIRCUIT_BREAKER_OPTIONS';
  /** The option's name (a path for nested options). */
  readonly option: string;
  /** The value that was refused. */
  readonly value: unknown;

  constructor(option: string, value: unknown, requirement: string) {
    super(`Invalid circuit breaker option \`${option}\`: ${describe(value)}; ${requirement}`);
    this.option = option;
    this.value = value;
    Object.defineProperty(this, optionsErrorBrand, { value: true });
  }
}

/** True for a {@link CircuitBreakerOptionsError}, also one from another copy of this package. */
export function isCircuitBreakerOptionsError(error: unknown): error is CircuitBreakerOptionsError {
  return typeof error === 'object' && error !== null && optionsErrorBrand in error;
}

/**
 * `restore(snapshot)` was given something that is not a snapshot of this version, or one taken
 * with a different policy. `path` points at the offending part (`'hosts[3].nextProbeAt'`); `cause`
 * holds cockatiel's error when it refused the saved state.
 */
export class CircuitSnapshotError extends Error {
  override name: string = 'CircuitSnapshotError';
  readonly code: 'ERR_KYR_CIRCUIT_SNAPSHOT' = 'ERR_KYR_CIRCUIT_SNAPSHOT';
  /** Where in the snapshot the problem is. */
  readonly path: string;

  constructor(path: string, problem: string, cause?: unknown) {
    super(
      `Invalid circuit breaker snapshot at \`${path}\`: ${problem}`,
      cause === undefined ? undefined : { cause },
    );
    this.path = path;
    Object.defineProperty(this, snapshotErrorBrand, { value: true });
  }
}

/** True for a {@link CircuitSnapshotError}, also one from another copy of this package. */
export function isCircuitSnapshotError(error: unknown): error is CircuitSnapshotError {
  return typeof error === 'object' && error !== null && snapshotErrorBrand in error;
}

function describe(value: unknown): string {
  if (typeof value === 'function') {
    return 'a function';
  }
  if (typeof value === 'string') {
    return JSON.stringify(value);
  }
  if (typeof value === 'number' && Object.is(value, -0)) {
    return '-0';
  }
  if (typeof value === 'bigint') {
    return `${value}n`;
  }
  if (typeof value === 'object' && value !== null) {
    try {
      return JSON.stringify(value) ?? Object.prototype.toString.call(value);
    } catch {
      return Object.prototype.toString.call(value);
    }
  }
  return String(value);
}
