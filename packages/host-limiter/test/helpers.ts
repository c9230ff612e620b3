import type { Timers } from '../src/index.ts';

/** A manual clock and timers: nothing fires until `advance()`. Records the delays asked for. */
export type ManualTime = {
  clock: () => number;
  timers: Timers;
  /** Delays asked for, in order. */
  asked: number[];
  /** Timers started and neither fired nor cleared. */
  readonly pending: number;
  /** Handles unref'd when started. */
  readonly unrefd: number;
  /** Moves the clock forward and runs the timers that are due, in order. */
  advance(ms: number): void;
};

type Task = { at: number; seq: number; fn: () => void };

export function manualTime(start = 1_000_000): ManualTime {
  let now = start;
  let seq = 0;
  let unrefd = 0;
  const tasks = new Map<object, Task>();
  const asked: number[] = [];
  const timers: Timers = {
    setTimeout(fn, ms) {
      asked.push(ms);
      const handle = {
        unref() {
          unrefd += 1;
          return handle;
        },
      };
      seq += 1;
      tasks.set(handle, { at: now + ms, seq, fn });
      return handle;
    },
    clearTimeout(handle) {
      tasks.delete(handle as object);
    },
  };
  return {
    clock: () => now,
    timers,
    asked,
    get pending() {
      return tasks.size;
    },
    get unrefd() {
      return unrefd;
    },
    advance(ms) {
      const end = now + ms;
      for (;;) {
        let next: [object, Task] | undefined;
        for (const item of tasks) {
          if (item[1].at > end) continue;
          if (
            next === undefined ||
            item[1].at < next[1].at ||
            (item[1].at === next[1].at && item[1].seq < next[1].seq)
          ) {
            next = item;
          }
        }
        if (next === undefined) break;
        tasks.delete(next[0]);
        now = Math.max(now, next[1].at);
        next[1].fn();
      }
      now = end;
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

/** Polls `condition` every 5 ms, at most `tries` times. */
export async function until(condition: () => boolean, tries = 600): Promise<void> {
  for (let i = 0; i < tries; i += 1) {
    if (condition()) return;
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  throw new Error('condition not met in time');
}

/** Lets pending promise callbacks and I/O callbacks run. */
export function tick(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/** Closes `resource` when the test `t` ends (Node 22 has no `await using`). */
export function closeAfter<T extends { close(): Promise<unknown> }>(
  t: { after(fn: () => Promise<unknown>): void },
  resource: T,
): T {
  t.after(() => resource.close());
  return resource;
}
