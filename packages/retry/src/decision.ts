/**
 * Why the retry layer did or did not retry a failure.
 *
 * - `retry`: the failure was retried.
 * - `status-not-retryable`: the status is not in `statusCodes` (400, 404, 501, 505...).
 * - `error-not-retryable`: not a retryable network error code or timeout phase (`ENOTFOUND`, a
 *   network error without a code, a total timeout, an error thrown by a hook...).
 * - `not-idempotent`: a POST/PATCH (or another non-idempotent method) without an idempotency key
 *   that may have reached the server.
 * - `stream-body`: the request body is a one-shot stream and cannot be sent again.
 * - `limit-reached`: `limit` retries were made already.
 * - `budget-exhausted`: the host's retry budget is spent (the call throws `RetryBudgetExhaustedError`).
 * - `retry-after-too-long`: the server asked for a delay over `maxRetryAfter` or past the total
 *   timeout (the call throws `RetryAfterTooLongError`).
 * - `total-timeout`: the next backoff delay would outlast the total timeout, or it ran out.
 * - `aborted`: the caller aborted.
 * - `after-response`: a network failure or a timeout after the attempt's response was handed to ky: a
 *   body the plugin did not buffer (`bufferBody: false`, a stream, a body over `maxBufferSize`) failed
 *   while the caller read it. ky does not retry a body read.
 * - `not-attempted`: the call failed before any attempt (a `beforeRequest` hook answered with an error
 *   status, or threw; a wrapper outside the plugin's fetch refused it, such as a closed client): there
 *   was nothing to retry, and nothing was sent.
 */
export type RetryDecisionReason =
  | 'retry'
  | 'status-not-retryable'
  | 'error-not-retryable'
  | 'not-idempotent'
  | 'stream-body'
  | 'limit-reached'
  | 'method-not-retried'
  | 'budget-exhausted'
  | 'retry-after-too-long'
  | 'total-timeout'
  | 'aborted'
  | 'after-response'
  | 'not-attempted';

/** The retry layer's verdict on one failure. */
export type RetryDecision = {
  /** True when the failure was retried. */
  readonly retry: boolean;
  /** Why. */
  readonly reason: RetryDecisionReason;
  /**
   * What failed: `'status 503'`, `'ECONNRESET'`, `'timeout:headers'`, `'aborted'`, `'forced'` (or
   * `'forced: <code>'`: a retry an `afterResponse` hook forced, given up at the limit) or `'other'`.
   */
  readonly failure: string;
  /** Attempts made when the decision was taken (1 after the first attempt). */
  readonly attempts: number;
};

const decisions = new WeakMap<object, RetryDecision>();

/**
 * Attaches the final decision to the error a call rejects with: as the enumerable property
 * `retryDecision` (visible when the error is logged) and in a side table read by
 * {@link getRetryDecision} (which also works for frozen errors).
 */
export function annotateError(error: unknown, decision: RetryDecision): void {
  if (typeof error !== 'object' || error === null) {
    return;
  }
  decisions.set(error, decision);
  try {
    Object.defineProperty(error, 'retryDecision', {
      value: decision,
      enumerable: true,
      configurable: true,
      writable: false,
    });
  } catch {
    // A frozen or exotic error keeps the side-table entry only.
  }
}

/**
 * The retry layer's verdict for an error a call rejected with, or `undefined` when the call did not
 * go through the retry plugin.
 *
 * @example
 * try { await api.post(url, { json }); } catch (error) {
 *   getRetryDecision(error); // { retry: false, reason: 'not-idempotent', failure: 'status 503', attempts: 1 }
 * }
 */
export function getRetryDecision(error: unknown): RetryDecision | undefined {
  if (typeof error !== 'object' || error === null) {
    return undefined;
  }
  return decisions.get(error);
}
