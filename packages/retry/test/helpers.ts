import { setTimeout as sleep } from 'node:timers/promises';
import ky, { type KyInstance, type Options } from 'ky';
import type { GiveUpEvent, RetryEvent, RetryOptions } from '../src/index.ts';
import { retryPlugin } from '../src/index.ts';

/** What the plugin reported: every scheduled retry and every give-up. */
export type Recorder = { retries: RetryEvent[]; giveUps: GiveUpEvent[] };

/**
 * A ky instance with the retry plugin, recording its events. Backoff defaults to 'none' with a
 * 1 ms base (delays are asserted from the events, never from the wall clock) and no budget.
 */
export function retrying(
  options: RetryOptions = {},
  base: Options = {},
): { api: KyInstance; events: Recorder } {
  const events: Recorder = { retries: [], giveUps: [] };
  const plugin = retryPlugin({
    backoff: { strategy: 'none', base: 1 },
    budget: false,
    ...options,
    onRetry: (event) => {
      events.retries.push(event);
      options.onRetry?.(event);
    },
    onGiveUp: (event) => {
      events.giveUps.push(event);
      options.onGiveUp?.(event);
    },
  });
  return { api: ky.create({ timeout: 5_000, ...base }).extend(plugin), events };
}

/** The error a promise rejects with; fails the test when it resolves. */
export async function rejection(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error('expected the call to fail');
}

/** Active ref'd `Timeout` handles right now (Node leaves unref'd timers out of this list). */
export function activeTimers(): number {
  return process.getActiveResourcesInfo().filter((name) => name === 'Timeout').length;
}

/** Polls `condition` every 5 ms, at most 400 times. */
export async function until(condition: () => boolean): Promise<void> {
  for (let i = 0; i < 400; i += 1) {
    if (condition()) return;
    await sleep(5);
  }
  throw new Error('condition not met in time');
}

export function fakeClock(start = 1_000): { now: () => number; advance: (ms: number) => void } {
  let t = start;
  return {
    now: () => t,
    advance: (ms) => {
      t += ms;
    },
  };
}
