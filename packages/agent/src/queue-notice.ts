/**
 * The queue-notice protocol, known by name (`Symbol.for`) so that a separately installed copy of a tier
 * understands it. A caller of the agent's fetch may put a {@link QueueNotice} in `init` under this key: when the
 * request has to wait in the agent's queue (its `limit` or its origin's `limitPerHost` is taken), the agent
 * calls `queued()`; when the request leaves the queue for the network, `dequeued()`. A request that never waits
 * hears nothing; one aborted while it waits hears no `dequeued()`. A redirect's next request may wait again.
 * The timeout tier uses it to keep queue time out of its attempt and headers limits.
 *
 * A notice may also have `accepted()` and `sending()`: the agent calls `accepted()` when it takes a request, and
 * `sending()` when undici starts writing it to a connection (once the connection is open). Between the two, the
 * request waits for a slot, a name lookup or a connect: nothing of it has left the client. The timeout tier uses
 * them to tell an attempt that timed out before its request was written (safe to send again, whatever its
 * method) from one that may have reached the server.
 */
export const queueNoticeKey: unique symbol = Symbol.for(
  '@ky-resilience/queue-notice@1',
) as typeof queueNoticeKey;

/**
 * The request-sent mark, known by name: the lean fetch's `fetch failed` error has this property (`true`,
 * not enumerable) when a request of the call had reached a server before it failed (a redirect was followed).
 * A failure that would otherwise prove nothing was sent (a refused connect, a connect timeout) then does not:
 * the retry tier reads it before it sends a POST again.
 */
export const requestSentKey: unique symbol = Symbol.for(
  '@ky-resilience/request-sent@1',
) as typeof requestSentKey;

/** What travels in `init[queueNoticeKey]`. */
export type QueueNotice = {
  /** The request waits in the agent's queue: nothing has been sent. */
  queued(): void;
  /** The request left the queue and is being sent. */
  dequeued(): void;
  /** The agent took the request; nothing of it is written to a connection before `sending()`. */
  accepted?(): void;
  /**
   * The request is being written to an open connection: from now on it may reach the server. Called for each
   * request of the call (a redirect's next request, a replay on a fresh connection).
   */
  sending?(): void;
};

/** The notice in `init`, or `undefined` when there is none (or it is not one). */
export function queueNoticeOf(init: unknown): QueueNotice | undefined {
  if (typeof init !== 'object' || init === null) return undefined;
  const notice = (init as Record<symbol, unknown>)[queueNoticeKey] as Partial<QueueNotice> | undefined;
  return typeof notice?.queued === 'function' && typeof notice.dequeued === 'function'
    ? (notice as QueueNotice)
    : undefined;
}

/** Tells `notice` (a caller's code) something; what it throws must not break the agent's bookkeeping. */
export function tell(notice: QueueNotice, what: 'queued' | 'dequeued' | 'accepted' | 'sending'): void {
  try {
    notice[what]?.();
  } catch {
    // The caller's notice failed: the request goes on regardless.
  }
}
