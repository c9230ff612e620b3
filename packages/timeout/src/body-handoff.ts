/**
 * The body hand-off between the fetch wrappers of one stack: a protocol known by name
 * (`Symbol.for`), so that separately installed copies of the packages understand each other.
 *
 * A tier that reads the whole response body inside the attempt anyway (the retry tier's body
 * buffering) passes a {@link BodyHandoff} down in the attempt's `init`, addressed to the very
 * function it calls. A tier called with a hand-off addressed to itself returns the response it got
 * as is and registers a {@link BodyWatcher} with the consumer, instead of wrapping the body in a
 * stream of its own; it passes the hand-off on, addressed to the function it calls. A hand-off
 * addressed to another function is ignored (some other wrapper stands in between, which could
 * replace the response), and so is a missing one: the tier then wraps the body itself.
 *
 * The consumer calls every watcher registered for the response it receives: `readStart` and
 * `readEnd` around each read of the body, `end` when the body ends, fails or is cancelled (at
 * least once: `end` must be idempotent). A watcher fails the body through the handle `watch`
 * returns: the reader then gets that error.
 */

/** The `init` key of a hand-off. */
export const bodyHandoffKey: symbol = Symbol.for('@ky-resilience/body-handoff@1');

/** The fetch signature a ky `fetch` option has. */
type FetchFunction = (input: Request | string | URL, init?: RequestInit) => Promise<Response>;

/** What a tier asks of the consumer of a body. */
export type BodyWatcher = {
  /** A read of the body is about to wait for a chunk. */
  readonly readStart?: (() => void) | undefined;
  /** That read settled (a chunk, the end, or an error). */
  readonly readEnd?: (() => void) | undefined;
  /** The body ended (no argument), failed (the error), or was cancelled; may be called again. */
  readonly end: (error?: unknown) => void;
  /** Call `end` as soon as the body settles, even while nobody reads it (a reset between reads). */
  readonly settleUnread?: boolean | undefined;
  /**
   * The consumer hands the body out as a stream instead of reading it inside the attempt: its end
   * now waits for whoever reads it, which may be never. Called at most once, before `end`.
   */
  readonly exposed?: (() => void) | undefined;
};

/** Returned by {@link BodyConsumer.watch}. */
export type BodyHandle = {
  /** Fails the body with `error` (a pending or later read rejects with it). */
  fail(error: unknown): void;
};

/** The tier that takes over the body. */
export type BodyConsumer = {
  /** Takes over the body of `response` for `watcher`; the tier returns `response` as is. */
  watch(response: Response, watcher: BodyWatcher): BodyHandle;
};

/** What travels in `init[bodyHandoffKey]`. */
export type BodyHandoff = {
  readonly consumer: BodyConsumer;
  /** The only function that may use this hand-off. */
  readonly to: FetchFunction;
};

/** The consumer of a hand-off in `init` addressed to `self`, or `undefined`. */
export function handoffTo(init: RequestInit | undefined, self: FetchFunction): BodyConsumer | undefined {
  if (init === undefined) return undefined;
  const handoff = (init as Record<symbol, BodyHandoff | undefined>)[bodyHandoffKey];
  return handoff !== undefined && handoff.to === self ? handoff.consumer : undefined;
}

/** Adds a hand-off from `consumer` addressed to `next` to `target`, a fresh `init` of the caller's own. */
export function setHandoff(target: RequestInit, consumer: BodyConsumer, next: FetchFunction): RequestInit {
  const handoff: BodyHandoff = { consumer, to: next };
  (target as Record<symbol, BodyHandoff>)[bodyHandoffKey] = handoff;
  return target;
}
