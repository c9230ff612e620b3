const optionsErrorBrand: symbol = Symbol.for('ky-resilience.ClientOptionsError');
const closedErrorBrand: symbol = Symbol.for('ky-resilience.ClientClosedError');
const closeTimeoutErrorBrand: symbol = Symbol.for('ky-resilience.ClientCloseTimeoutError');

/**
 * An option of `createClient()` (or a per-request override in `context`) is unknown, has a bad
 * value, contradicts another tier's option, or configures a tier that is switched off. `option`
 * is the option's path (`'timeout.attempt'`, `'circuitBreaker.policy.windowMs'`,
 * `"context['@ky-resilience/retry']"`) and `value` what was given. When a plugin refused the
 * value, its own error (`TimeoutOptionsError`, `RetryOptionsError`...) is the `cause`.
 */
export class ClientOptionsError extends TypeError {
  override name: string = 'ClientOptionsError';
  /** A stable machine-readable code. */
  readonly code: 'ERR_KYR_CLIENT_OPTIONS' = 'ERR_KYR_CLIENT_OPTIONS';
  /** The option's path. */
  readonly option: string;
  /** The value that was refused. */
  readonly value: unknown;

  constructor(option: string, value: unknown, problem: string, options?: { cause?: unknown }) {
    super(`Invalid ky-resilience option \`${option}\`: ${describe(value)}; ${problem}`, options);
    this.option = option;
    this.value = value;
    Object.defineProperty(this, optionsErrorBrand, { value: true });
  }
}

/** True for a {@link ClientOptionsError}, also one from another copy of the package. */
export function isClientOptionsError(error: unknown): error is ClientOptionsError {
  return typeof error === 'object' && error !== null && optionsErrorBrand in error;
}

/**
 * A call (or a further attempt of a call) was made through a client after `close()`. Nothing
 * was sent. `code` is `ERR_KYR_CLIENT_CLOSED`; the retry plugin does not retry it.
 */
export class ClientClosedError extends Error {
  override name: string = 'ClientClosedError';
  /** A stable machine-readable code. */
  readonly code: 'ERR_KYR_CLIENT_CLOSED' = 'ERR_KYR_CLIENT_CLOSED';
  /** The client's name. */
  readonly client: string;

  constructor(client: string) {
    super(`The ky-resilience client ${client} is closed: the request was not sent`);
    this.client = client;
    Object.defineProperty(this, closedErrorBrand, { value: true });
  }
}

/** True for a {@link ClientClosedError}, also one from another copy of the package. */
export function isClientClosedError(error: unknown): error is ClientClosedError {
  return typeof error === 'object' && error !== null && closedErrorBrand in error;
}

/**
 * `close({ timeout })` ran out of time with attempts still in flight on an agent the client does
 * not own (a shared agent, or `agent: false`), which it cannot stop. The client is closed (it
 * takes no new call nor attempt); the attempts go on until they end or their agent is destroyed.
 */
export class ClientCloseTimeoutError extends Error {
  override name: string = 'ClientCloseTimeoutError';
  /** A stable machine-readable code. */
  readonly code: 'ERR_KYR_CLIENT_CLOSE_TIMEOUT' = 'ERR_KYR_CLIENT_CLOSE_TIMEOUT';
  /** The client's name. */
  readonly client: string;
  /** The attempts still in flight when the timeout fired. */
  readonly inFlight: number;
  /** The `timeout` given to `close()`, in ms. */
  readonly timeout: number;

  constructor(client: string, inFlight: number, timeout: number) {
    super(
      `The ky-resilience client ${client} closed, but ${inFlight} attempt(s) were still in flight after ${timeout} ms on an agent it does not own`,
    );
    this.client = client;
    this.inFlight = inFlight;
    this.timeout = timeout;
    Object.defineProperty(this, closeTimeoutErrorBrand, { value: true });
  }
}

/** True for a {@link ClientCloseTimeoutError}, also one from another copy of the package. */
export function isClientCloseTimeoutError(error: unknown): error is ClientCloseTimeoutError {
  return typeof error === 'object' && error !== null && closeTimeoutErrorBrand in error;
}

/** A short, safe rendering of a refused value for an error message. */
export function describe(value: unknown): string {
  if (typeof value === 'function') return 'a function';
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'bigint') return `${value}n`;
  if (typeof value === 'symbol') return value.toString();
  if (typeof value === 'number' && Object.is(value, -0)) return '-0';
  if (typeof value === 'object' && value !== null) {
    try {
      const text = JSON.stringify(value);
      if (text !== undefined) return text.length > 200 ? `${text.slice(0, 200)}...` : text;
    } catch {
      // fall through: circular or otherwise unserialisable
    }
    return Object.prototype.toString.call(value);
  }
  return String(value);
}
