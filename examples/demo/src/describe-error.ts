import { isHTTPError, isNetworkError } from 'ky';

/** A short label for what a failed call rejected with, for the error breakdown. */
export function describeError(error: unknown): string {
  if (isHTTPError(error)) return `HTTP ${error.response.status}`;
  if (isNetworkError(error)) return 'network error';
  if (error instanceof Error) {
    const code = (error as { code?: unknown }).code;
    if (error.name === 'CircuitOpenError') return 'circuit open (not sent)';
    if (error.name === 'RetryBudgetExhaustedError') return 'retry budget exhausted';
    if (error.name === 'QueueTimeoutError' || error.name === 'QueueFullError')
      return 'host queue rejected (not sent)';
    if (typeof code === 'string') return `${error.name} ${code}`;
    return error.name;
  }
  return String(error);
}
