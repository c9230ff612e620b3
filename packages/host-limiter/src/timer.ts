import type { Timers } from './options.ts';

/** A one-shot timer that can be cleared any number of times. */
export type OneShot = { clear(): void };

/**
 * Starts `callback` after `ms` with `timers` (the global functions when undefined, looked up now),
 * unref'd when the handle supports it.
 */
export function startTimer(timers: Timers | undefined, ms: number, callback: () => void): OneShot {
  const set = timers?.setTimeout ?? globalThis.setTimeout;
  const clear = timers?.clearTimeout ?? globalThis.clearTimeout;
  let active = true;
  const handle = set(() => {
    active = false;
    callback();
  }, ms) as { unref?: () => unknown } | undefined;
  if (typeof handle?.unref === 'function') handle.unref();
  return {
    clear() {
      if (!active) return;
      active = false;
      clear(handle as Parameters<typeof globalThis.clearTimeout>[0]);
    },
  };
}
