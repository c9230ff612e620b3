/**
 * Which timeout tier ran out.
 *
 * - `total`: the whole ky call (attempts, backoff sleeps and hooks) outlived `total`.
 * - `attempt`: one attempt (from the moment its fetch was called) outlived `attempt`.
 * - `connect`: no connection was established within the agent's `connectTimeout`.
 * - `headers`: the response head did not arrive within `headers` (time to first byte).
 * - `bodyIdle`: no body chunk arrived for `bodyIdle` ms while the body was being read.
 */
export type TimeoutPhase = 'total' | 'attempt' | 'connect' | 'headers' | 'bodyIdle';

/** What every timeout error carries. */
export type ResilienceTimeoutErrorInit = {
  /** The host (`new URL(request.url).host`, port included when not the default). */
  readonly host: string;
  /** The attempt number, 1 for the first attempt (for `total`: the attempt running when time ran out). */
  readonly attempt: number;
  /** The limit that was exceeded, in milliseconds. */
  readonly limit: number;
  /** The request of the attempt, when known. */
  readonly request?: Request | undefined;
  /** The underlying error, when there is one (ky's `TimeoutError`, the agent's connect timeout). */
  readonly cause?: unknown;
  /** Whether the attempt's request had started to be written when time ran out (see {@link ResilienceTimeoutError.sent}). */
  readonly sent?: boolean | undefined;
};

const timeoutErrorBrand: symbol = Symbol.for('@ky-resilience/timeout.ResilienceTimeoutError');
const timeoutOptionsErrorBrand: symbol = Symbol.for('@ky-resilience/timeout.TimeoutOptionsError');

const phaseLabels: Readonly<Record<TimeoutPhase, string>> = {
  total: 'Total timeout: the call did not finish',
  attempt: 'Attempt timeout: the attempt did not finish',
  connect: 'Connect timeout: no connection was established',
  headers: 'Headers timeout: no response head arrived',
  bodyIdle: 'Body idle timeout: no body data arrived',
};

/**
 * Base class of every timeout raised by `@ky-resilience/timeout`. Test with
 * {@link isResilienceTimeoutError} (works across copies of the package) or `instanceof`.
 *
 * A caller's own abort never becomes one of these: it rejects with the caller's reason.
 */
export class ResilienceTimeoutError extends Error {
  override name: string = 'ResilienceTimeoutError';
  /** A stable machine-readable code, the same for every tier. */
  readonly code: 'ERR_KYR_TIMEOUT' = 'ERR_KYR_TIMEOUT';
  /** Which tier ran out. */
  readonly phase: TimeoutPhase;
  /** The host (`new URL(request.url).host`). */
  readonly host: string;
  /** The attempt number, starting at 1. */
  readonly attempt: number;
  /** The limit that was exceeded, in milliseconds. */
  readonly limit: number;
  /** The request of the attempt, when known. */
  readonly request?: Request;
  /**
   * Whether the attempt's request had started to be written to a connection when time ran out, as the
   * agent reports it (`@ky-resilience/agent`'s fetch tells the attempt when it writes the request):
   * - `false`: it had not. It waited for a slot, a name lookup or a connect, and did not reach the
   *   server: sending it again is safe whatever its method (the retry tier does so). `false` for a
   *   `ConnectTimeoutError`, unless a redirect's earlier request of the attempt had been sent.
   * - `true`: it had (a body-idle timeout always); the server may have received it.
   * - `undefined`: the fetch does not tell (not the agent), or the attempt had not reached the fetch.
   */
  readonly sent: boolean | undefined;

  constructor(phase: TimeoutPhase, init: ResilienceTimeoutErrorInit) {
    super(
      `${phaseLabels[phase]} within ${init.limit} ms (host ${init.host}, attempt ${init.attempt})${
        init.sent === false && phase !== 'connect' ? '; the request was not sent' : ''
      }`,
      'cause' in init && init.cause !== undefined ? { cause: init.cause } : undefined,
    );
    this.phase = phase;
    this.host = init.host;
    this.attempt = init.attempt;
    this.limit = init.limit;
    // A connect timeout proves nothing was written (unless a redirect's earlier request was); a body that
    // stalled had a response.
    this.sent = phase === 'connect' ? init.sent === true : phase === 'bodyIdle' ? true : init.sent;
    if (init.request !== undefined) {
      this.request = init.request;
    }
    Object.defineProperty(this, timeoutErrorBrand, { value: true });
  }
}

