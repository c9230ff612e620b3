import { isResilienceTimeoutError, type TimeoutPhase } from '@ky-resilience/timeout';
import { isForceRetryError, isHTTPError, isTimeoutError } from 'ky';

/** What went wrong in one attempt, as the retry decision sees it. */
export type Failure =
  /** The server answered with an error status (ky's `HTTPError`). */
  | { readonly kind: 'status'; readonly status: number; readonly headers: Headers }
  /**
   * A network error with a system or undici code somewhere in its `cause` chain. `sent`: an error of the
   * chain carries the agent's request-sent mark (a request of the call had reached a server: a redirect).
   */
  | { readonly kind: 'network'; readonly code: string; readonly sent?: true }
  /**
   * A timeout: one of `@ky-resilience/timeout`'s phases, or ky's own per-attempt `timeout` (`'attempt'`).
   * `notSent`: nothing of the attempt was written: a connect timeout (unless its `sent` is `true`: a
   * redirect's earlier request was), or another phase whose `sent` is `false`.
   */
  | { readonly kind: 'timeout'; readonly phase: TimeoutPhase; readonly notSent?: boolean }
  /** The caller aborted the call. */
  | { readonly kind: 'aborted' }
  /** ky gave up a retry an `afterResponse` hook forced (`ky.retry()`): its retry limit was reached. */
  | { readonly kind: 'forced'; readonly code?: string }
  /** Anything else: a network error without a code, a bug in a hook, a parse error... */
  | { readonly kind: 'other' };

/**
 * The network error codes retried by default (for idempotent requests): resets, refusals, broken
 * pipes, OS-level timeouts, temporary DNS failures, unreachable networks, and undici's socket and
 * connect-timeout errors. `ENOTFOUND` is not among them: a name that does not resolve will not
 * resolve a few hundred milliseconds later.
 */
export const defaultRetryErrorCodes: readonly string[] = Object.freeze([
  'ECONNRESET',
  'ECONNREFUSED',
  'ECONNABORTED',
  'EPIPE',
  'ETIMEDOUT',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENETDOWN',
  'UND_ERR_SOCKET',
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_BODY_TIMEOUT',
]);

/**
 * Codes that prove the request never left the client: the connection was refused or never
 * established, the name was not resolved, or the agent's wait queue was full. A POST failing this
 * way is safe to retry (when its code is retried: the agent's queue-full refusal is not by default).
 */
export const notSentErrorCodes: readonly string[] = Object.freeze([
  'ECONNREFUSED',
  'UND_ERR_CONNECT_TIMEOUT',
  'EAI_AGAIN',
  'ENOTFOUND',
  'ERR_KYR_AGENT_QUEUE_FULL',
]);

const MAX_CAUSE_DEPTH = 8;

/**
 * Classifies one attempt's error. `aborted` tells whether the caller's own signal has fired; a
 * caller's abort is never mistaken for a timeout or a network failure.
 */
export function classifyFailure(error: unknown, aborted: boolean, kyTimeoutIsTotal = false): Failure {
  if (aborted) {
    return { kind: 'aborted' };
  }
  if (isHTTPError(error)) {
    return { kind: 'status', status: error.response.status, headers: error.response.headers };
  }
  if (isForceRetryError(error)) {
    return error.code === undefined || error.code === ''
      ? { kind: 'forced' }
      : { kind: 'forced', code: error.code };
  }
  return classifyChain(error, 0, kyTimeoutIsTotal, false) ?? { kind: 'other' };
}

/** The agent's request-sent mark (see `@ky-resilience/agent`), known by name. */
const requestSentKey: symbol = Symbol.for('@ky-resilience/request-sent@1');

function classifyChain(
  error: unknown,
  depth: number,
  kyTimeoutIsTotal: boolean,
  markedSent: boolean,
): Failure | undefined {
  if (depth > MAX_CAUSE_DEPTH || typeof error !== 'object' || error === null) {
    return undefined;
  }
  if (isResilienceTimeoutError(error)) {
    // `sent` is read as a plain field: an older copy of the timeout package does not set it.
    const sent = (error as { sent?: unknown }).sent;
    const notSent = error.phase === 'connect' ? sent !== true && !markedSent : sent === false;
    return notSent
      ? { kind: 'timeout', phase: error.phase, notSent: true }
      : { kind: 'timeout', phase: error.phase };
  }
  // ky's TimeoutError (a name check, as ky's own guard does): its per-attempt `timeout` fired, or its
  // `totalTimeout` when ky's timeout is off or was longer than what was left of the total.
  if (isTimeoutError(error)) {
    return { kind: 'timeout', phase: kyTimeoutIsTotal ? 'total' : 'attempt' };
  }
  const record = error as { code?: unknown; cause?: unknown; errors?: unknown };
  const sent = markedSent || (record as Record<symbol, unknown>)[requestSentKey] === true;
  if (typeof record.code === 'string' && record.code !== '') {
    return sent ? { kind: 'network', code: record.code, sent: true } : { kind: 'network', code: record.code };
  }
  const fromCause = classifyChain(record.cause, depth + 1, kyTimeoutIsTotal, sent);
  if (fromCause !== undefined) {
    return fromCause;
  }
  // Happy-eyeballs connects fail with an AggregateError of one error per address.
  if (Array.isArray(record.errors)) {
    for (const inner of record.errors) {
      const failure = classifyChain(inner, depth + 1, kyTimeoutIsTotal, sent);
      if (failure !== undefined) {
        return failure;
      }
    }
  }
  return undefined;
}

/** A short label of a failure for events and messages: `'status 503'`, `'ECONNRESET'`, `'timeout:headers'`. */
export function failureLabel(failure: Failure): string {
  switch (failure.kind) {
    case 'status':
      return `status ${failure.status}`;
    case 'network':
      return failure.code;
    case 'timeout':
      return `timeout:${failure.phase}`;
    case 'aborted':
      return 'aborted';
    case 'forced':
      return failure.code === undefined ? 'forced' : `forced: ${failure.code}`;
    case 'other':
      return 'other';
  }
}

/**
 * True when the failure proves the request was never sent: refused, connect timeout, DNS, or a timeout that
 * fired before the agent started writing the request (still waiting for a slot, a lookup or a connect). Not
 * after a redirect: the agent marks its error, and the timeout tier its timeouts, when a request of the
 * call had reached a server.
 */
export function failedBeforeSending(failure: Failure): boolean {
  if (failure.kind === 'network') {
    return failure.sent !== true && notSentErrorCodes.includes(failure.code);
  }
  return failure.kind === 'timeout' && failure.notSent === true;
}
