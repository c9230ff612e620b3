import { type Failure, failedBeforeSending } from './classify.ts';
import type { RetryDecisionReason } from './decision.ts';

/**
 * True for a request body that can be read only once: a `ReadableStream` (ky sends it with
 * `duplex: 'half'`) or any other async iterable (a Node `Readable`, an async generator).
 */
export function isOneShotBody(body: unknown): boolean {
  if (typeof body !== 'object' || body === null) {
    return false;
  }
  if (typeof ReadableStream !== 'undefined' && body instanceof ReadableStream) {
    return true;
  }
  return Symbol.asyncIterator in body;
}

/** What the safety check needs to know about a call. */
export type SafetyFacts = {
  /** The request method, upper-case. */
  readonly method: string;
  /** Methods retried after any retryable failure, upper-case. */
  readonly idempotentMethods: readonly string[];
  /** True when the request carries an idempotency key. */
  readonly hasIdempotencyKey: boolean;
  /** True when the request body is a one-shot stream. */
  readonly oneShotBody: boolean;
};

/**
 * Whether a retryable failure may be retried without risking a duplicate side effect; returns the
 * reason it may not, or `undefined`.
 *
 * - A one-shot stream body can never be sent again.
 * - Idempotent methods (GET, HEAD, OPTIONS, TRACE, PUT, DELETE, QUERY by default) are always safe.
 * - Other methods (POST, PATCH) are safe with an idempotency key, or when the failure proves the
 *   request never left the client (connection refused, connect timeout, DNS failure, a timeout the
 *   timeout tier reports with `sent: false`), and no earlier request of the call (a redirect's)
 *   reached a server.
 */
export function safetyVerdict(failure: Failure, facts: SafetyFacts): RetryDecisionReason | undefined {
  if (facts.oneShotBody) {
    return 'stream-body';
  }
  if (
    facts.idempotentMethods.includes(facts.method) ||
    facts.hasIdempotencyKey ||
    failedBeforeSending(failure)
  ) {
    return undefined;
  }
  return 'not-idempotent';
}
