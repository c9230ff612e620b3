import { isQueueFullError, isQueueTimeoutError } from '@ky-resilience/host-limiter';
import { isRetryBudgetExhaustedError } from '@ky-resilience/retry';
import { isResilienceTimeoutError, type TimeoutPhase } from '@ky-resilience/timeout';
import { isHTTPError, isNetworkError } from 'ky';

/** Why one URL failed, as a discriminated union: switch on `kind`. `cause` is what the call rejected with. */
export type FetchFailure =
  | { kind: 'http'; status: number; cause: unknown }
  | { kind: 'timeout'; phase: TimeoutPhase; cause: unknown }
  | { kind: 'network'; code: string | undefined; cause: unknown }
  | { kind: 'circuit-open'; cause: unknown }
  | { kind: 'queue'; reason: 'queue-full' | 'queue-timeout'; cause: unknown }
  /** A retryable failure, but the host's retry budget was spent: `last` is that failure. */
  | { kind: 'retry-budget'; last: FetchFailure; cause: unknown }
  | { kind: 'other'; cause: unknown };

/** One URL's outcome, as `asyncio.gather(..., return_exceptions=True)` gives it, but typed. */
export type FetchOutcome<T> =
  | { url: string; ok: true; value: T }
  | { url: string; ok: false; error: FetchFailure };

function codeOf(error: unknown): string | undefined {
  for (let e = error, depth = 0; e !== null && typeof e === 'object' && depth < 8; depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string') return code;
    e = (e as { cause?: unknown }).cause;
  }
  return undefined;
}

/** Sorts a call's rejection into a {@link FetchFailure}. */
export function classify(error: unknown): FetchFailure {
  if (isHTTPError(error)) return { kind: 'http', status: error.response.status, cause: error };
  if (isRetryBudgetExhaustedError(error))
    return { kind: 'retry-budget', last: classify(error.cause), cause: error };
  if (isResilienceTimeoutError(error)) return { kind: 'timeout', phase: error.phase, cause: error };
  if (isQueueFullError(error)) return { kind: 'queue', reason: 'queue-full', cause: error };
  if (isQueueTimeoutError(error)) return { kind: 'queue', reason: 'queue-timeout', cause: error };
  if (error instanceof Error && error.name === 'CircuitOpenError')
    return { kind: 'circuit-open', cause: error };
  if (isNetworkError(error)) return { kind: 'network', code: codeOf(error), cause: error };
  return { kind: 'other', cause: error };
}

/** A short label of a failure: `http 404`, `timeout attempt`, `network ECONNREFUSED`... */
export function describeFailure(failure: FetchFailure): string {
  switch (failure.kind) {
    case 'http':
      return `http ${failure.status}`;
    case 'timeout':
      return `timeout ${failure.phase}`;
    case 'network':
      return `network ${failure.code ?? 'error'}`;
    case 'queue':
      return failure.reason;
    case 'retry-budget':
      return `retry budget spent after ${describeFailure(failure.last)}`;
    default:
      return failure.kind;
  }
}
