import type { BodyConsumer, BodyHandle, BodyWatcher } from './body-handoff.ts';
import { withBody } from './response-fields.ts';

/** What a read of a body yields. */
export type ReadResult = Awaited<ReturnType<ReadableStreamDefaultReader<Uint8Array>['read']>>;

const noop = (): void => {};

function push(list: BodyWatcher[] | undefined, watcher: BodyWatcher): BodyWatcher[] {
  if (list === undefined) return [watcher];
  list.push(watcher);
  return list;
}

/**
 * Ends the watchers of a wrapped body nobody read, cancelled or aborted, once the wrapping response
 * has been garbage-collected, and cancels the body so the connection is freed (the safety net the
 * host limiter keeps for its own wrapper).
 */
const unread: FinalizationRegistry<BodyTap> = new FinalizationRegistry((tap: BodyTap) => {
  tap.abandon();
});

/**
 * The body of one attempt's response, taken over from the tiers below through the body hand-off
 * (`body-handoff.ts`): the tiers register watchers instead of wrapping the body each in a stream
 * of its own. The retry tier then reads the body once, calling every watcher around each read
 * (`readBody`, for buffering), or wraps it once for all of them (`expose`). Either way each watcher
 * sees exactly what it would have seen through its own wrapper: `readStart`/`readEnd` around each
 * read, `end` when the body ends, fails or is cancelled, and a failure it reports (`fail`) reaches
 * the reader in place of anything else.
 */
export class BodyTap implements BodyConsumer, BodyHandle {
  /** The response whose body the watchers left here. */
  #response: Response | undefined;
  #watchers: BodyWatcher[] | undefined;
  /** Watchers of another response (none with the tiers of this project). */
  #strays: BodyWatcher[] | undefined;
  #reader: ReadableStreamDefaultReader<Uint8Array> | undefined;
  #failed = false;
  #failure: unknown;
  #ended = false;
  /** The wrapping stream's controller, once the body is exposed as a stream. */
  #controller: ReadableStreamDefaultController<Uint8Array> | undefined;
  #registered = false;
  /** The watchers that settle unread have been ended. */
  #settledEarly = false;

  watch(response: Response, watcher: BodyWatcher): BodyHandle {
    this.#response ??= response;
    if (response === this.#response) {
      this.#watchers = push(this.#watchers, watcher);
    } else {
      this.#strays = push(this.#strays, watcher);
    }
    return this;
  }

  /**
   * True when tiers below left the body of `response` here. Watchers registered for another
   * response (a wrapper below replaced it, which the hand-off's addressing rules out) are ended.
   */
  holds(response: Response): boolean {
    const strays = this.#strays;
    if (strays !== undefined) {
      this.#strays = undefined;
      for (const watcher of strays) watcher.end();
    }
    if (this.#watchers !== undefined && response !== this.#response) {
      this.#end(undefined);
      return false;
    }
    return this.#watchers !== undefined;
  }

