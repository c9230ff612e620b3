const kAgentError: unique symbol = Symbol.for('ky-resilience.agent.error');

/** Base class of every error the agent raises itself. */
export class AgentError extends Error {
  /** A stable machine-readable code. */
  readonly code: string;
  constructor(message: string, code: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'AgentError';
    this.code = code;
    Object.defineProperty(this, kAgentError, { value: true });
  }
}

/** True for any error raised by the agent itself. */
export function isAgentError(error: unknown): error is AgentError {
  return (
    typeof error === 'object' && error !== null && (error as Record<symbol, unknown>)[kAgentError] === true
  );
}

/** An option passed to `createAgent` is unknown or has a bad value. */
export class AgentOptionsError extends AgentError {
  /** The option's name, e.g. `limitPerHost`. */
  readonly option: string;
  /** The value that was refused. */
  readonly value: unknown;
  constructor(option: string, value: unknown, expected: string) {
    super(
      `Invalid agent option \`${option}\`: ${describe(value)} (expected ${expected})`,
      'ERR_KYR_AGENT_OPTIONS',
    );
    this.name = 'AgentOptionsError';
    this.option = option;
    this.value = value;
  }
}

export function isAgentOptionsError(error: unknown): error is AgentOptionsError {
  return isAgentError(error) && error.code === 'ERR_KYR_AGENT_OPTIONS';
}

/** The agent was closed (or destroyed): no new request was sent. */
export class AgentClosedError extends AgentError {
  constructor() {
    super('The agent is closed: the request was not sent', 'ERR_KYR_AGENT_CLOSED');
    this.name = 'AgentClosedError';
  }
}

export function isAgentClosedError(error: unknown): error is AgentClosedError {
  return isAgentError(error) && error.code === 'ERR_KYR_AGENT_CLOSED';
}

/**
 * The agent's wait queue was full (`maxQueue` requests already waiting for a connection): the request was
 * refused at once and never sent. A refusal on the client's side, like {@link AgentClosedError}: it says
 * nothing about the upstream's health.
 */
export class AgentQueueFullError extends AgentError {
  /** The origin of the refused request (`http://host:port`). */
  readonly origin: string;
  /** The bound that was reached: the agent's `maxQueue`. */
  readonly maxQueue: number;
  constructor(origin: string, maxQueue: number) {
    super(
      `The agent's wait queue is full (maxQueue ${maxQueue} reached): the request to ${origin} was not sent`,
      'ERR_KYR_AGENT_QUEUE_FULL',
    );
    this.name = 'AgentQueueFullError';
    this.origin = origin;
    this.maxQueue = maxQueue;
  }
}

export function isAgentQueueFullError(error: unknown): error is AgentQueueFullError {
  return isAgentError(error) && error.code === 'ERR_KYR_AGENT_QUEUE_FULL';
}

/**
 * No TCP (or TLS) connection was established within `connectTimeout` (DNS lookup included).
 * The request was never sent. `code` is undici's `UND_ERR_CONNECT_TIMEOUT` so that code-based
 * classifiers treat it like undici's own connect timeout.
 */
export class ConnectTimeoutError extends AgentError {
  readonly host: string;
  readonly timeout: number;
  /** The address being connected to when time ran out, when the lookup had finished. */
  readonly address: string | undefined;
  constructor(host: string, timeout: number, address: string | undefined) {
    super(
      `Connect timeout: no connection to ${host}${address ? ` (${address})` : ''} within ${timeout} ms`,
      'UND_ERR_CONNECT_TIMEOUT',
    );
    this.name = 'ConnectTimeoutError';
    this.host = host;
    this.timeout = timeout;
    this.address = address;
  }
}

export function isConnectTimeoutError(error: unknown): error is ConnectTimeoutError {
  return isAgentError(error) && error.code === 'UND_ERR_CONNECT_TIMEOUT';
}

/** The address guard refused every address the host resolved to. The request was never sent. */
export class BlockedAddressError extends AgentError {
  readonly host: string;
  readonly address: string;
  constructor(host: string, address: string, reason: string) {
    super(`Refused to connect to ${host} at ${address}: ${reason}`, 'ERR_KYR_BLOCKED_ADDRESS');
    this.name = 'BlockedAddressError';
    this.host = host;
    this.address = address;
  }
}

export function isBlockedAddressError(error: unknown): error is BlockedAddressError {
  return isAgentError(error) && error.code === 'ERR_KYR_BLOCKED_ADDRESS';
}

/**
 * The host name could not be resolved. `code` is the resolver's (`ENOTFOUND`, `EAI_AGAIN`, ...).
 * The request was never sent.
 */
export class DnsLookupError extends AgentError {
  readonly host: string;
  /** True when this answer came from the negative cache rather than a fresh lookup. */
  readonly cached: boolean;
  constructor(host: string, code: string, cached: boolean, cause: unknown) {
    super(`DNS lookup of ${host} failed (${code})${cached ? ' [cached]' : ''}`, code, { cause });
    this.name = 'DnsLookupError';
    this.host = host;
    this.cached = cached;
  }
}

export function isDnsLookupError(error: unknown): error is DnsLookupError {
  return isAgentError(error) && error.name === 'DnsLookupError';
}

export function describe(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'number' || typeof value === 'boolean' || value === undefined || value === null) {
    return String(value);
  }
  if (typeof value === 'function') return 'a function';
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return Object.prototype.toString.call(value);
  }
}
