import type { KyInstance } from 'ky';
import { classify, type FetchOutcome } from './outcome.ts';

export type FetchAllOptions = {
  /** Called after each URL settles, with the counts so far. */
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
    options.onProgress?.({ done, failed, total: urls.length });
    return outcome;
  };
  return Promise.all(
    urls.map(async (url): Promise<FetchOutcome<T>> => {
      try {
        const value = await client
          .get(url, options.signal === undefined ? {} : { signal: options.signal })
          .json<T>();
        return settle({ url, ok: true, value });
      } catch (error) {
        return settle({ url, ok: false, error: classify(error) });
      }
    }),
  );
}