  /** The attempt failed or its response was dropped: every watcher ends, the body is cancelled. */
  abandon(error?: unknown): void {
    const strays = this.#strays;
    this.#strays = undefined;
    if (strays !== undefined) for (const watcher of strays) watcher.end(error);
    if (this.#ended) return;
    this.#end(error);
    const reader = this.#reader;
    if (reader !== undefined) {
      reader.cancel(error).catch(noop);
    } else {
      this.#response?.body?.cancel(error).catch(noop);
    }
  }

  /** A watcher's failure: every watcher ends and the reader gets `error`. */
  fail(error: unknown): void {
    if (this.#ended) return;
    this.#failed = true;
    this.#failure = error;
    this.#end(error);
    const controller = this.#controller;
    if (controller !== undefined) {
      controller.error(error);
    } else {
      // Buffering: a pending read resolves at once (done), then rejects with the failure.
      this.#reader?.cancel(error).catch(noop);
    }
  }

  /** Reads the next chunk of the body, calling the watchers around the read. */
  async readBody(): Promise<ReadResult> {
    if (this.#failed) throw this.#failure;
    this.#reader ??= (this.#response as Response).body!.getReader();
    const watchers = this.#watchers as BodyWatcher[];
    for (const watcher of watchers) watcher.readStart?.();
    let result: ReadResult;
    try {
      result = await this.#reader.read();
    } catch (error) {
      const reported = this.#failed ? this.#failure : error;
      this.#end(reported);
      this.#readEnd();
      throw reported;
    }
    this.#readEnd();
    if (this.#failed) throw this.#failure;
    if (result.done) this.#end(undefined);
    return result;
  }

  /**
   * The body arrived in full and stays in the response as it is (nothing can fail it any more):
   * every watcher ends, as after a read to its end.
   */
  received(): void {
    this.#end(undefined);
  }

  /**
   * Gives up reading after `readBody` (the body was read to its end): releases the reader so the
   * original response is left as a read body.
   */
  release(): void {
    this.#reader?.releaseLock();
  }

  /**
   * `response` (the one the watchers registered for) with its body wrapped once for every watcher,
   * `head` first when chunks were already read: what each tier's own wrapper would have given.
   */
  expose(response: Response, head?: Uint8Array[]): Response {
    const body = response.body;
    if (head === undefined && (body === null || body.locked)) {
      this.#end(undefined);
      return response;
    }
    const wrapped = withBody(response, this.stream(head));
    this.guard(wrapped);
    return wrapped;
  }

  /**
   * A stream of the body (`head` first) that calls the watchers on each read; its cancellation
   * ends them. Pair it with {@link guard} on the response that carries it.
   */
  stream(head?: Uint8Array[]): ReadableStream<Uint8Array> {
    const pending = head === undefined ? [] : [...head];
    return new ReadableStream<Uint8Array>(
      {
        start: (controller) => {
          this.#controller = controller;
        },
        pull: async (controller) => {
          const next = pending.shift();
          if (next !== undefined) {
            controller.enqueue(next);
            return;
          }
          let result: ReadResult;
          try {
            result = await this.readBody();
          } catch (error) {
            controller.error(error);
            return;
          }
          if (result.done) {
            controller.close();
          } else {
            controller.enqueue(result.value);
          }
        },
        cancel: (reason) => {
          pending.length = 0;
          this.#end(undefined);
          this.#reader ??= (this.#response as Response).body!.getReader();
          return this.#reader.cancel(reason);
        },
      },
      { highWaterMark: 0 },
    );
  }

  /**
   * The body is handed out as a stream (every watcher is told, see `BodyWatcher.exposed`), with its
   * safety nets: watchers that ask for it end as soon as the body settles, read or not; every
   * watcher ends once `carrier` is garbage-collected unread.
   */
  guard(carrier: Response): void {
    if (this.#ended) return;
    this.#reader ??= (this.#response as Response).body!.getReader();
    const watchers = this.#watchers as BodyWatcher[];
    for (const watcher of watchers) watcher.exposed?.();
    const early = watchers.filter((watcher) => watcher.settleUnread === true);
    if (early.length > 0) {
      const settle = (error?: unknown): void => {
        if (this.#ended || this.#settledEarly) return;
        this.#settledEarly = true;
        for (const watcher of early) watcher.end(error);
      };
      this.#reader.closed.then(() => settle(), settle);
    }
    this.#registered = true;
    unread.register(carrier, this, this);
  }

  #readEnd(): void {
    for (const watcher of this.#watchers as BodyWatcher[]) watcher.readEnd?.();
  }

  #end(error: unknown): void {
    if (this.#ended) return;
    this.#ended = true;
    if (this.#registered) unread.unregister(this);
    const watchers = this.#watchers;
    if (watchers === undefined) return;
    const early = this.#settledEarly;
    for (const watcher of watchers) {
      if (!(early && watcher.settleUnread === true)) watcher.end(error);
    }
  }
}
