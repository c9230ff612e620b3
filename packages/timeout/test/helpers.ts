import type { Timers } from '../src/index.ts';

/** Real timers that record every delay asked for and count the timers still pending. */
export type RecordingTimers = {
  timers: Timers;
  /** Delays asked for, in order. */
  asked: number[];
  /** Timers started and neither fired nor cleared. */
  readonly pending: number;
  /** Timers whose handles were unref'd when started. */
  readonly unrefd: number;
};

export function recordingTimers(): RecordingTimers {
  const pending = new Set<NodeJS.Timeout>();
  const asked: number[] = [];
  let unrefd = 0;
  const timers: Timers = {
    setTimeout(callback, ms) {
      asked.push(ms);
      const handle = setTimeout(() => {
        pending.delete(handle);
        callback();
      }, ms);
      pending.add(handle);
      const unref = handle.unref.bind(handle);
      handle.unref = () => {
        unrefd += 1;
        return unref();
      };
      return handle;
    },
    clearTimeout(handle) {
      pending.delete(handle as NodeJS.Timeout);
      clearTimeout(handle as NodeJS.Timeout);
    },
  };
  return {
    timers,
    asked,
    get pending() {
      return pending.size;
    },
    get unrefd() {
      return unrefd;
    },
  };
}

/** The error a promise rejects with; fails when it fulfils. */
export async function rejection(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error('expected a rejection');
}

/** Resolves after `ms` (an unref'd timer). */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}

/** Polls `condition` every 5 ms, at most `tries` times. */
export async function until(condition: () => boolean, tries = 400): Promise<void> {
  for (let i = 0; i < tries; i += 1) {
    if (condition()) return;
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  throw new Error('condition not met in time');
}

/** Closes `resource` when the test `t` ends (Node 22 has no `await using`). */
export function closeAfter<T extends { close(): Promise<unknown> }>(
  t: { after(fn: () => Promise<unknown>): void },
  resource: T,
): T {
  t.after(() => resource.close());
  return resource;
}
