import type { KyInstance } from 'ky';
import { classify, type FetchOutcome } from './outcome.ts';

export type FetchAllOptions = {
  /**
   * Called after each URL settles, with the counts so far. An exception it throws is caught and
   * ignored: it changes no outcome and no count, and `fetchAll` still resolves.
   */
  onProgress?: (progress: { done: number; failed: number; total: number }) => void;
  /** Aborts every call still pending (they settle as failures). */
  signal?: AbortSignal;
};

/**
 * The seed's `fetch_all`: starts every URL at once and lets the client's per-host limiter and
 * connection pool decide how many run per host. Never rejects: each URL gets its outcome, in
 * the order of `urls`, like `asyncio.gather(*tasks, return_exceptions=True)`, but with the
 * failure typed (HTTP status, timeout phase, network code, open circuit, full queue).
 */
export async function fetchAll<T = unknown>(
  client: KyInstance,
  urls: readonly string[],
  options: FetchAllOptions = {},
): Promise<Array<FetchOutcome<T>>> {
  let done = 0;
  let failed = 0;
  const settle = <O extends FetchOutcome<T>>(outcome: O): O => {
    done++;
    if (!outcome.ok) failed++;
    try {
      options.onProgress?.({ done, failed, total: urls.length });
    } catch {
      // A progress display must not turn a settled URL into a failure, nor reject the whole.
    }
    return outcome;
  };
  return Promise.all(
    urls.map(async (url): Promise<FetchOutcome<T>> => {
      let outcome: FetchOutcome<T>;
      try {
        const value = await client
          .get(url, options.signal === undefined ? {} : { signal: options.signal })
          .json<T>();
        outcome = { url, ok: true, value };
      } catch (error) {
        outcome = { url, ok: false, error: classify(error) };
      }
      // Settled once, outside the try: nothing settle does can be caught as the URL's failure.
      return settle(outcome);
    }),
  );
}