/** The whole call (attempts, backoff sleeps and hooks) outlived the `total` limit. Never retried. */
export class TotalTimeoutError extends ResilienceTimeoutError {
  override name: string = 'TotalTimeoutError';
  constructor(init: ResilienceTimeoutErrorInit) {
    super('total', init);
  }
}

/** One attempt outlived the `attempt` limit (queue time before the attempt is not counted). */
export class AttemptTimeoutError extends ResilienceTimeoutError {
  override name: string = 'AttemptTimeoutError';
  constructor(init: ResilienceTimeoutErrorInit) {
    super('attempt', init);
  }
}

/**
 * No connection was established within the agent's `connectTimeout`: the request was not sent (`sent:
 * false`), unless a redirect's earlier request of the attempt had been (`sent: true`).
 */
export class ConnectTimeoutError extends ResilienceTimeoutError {
  override name: string = 'ConnectTimeoutError';
  constructor(init: ResilienceTimeoutErrorInit) {
    super('connect', init);
  }
}

/** The response head did not arrive within the `headers` limit (time to first byte). */
export class HeadersTimeoutError extends ResilienceTimeoutError {
  override name: string = 'HeadersTimeoutError';
  constructor(init: ResilienceTimeoutErrorInit) {
    super('headers', init);
  }
}

/** The body stalled: no chunk arrived for `bodyIdle` ms (a slow but steady body never trips it). */
export class BodyIdleTimeoutError extends ResilienceTimeoutError {
  override name: string = 'BodyIdleTimeoutError';
  constructor(init: ResilienceTimeoutErrorInit) {
    super('bodyIdle', init);
  }
}

/** True for every timeout of this package, also one from another copy of it. */
export function isResilienceTimeoutError(error: unknown): error is ResilienceTimeoutError {
  return typeof error === 'object' && error !== null && timeoutErrorBrand in error;
}

function hasPhase(error: unknown, phase: TimeoutPhase): boolean {
  return isResilienceTimeoutError(error) && error.phase === phase;
}

/** True for a {@link TotalTimeoutError} (phase `total`), also one from another copy of this package. */
export function isTotalTimeoutError(error: unknown): error is TotalTimeoutError {
  return hasPhase(error, 'total');
}

/** True for an {@link AttemptTimeoutError} (phase `attempt`), also one from another copy of this package. */
export function isAttemptTimeoutError(error: unknown): error is AttemptTimeoutError {
  return hasPhase(error, 'attempt');
}

/** True for a {@link ConnectTimeoutError} (phase `connect`), also one from another copy of this package. */
export function isConnectTimeoutError(error: unknown): error is ConnectTimeoutError {
  return hasPhase(error, 'connect');
}

/** True for a {@link HeadersTimeoutError} (phase `headers`), also one from another copy of this package. */
export function isHeadersTimeoutError(error: unknown): error is HeadersTimeoutError {
  return hasPhase(error, 'headers');
}

/** True for a {@link BodyIdleTimeoutError} (phase `bodyIdle`), also one from another copy of this package. */
export function isBodyIdleTimeoutError(error: unknown): error is BodyIdleTimeoutError {
  return hasPhase(error, 'bodyIdle');
}

/**
 * An option of the timeout plugin is unknown or has a bad value. `option` names it
 * (`'attempt'`, `'timers'`, ... or the unknown key) and `value` holds what was given.
 */
export class TimeoutOptionsError extends Error {
  override name: string = 'TimeoutOptionsError';
  readonly code: 'ERR_KYR_TIMEOUT_OPTIONS' = 'ERR_KYR_TIMEOUT_OPTIONS';
  /** The option's name. */
  readonly option: string;
  /** The value that was refused. */
  readonly value: unknown;

  constructor(option: string, value: unknown, requirement: string) {
    super(`Invalid timeout option \`${option}\`: ${describe(value)}; ${requirement}`);
    this.option = option;
    this.value = value;
    Object.defineProperty(this, timeoutOptionsErrorBrand, { value: true });
  }
}

/** True for a {@link TimeoutOptionsError}, also one from another copy of this package. */
export function isTimeoutOptionsError(error: unknown): error is TimeoutOptionsError {
  return typeof error === 'object' && error !== null && timeoutOptionsErrorBrand in error;
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
