import { performance } from 'node:perf_hooks';

/** Outcome of one closed-loop load run. */
export type LoadResult = {
  requests: number;
  concurrency: number;
  /** Wall time from the first request sent to the last response body read. */
  ms: number;
  /** CPU time (user + system) this process spent during the run, in microseconds. */
  cpuMicros: number;
  errors: number;
  /** The first failure, as text, if any. */
  firstError?: string;
};

function describe(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const cause = (error as { cause?: unknown }).cause;
  return cause === undefined
    ? `${error.name}: ${error.message}`
    : `${error.name}: ${error.message} (cause: ${describe(cause)})`;
}

/**
 * Sends `requests` requests with `concurrency` of them in flight at all times (a closed loop: each lane sends
 * its next request when the previous one, body included, is done).
 *
 * @example await runLoad(() => fetch(url).then((r) => r.text()), 5000, 64)
 */
export async function runLoad(
  send: () => Promise<unknown>,
  requests: number,
  concurrency: number,
): Promise<LoadResult> {
  let started = 0;
  let errors = 0;
  let firstError: string | undefined;
  const lane = async (): Promise<void> => {
    while (started < requests) {
      started += 1;
      try {
        await send();
      } catch (error) {
        errors += 1;
        firstError ??= describe(error);
      }
    }
  };
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  await Promise.all(Array.from({ length: Math.min(concurrency, requests) }, lane));
  const ms = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  const result: LoadResult = { requests, concurrency, ms, cpuMicros: cpu.user + cpu.system, errors };
  if (firstError !== undefined) result.firstError = firstError;
  return result;
}
