import { type CircuitBreakerOptions, circuitBreakerPlugin, type StateChangeEvent } from '../src/index.ts';

/** A hand-driven clock in epoch milliseconds. */
export type FakeClock = { now: number; clock: () => number; advance(ms: number): void };

export function fakeClock(start = 1_700_000_000_000): FakeClock {
  const state: FakeClock = {
    now: start,
    clock: () => state.now,
    advance(ms: number) {
      state.now += ms;
    },
  };
  return state;
}

/** Records state changes as `from>to:reason` strings and keeps the events. */
export function recordChanges(): {
  events: StateChangeEvent[];
  list: string[];
  listener: (e: StateChangeEvent) => void;
} {
  const events: StateChangeEvent[] = [];
  const list: string[] = [];
  return {
    events,
    list,
    listener(event) {
      events.push(event);
      list.push(`${event.from}>${event.to}:${event.reason}`);
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

/**
 * Breakers on a fake clock whose state changes are recorded: `options` without `clock` and
 * `onStateChange`, which this sets.
 */
export function observedBreakers(options: Omit<CircuitBreakerOptions, 'clock' | 'onStateChange'>): {
  time: FakeClock;
  changes: ReturnType<typeof recordChanges>;
  breakers: ReturnType<typeof circuitBreakerPlugin>;
} {
  const time = fakeClock();
  const changes = recordChanges();
  const breakers = circuitBreakerPlugin({ ...options, clock: time.clock, onStateChange: changes.listener });
  return { time, changes, breakers };
}
