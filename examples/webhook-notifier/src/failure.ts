import { isBlockedAddressError } from '@ky-resilience/agent';
import { isHTTPError } from 'ky';

/** Walks an error's `cause` chain (and AggregateErrors) looking for one that matches. */
export function findCause(error: unknown, match: (e: unknown) => boolean): unknown {
  const seen = new Set<unknown>();
  const queue: unknown[] = [error];
  while (queue.length > 0) {
    const e = queue.shift();
    if (e === undefined || e === null || seen.has(e)) continue;
    seen.add(e);
    if (match(e)) return e;
    if (typeof e === 'object') {
      queue.push((e as { cause?: unknown }).cause);
      if (e instanceof AggregateError) queue.push(...e.errors);
    }
  }
  return undefined;
}

/** A one-line reason for a failed delivery, for the log. */
export function failureReason(error: unknown): string {
  const blocked = findCause(error, isBlockedAddressError);
  if (blocked !== undefined) return `refused by the SSRF guard (${(blocked as Error).message})`;
  if (isHTTPError(error)) return `HTTP ${error.response.status}`;
  const named = findCause(
    error,
    (e) => e instanceof Error && (e.name === 'CircuitOpenError' || e.name === 'RetryBudgetExhaustedError'),
  );
  if (named !== undefined) return `${(named as Error).name}: ${(named as Error).message}`;
  const coded = findCause(error, (e) => typeof (e as { code?: unknown } | null)?.code === 'string');
  if (coded !== undefined) return `${(coded as { code: string }).code}: ${(coded as Error).message}`;
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}
