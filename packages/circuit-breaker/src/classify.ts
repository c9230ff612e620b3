import { isResilienceTimeoutError } from '@ky-resilience/timeout';
import type { CallOutcome } from './options.ts';

/**
 * True for the statuses that count as failures by default: 429 and every 5xx but 501
 * (Not Implemented says nothing about the host's health: it is an answer for that request).
 */
export function isFailureStatus(status: number): boolean {
  return status === 429 || (status >= 500 && status <= 599 && status !== 501);
}

/**
 * Error codes raised on the client's side (a blocked address, a closed agent, the agent's full wait
 * queue, bad options, another breaker's rejection): they say nothing about the host and never count.
 */
export const clientSideErrorCodes: readonly string[] = Object.freeze([
  'ERR_KYR_BLOCKED_ADDRESS',
  'ERR_KYR_AGENT_CLOSED',
  'ERR_KYR_AGENT_QUEUE_FULL',
  'ERR_KYR_AGENT_OPTIONS',
  'ERR_KYR_CIRCUIT_OPEN',
  'ERR_KYR_CIRCUIT_BREAKER_OPTIONS',
  'ERR_KYR_TIMEOUT_OPTIONS',
  'UND_ERR_ABORTED',
]);

/** System error codes (`ECONNREFUSED`, `EAI_AGAIN`...) and undici's (`UND_ERR_SOCKET`...), not Node's `ERR_*`. */
function isNetworkCode(code: string): boolean {
  return code.startsWith('UND_ERR_') || (/^E[A-Z0-9_]+$/.test(code) && !code.startsWith('ERR_'));
}

/** undici's network failures (`fetch failed`, and `terminated`: a connection lost once the exchange had begun). */
const networkMessages: ReadonlySet<string> = new Set(['fetch failed', 'terminated']);

const MAX_CAUSE_DEPTH = 8;

/**
 * True for the errors that count as failures by default: an attempt, headers or connect timeout
 * of `@ky-resilience/timeout`; a network error (undici's `TypeError('fetch failed')` or
 * `'terminated'`, or a system or undici error code in the `cause` chain: ECONNREFUSED,
 * ECONNRESET, ENOTFOUND, UND_ERR_CONNECT_TIMEOUT...), unless a code of
 * {@link clientSideErrorCodes} is in the chain.
 * A total timeout (the caller's budget ran out), a body-idle timeout and errors without a code
 * (a bug in a hook, a bad URL) do not count.
 */
export function isFailureError(error: unknown): boolean {
  let network = false;
  let current: unknown = error;
  for (let depth = 0; depth <= MAX_CAUSE_DEPTH; depth += 1) {
    if (typeof current !== 'object' || current === null) break;
    if (isResilienceTimeoutError(current)) {
      return current.phase === 'attempt' || current.phase === 'headers' || current.phase === 'connect';
    }
    const record = current as { code?: unknown; cause?: unknown; message?: unknown; name?: unknown };
    if (typeof record.code === 'string' && record.code !== '') {
      if (clientSideErrorCodes.includes(record.code)) return false;
      if (isNetworkCode(record.code)) network = true;
    }
    if (
      record.name === 'TypeError' &&
      typeof record.message === 'string' &&
      networkMessages.has(record.message)
    ) {
      network = true;
    }
    current = record.cause;
  }
  return network;
}

/**
 * The default failure classification: a response fails when {@link isFailureStatus} says so, an
 * error when {@link isFailureError} does. (Caller aborts are filtered out before this is called.)
 */
export function defaultIsFailure(outcome: CallOutcome): boolean {
  return outcome.type === 'response'
    ? isFailureStatus(outcome.response.status)
    : isFailureError(outcome.error);
}
