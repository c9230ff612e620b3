import { setTimeout as sleep } from 'node:timers/promises';
import { describeError } from './describe-error.ts';
import type { ClientRecorder } from './recorder.ts';

export type WorkloadOptions = {
  /** Calls started per second, whatever happens to earlier calls (an open workload, like user traffic). */
  ratePerSec: number;
  /** Calls start from 0 until this moment of the run (ms); calls in flight then finish. */
  untilMs: number;
  /** At most this many calls in flight; an arrival beyond it fails at once as `client overloaded`. */
  maxInFlight: number;
  /** Sends one call (GET of `path`) and reads its body; rejects on failure. */
  call: (path: string) => Promise<void>;
  recorder: ClientRecorder;
};

/**
 * Starts `ratePerSec` calls a second, on a fixed schedule (the n-th call at n / rate s), for
 * `untilMs`; waits for the last one. Every call's outcome goes to the recorder. The number of
 * calls is fixed by the rate and the duration: the same for every client.
 */
export async function runWorkload(options: WorkloadOptions): Promise<void> {
  const { recorder } = options;
  const intervalMs = 1000 / options.ratePerSec;
  const total = Math.floor(options.untilMs / intervalMs);
  const running = new Set<Promise<void>>();
  const start = async (n: number): Promise<void> => {
    const startMs = recorder.now();
    if (running.size >= options.maxInFlight) {
      recorder.call({ startMs, endMs: startMs, ok: false, error: 'client overloaded (not sent)' });
      return;
    }
    const call = (async () => {
      try {
        await options.call(`/orders/${n}`);
        recorder.call({ startMs, endMs: recorder.now(), ok: true });
      } catch (error) {
        recorder.call({ startMs, endMs: recorder.now(), ok: false, error: describeError(error) });
      }
    })();
    running.add(call);
    void call.finally(() => running.delete(call));
  };
  for (let n = 0; n < total; n++) {
    const wait = n * intervalMs - recorder.now();
    if (wait > 0) await sleep(wait);
    await start(n);
  }
  await Promise.all(running);
}
