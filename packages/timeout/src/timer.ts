import type { Timers } from './options.ts';

/** A one-shot timer that can be cleared any number of times. */
export type OneShot = { clear(): void };

const noTimer: OneShot = { clear() {} };

/** The global timer functions as they were when this module loaded. */
const nativeSetTimeout = globalThis.setTimeout;
const nativeClearTimeout = globalThis.clearTimeout;

/** One pending callback of a {@link TimerList}. */
class Entry implements OneShot {
  readonly deadline: number;
  callback: (() => void) | undefined;
  list: TimerList | undefined;
  prev: Entry | undefined;
  next: Entry | undefined;

  constructor(list: TimerList, deadline: number, callback: () => void) {
    this.list = list;
    this.deadline = deadline;
    this.callback = callback;
  }

  clear(): void {
    this.list?.remove(this);
  }
}

/**
 * The timers of one duration on the global `setTimeout`: their deadlines come in the order they
 * were started, so one Node timer (armed for the earliest) serves them all, and starting or
 * clearing one is a list operation. A Node timer per attempt costs a `Timeout` handle and its
 * insertion in and removal from Node's own lists, which shows with many attempts in flight. The
 * Node timer is unref'd, and cleared when the list empties (no handle is left behind). A callback
 * never runs before its duration has passed by `performance.now()`.
 */
class TimerList {
  readonly #ms: number;
  #head: Entry | undefined;
  #tail: Entry | undefined;
  #handle: ReturnType<typeof setTimeout> | undefined;

  constructor(ms: number) {
    this.#ms = ms;
  }

  /** True while a Node timer is armed for this list. */
  get armed(): boolean {
    return this.#handle !== undefined;
  }

  add(callback: () => void): Entry {
    const entry = new Entry(this, performance.now() + this.#ms, callback);
    const tail = this.#tail;
    if (tail === undefined) {
      this.#head = entry;
    } else {
      tail.next = entry;
      entry.prev = tail;
    }
    this.#tail = entry;
    // Unarmed with other entries pending only while the list runs (a callback starting a timer of its
    // duration): arm for the earliest pending deadline, not for this entry's.
    if (this.#handle === undefined) {
      const head = this.#head as Entry;
      this.#arm(head === entry ? this.#ms : Math.max(1, head.deadline - performance.now()));
    }
    return entry;
  }

  remove(entry: Entry): void {
    if (entry.list !== this) return;
    entry.list = undefined;
    entry.callback = undefined;
    const { prev, next } = entry;
    if (prev === undefined) this.#head = next;
    else prev.next = next;
    if (next === undefined) this.#tail = prev;
    else next.prev = prev;
    entry.prev = undefined;
    entry.next = undefined;
    if (this.#head === undefined && this.#handle !== undefined) {
      nativeClearTimeout(this.#handle);
      this.#handle = undefined;
    }
  }

  #arm(delay: number): void {
    const handle = nativeSetTimeout(this.#run, delay);
    handle.unref();
    this.#handle = handle;
  }

  readonly #run = (): void => {
    this.#handle = undefined;
    try {
      const now = performance.now();
      for (let head = this.#head; head !== undefined && head.deadline <= now; head = this.#head) {
        const callback = head.callback as () => void;
        this.remove(head);
        callback();
      }
    } finally {
      // A callback that throws still leaves the later ones armed.
      const head = this.#head;
      if (head !== undefined && this.#handle === undefined) {
        this.#arm(Math.max(1, head.deadline - performance.now()));
      }
    }
  };
}

/** At most this many durations get a list; further ones use a Node timer each. */
const MAX_LISTS = 64;
const lists = new Map<number, TimerList>();

/** How many Node timers the shared lists hold armed now (one per duration with a pending timer). */
export function armedSharedTimers(): number {
  let armed = 0;
  for (const list of lists.values()) if (list.armed) armed += 1;
  return armed;
}

function listFor(ms: number): TimerList | undefined {
  let list = lists.get(ms);
  if (list === undefined && lists.size < MAX_LISTS) {
    list = new TimerList(ms);
    lists.set(ms, list);
  }
  return list;
}

/**
 * Starts `callback` after `ms` with `timers` (the global functions when undefined, looked up now),
 * unref'd when the handle supports it. `false` starts nothing. With the global functions as Node
 * has them (not replaced, e.g. by fake timers), timers of one duration share one Node timer.
 */
export function startTimer(timers: Timers | undefined, ms: number | false, callback: () => void): OneShot {
  if (ms === false) return noTimer;
  if (
    timers === undefined &&
    globalThis.setTimeout === nativeSetTimeout &&
    globalThis.clearTimeout === nativeClearTimeout
  ) {
    const list = listFor(ms);
    if (list !== undefined) return list.add(callback);
  }
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
