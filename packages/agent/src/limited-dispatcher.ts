import { createRequire } from 'node:module';
import type { Dispatcher } from 'undici';
import { AgentClosedError, AgentQueueFullError } from './errors.ts';
import { type QueueNotice, queueNoticeKey, tell } from './queue-notice.ts';
import { bytesReadBefore } from './socket-stamp.ts';

const require = createRequire(import.meta.url);
// Loaded by path: the undici entry point would install a global dispatcher as a side effect.
const DispatcherBase = require('undici/lib/dispatcher/dispatcher.js') as typeof Dispatcher;

type AnyHandler = Dispatcher.DispatchHandler & Record<string, unknown>;
type Controller = Dispatcher.DispatchController;

const IDEMPOTENT: ReadonlySet<string> = new Set(['GET', 'HEAD', 'OPTIONS', 'TRACE', 'PUT', 'DELETE']);

function hasIdempotencyKey(headers: Dispatcher.DispatchOptions['headers']): boolean {
  if (headers == null) return false;
  if (Array.isArray(headers)) {
    for (let i = 0; i < headers.length; i += 2) {
      if (String(headers[i]).toLowerCase() === 'idempotency-key') return true;
    }
    return false;
  }
  if (typeof (headers as Iterable<unknown>)[Symbol.iterator] === 'function') {
    for (const pair of headers as Iterable<[string, unknown]>) {
      if (String(pair[0]).toLowerCase() === 'idempotency-key') return true;
    }
    return false;
  }
  return Object.keys(headers).some((key) => key.toLowerCase() === 'idempotency-key');
}

/**
 * A keep-alive socket the server closed (FIN: "other side closed") or reset (RST: `ECONNRESET`, `EPIPE`) before
 * this response's head, on a connection that had already carried a response (bytes were read on it before).
 * The server's close of an idle connection races with our write; it is the one failure after which a request
 * is replayed at this layer, when `mayReplay` allows it: an idempotent method (GET, HEAD, OPTIONS, TRACE, PUT,
 * DELETE) or an `Idempotency-Key` header, and no body or a body that can be sent again as it is (a string or
 * bytes; a stream cannot).
 */
function isStaleConnectionClose(error: unknown): boolean {
  const e = error as { code?: unknown; message?: unknown; socket?: { bytesRead?: unknown } } | null;
  if (e?.code === 'UND_ERR_SOCKET') {
    return (
      e.message === 'other side closed' && typeof e.socket?.bytesRead === 'number' && e.socket.bytesRead > 0
    );
  }
  // The same race seen as a reset: the server's kernel answers the request's bytes on a closed socket with RST.
  return (e?.code === 'ECONNRESET' || e?.code === 'EPIPE') && (bytesReadBefore(error) ?? 0) > 0;
}

export type LimiterCounters = {
  active: number;
  /** Requests waiting in the agent: beyond `limit` plus beyond `limitPerHost`. */
  waiting: number;
  staleRetries: number;
  /** Requests refused because `maxQueue` requests were waiting. */
  queueRefusals: number;
};

/** A FIFO of waiting requests; a waiter that leaves is removed from it at once. */
class WaitQueue {
  #items: (Tracked | undefined)[] = [];
  #head = 0;

  get size(): number {
    return this.#items.length - this.#head;
  }

  push(tracked: Tracked): void {
    this.#items.push(tracked);
  }

  /** Puts a request back in arrival order (`seq`): usually at the end, never behind a later arrival. */
  insert(tracked: Tracked): void {
    let index = this.#items.length;
    while (index > this.#head && (this.#items[index - 1] as Tracked).seq > tracked.seq) index--;
    this.#items.splice(index, 0, tracked);
  }

  /** The first request, left in the queue. */
  peek(): Tracked | undefined {
    return this.#head === this.#items.length ? undefined : this.#items[this.#head];
  }

  shift(): Tracked | undefined {
    if (this.#head === this.#items.length) return undefined;
    const tracked = this.#items[this.#head];
    this.#items[this.#head++] = undefined;
    if (this.#head === this.#items.length) {
      this.#items.length = 0;
      this.#head = 0;
    } else if (this.#head > 1024 && this.#head * 2 > this.#items.length) {
      this.#items.splice(0, this.#head);
      this.#head = 0;
    }
    return tracked;
  }

  remove(tracked: Tracked): boolean {
    const index = this.#items.indexOf(tracked, this.#head);
    if (index === -1) return false;
    this.#items.splice(index, 1);
    return true;
  }

  /** Empties the queue; returns what it held, in order. */
  takeAll(): Tracked[] {
    const rest = this.#items.slice(this.#head) as Tracked[];
    this.#items = [];
    this.#head = 0;
    return rest;
  }
}

/** One origin's requests holding a connection slot, and those waiting for one. */
type HostSlots = { running: number; waiting: WaitQueue | undefined };

/**
 * Wraps the undici Agent: a global cap on requests in flight across every origin (FIFO wait beyond it, with
 * aborts honoured while waiting), a per-origin cap (`limitPerHost`: a FIFO per origin, so that no request waits
 * in undici's pool where it could be neither counted nor removed), a bound on every waiting request together
 * (`maxQueue`: one more is refused at once), and the one transparent replay of a request that met a stale
 * keep-alive socket. It accepts both the legacy handler interface (global fetch of Node 22/24) and the controller one
 * (Node 26) and hands the inner Agent the same kind it received.
 */
export class LimitedDispatcher extends DispatcherBase {
  readonly #inner: Dispatcher;
  readonly #limit: number;
  readonly #retryStale: boolean;
  readonly #forgotten: (() => readonly Dispatcher[]) | undefined;
  readonly #waiting = new WaitQueue();
  #active = 0;
  #staleRetries = 0;
  readonly #maxQueue: number;
  #queueRefusals = 0;
  /**
   * Per origin, when the agent queues per origin itself (HTTP/1.1, `limitPerHost` > 0): requests holding one
   * of its `limitPerHost` slots, and those waiting for one. A waiter here holds no slot of `limit` (as in
   * aiohttp): a saturated origin does not keep other origins' requests waiting for `limit`.
   */
  readonly #hosts = new Map<string, HostSlots>();
  readonly #hostCap: number;
  #hostWaiting = 0;
  /** Origins with a free slot and requests waiting for one (they wait for a slot of `limit`). */
  readonly #ready = new Map<string, HostSlots>();
  /** Arrival order of requests, so that the two kinds of waiters are served first come, first served. */
  #seq = 0;
  #closed = false;
  #destroyed = false;
  /** Fetch calls under way (from their start to their response or failure): their next hops are let in after close. */
  #calls = 0;
  #idle: (() => void) | undefined;
  #drained: Promise<void> | undefined;
  #closing: Promise<void> | undefined;
  /** Origins where a response ended during this event-loop turn, and how many. */
  readonly #freed = new Map<string, number>();
  #freedReset: NodeJS.Immediate | undefined;

  readonly #perHost: number;
  readonly #sockets: ReadonlyMap<string, number>;

  constructor(
    inner: Dispatcher,
    limits: {
      limit: number;
      limitPerHost: number;
      maxQueue: number;
      allowH2: boolean;
      retryStale: boolean;
      sockets: ReadonlyMap<string, number>;
      /** The pools the inner dispatcher no longer tracks but that may still hold requests: `destroy()` ends them too. */
      forgotten?: () => readonly Dispatcher[];
    },
  ) {
    super();
    this.#inner = inner;
    this.#limit = limits.limit;
    this.#perHost = limits.limitPerHost;
    this.#maxQueue = limits.maxQueue;
    // Over HTTP/2 a connection carries many streams: the per-origin wait stays in undici's pool.
    this.#hostCap = limits.allowH2 ? 0 : limits.limitPerHost;
    this.#retryStale = limits.retryStale;
    this.#sockets = limits.sockets;
    this.#forgotten = limits.forgotten;
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** True once `destroy()` was called. */
  get destroyed(): boolean {
    return this.#destroyed;
  }

  /**
   * @internal A fetch call starts: until `leaveCall`, its requests (the first one, sent once its body is read,
   * and each redirect's next hop) are let in after `close()`, which waits for it.
   */
  enterCall(): void {
    this.#calls++;
  }

  /** @internal The fetch call has its response (its body is a request in flight) or has failed. */
  leaveCall(): void {
    this.#calls--;
    this.#maybeIdle();
  }

  counters(): LimiterCounters {
    return {
      active: this.#active,
      waiting: this.#waiting.size + this.#hostWaiting,
      staleRetries: this.#staleRetries,
      queueRefusals: this.#queueRefusals,
    };
  }

  /** Requests waiting for one of `origin`'s `limitPerHost` slots in the agent. */
  waitingFor(origin: string): number {
    return this.#hosts.get(origin)?.waiting?.size ?? 0;
  }

  /** Origins with requests holding or waiting for a slot. */
  origins(): IterableIterator<string> {
    return this.#hosts.keys();
  }

  /** True when a request for `origin` would have to wait for a per-origin slot. */
  #hostFull(origin: string): boolean {
    if (this.#hostCap === 0) return false;
    const host = this.#hosts.get(origin);
    return host !== undefined && host.running >= this.#hostCap;
  }

  /** Refuses the request when `maxQueue` requests already wait; true when it was refused. */
  #refuse(tracked: Tracked): boolean {
    if (this.#waiting.size + this.#hostWaiting < this.#maxQueue) return false;
    this.#queueRefusals++;
    tracked.fail(new AgentQueueFullError(tracked.origin, this.#maxQueue));
    return true;
  }

  override dispatch(options: Dispatcher.DispatchOptions, handler: Dispatcher.DispatchHandler): boolean {
    return this.#dispatch(options, handler, this.#closed);
  }

  /** @internal A request of a fetch call under way (see `enterCall`): refused only once destroyed. */
  dispatchInCall(options: Dispatcher.DispatchOptions, handler: Dispatcher.DispatchHandler): boolean {
    return this.#dispatch(options, handler, this.#destroyed);
  }

  #dispatch(
    options: Dispatcher.DispatchOptions,
    handler: Dispatcher.DispatchHandler,
    refuse: boolean,
  ): boolean {
    const tracked = new Tracked(this, options, handler as AnyHandler);
    tracked.seq = this.#seq++;
    if (refuse) {
      tracked.fail(new AgentClosedError());
      return true;
    }
    if (this.#hostFull(tracked.origin)) {
      // Its origin is full: it waits for a slot of its origin, holding none of `limit`.
      if (this.#refuse(tracked)) return true;
      this.#queueForHost(tracked, false);
    } else if (this.#limit === 0 || this.#active < this.#limit) {
      this.#start(tracked);
    } else {
      if (this.#refuse(tracked)) return true;
      this.#waiting.push(tracked);
      tracked.wait();
    }
    return true;
  }

  /** Puts a request in its origin's queue (in arrival order), holding no slot. */
  #queueForHost(tracked: Tracked, waited: boolean): void {
    const host = this.#hosts.get(tracked.origin)!;
    host.waiting ??= new WaitQueue();
    if (waited) host.waiting.insert(tracked);
    else host.waiting.push(tracked);
    this.#hostWaiting++;
    tracked.queuedForHost = true;
    if (!waited) tracked.wait();
  }

  /** Gives a request a slot of `limit` and one of its origin (which has one free), and starts it. */
  #start(tracked: Tracked): void {
    this.#active++;
    if (this.#hostCap !== 0) {
      const origin = tracked.origin;
      let host = this.#hosts.get(origin);
      if (host === undefined) {
        // The queue is made only when the origin is full: a request that does not wait allocates no queue.
        host = { running: 0, waiting: undefined };
        this.#hosts.set(origin, host);
      }
      host.running++;
    }
    this.#launch(tracked);
  }

  /** @internal Called exactly once per request that got its slots (started, or launching and aborted), when it is over. */
  release(origin: string): void {
    this.#active--;
    if (this.#hostCap !== 0) {
      const host = this.#hosts.get(origin)!;
      host.running--;
      // Its origin has a free slot now: its first waiter may have the next free slot of `limit`.
      if ((host.waiting?.size ?? 0) > 0) this.#ready.set(origin, host);
      else if (host.running === 0) this.#hosts.delete(origin);
    }
    this.#pump();
  }

  /**
   * Gives free slots of `limit`, in arrival order, to the requests waiting for one and to the first waiters of
   * origins with a free slot. A request that waited for `limit` but whose origin is full by then moves to its
   * origin's queue, in its arrival place.
   */
  #pump(): void {
    while (this.#limit === 0 || this.#active < this.#limit) {
      const head = this.#waiting.peek();
      let ready: HostSlots | undefined;
      let readyHead: Tracked | undefined;
      for (const [origin, host] of this.#ready) {
        const first = host.waiting?.peek();
        if (first === undefined || host.running >= this.#hostCap) {
          this.#ready.delete(origin);
          continue;
        }
        if (readyHead === undefined || first.seq < readyHead.seq) {
          ready = host;
          readyHead = first;
        }
      }
      if (readyHead !== undefined && (head === undefined || readyHead.seq < head.seq)) {
        (ready as HostSlots).waiting!.shift();
        this.#hostWaiting--;
        readyHead.queuedForHost = false;
        this.#start(readyHead);
        continue;
      }
      if (head === undefined) break;
      this.#waiting.shift();
      if (this.#hostFull(head.origin)) this.#queueForHost(head, true);
      else this.#start(head);
    }
    this.#maybeIdle();
  }

  /**
   * undici waits one event-loop turn before it reuses a keep-alive socket whose response just ended; a request
   * sent in between opens a new connection. A request for an origin where a response ended during this turn is
   * therefore sent on the next turn, so back-to-back sequential requests share one connection. Once the origin
   * has all of its `limitPerHost` sockets, no new one can be opened and the pool's own queue takes over.
   */
  #launch(tracked: Tracked): void {
    const origin = tracked.origin;
    const freed = this.#freed.get(origin);
    if (freed === undefined || (this.#perHost !== 0 && (this.#sockets.get(origin) ?? 0) >= this.#perHost)) {
      tracked.start();
      return;
    }
    if (freed <= 1) this.#freed.delete(origin);
    else this.#freed.set(origin, freed - 1);
    // It holds its slots from now on: aborted before it starts, it gives them back (see `Tracked.#abort`).
    tracked.launching();
    setImmediate(() => tracked.start());
  }

  /** @internal A response of `origin` ended: its socket is reusable on the next turn. */
  freed(origin: string): void {
    this.#freed.set(origin, (this.#freed.get(origin) ?? 0) + 1);
    this.#freedReset ??= setImmediate(() => {
      this.#freedReset = undefined;
      this.#freed.clear();
    });
  }

  /** @internal A waiting request was aborted: drop it from its queue at once. */
  forget(tracked: Tracked): void {
    if (tracked.queuedForHost) {
      tracked.queuedForHost = false;
      const host = this.#hosts.get(tracked.origin);
      if (host?.waiting?.remove(tracked)) {
        this.#hostWaiting--;
        if (host.waiting.size === 0) {
          this.#ready.delete(tracked.origin);
          if (host.running === 0) this.#hosts.delete(tracked.origin);
        }
        this.#maybeIdle();
        return;
      }
    }
    this.#waiting.remove(tracked);
    this.#maybeIdle();
  }

  /** @internal */
  send(options: Dispatcher.DispatchOptions, handler: Dispatcher.DispatchHandler): void {
    this.#inner.dispatch(options, handler);
  }

  /** @internal */
  mayReplay(options: Dispatcher.DispatchOptions, error: unknown): boolean {
    if (!this.#retryStale || !isStaleConnectionClose(error)) return false;
    const body = options.body;
    if (body != null && typeof body !== 'string' && !(body instanceof Uint8Array)) return false;
    const method = (options.method ?? 'GET').toUpperCase();
    if (!IDEMPOTENT.has(method) && !hasIdempotencyKey(options.headers)) return false;
    this.#staleRetries++;
    return true;
  }

  /** Stops taking requests; resolves once every started and waiting request, and every fetch call, is over. */
  drain(): Promise<void> {
    this.#closed = true;
    this.#drained ??=
      this.#active === 0 && this.#waiting.size === 0 && this.#hostWaiting === 0 && this.#calls === 0
        ? Promise.resolve()
        : new Promise((resolve) => {
            this.#idle = resolve;
          });
    return this.#drained;
  }

  /** Stops taking requests and fails every waiting one with `error`. */
  abortWaiting(error: Error): void {
    this.#closed = true;
    const failed = this.#waiting.takeAll();
    this.#ready.clear();
    for (const host of this.#hosts.values()) {
      for (const tracked of host.waiting?.takeAll() ?? []) {
        tracked.queuedForHost = false;
        this.#hostWaiting--;
        failed.push(tracked);
      }
    }
    for (const tracked of failed) tracked.fail(error);
    this.#maybeIdle();
  }

  #maybeIdle(): void {
    if (
      this.#idle !== undefined &&
      this.#active === 0 &&
      this.#waiting.size === 0 &&
      this.#hostWaiting === 0 &&
      this.#calls === 0
    ) {
      const idle = this.#idle;
      this.#idle = undefined;
      idle();
    }
  }

  override close(): Promise<void> {
    // One promise for every caller; once destroyed, there is nothing left to close (undici would reject).
    this.#closing ??= this.drain().then(() => {
      if (this.#destroyed) return;
      return this.#inner.close().catch((error: unknown) => {
        if (!this.#destroyed) throw error;
      });
    });
    return this.#closing;
  }

  override destroy(): Promise<void> {
    this.#destroyed = true;
    this.abortWaiting(new AgentClosedError());
    const destroyed = this.#inner.destroy();
    // The pools the inner dispatcher has forgotten (see the agent's `originPools`): their requests end too.
    const forgotten = this.#forgotten?.() ?? [];
    return forgotten.length === 0
      ? destroyed
      : Promise.all([destroyed, ...forgotten.map((d) => d.destroy())]).then(() => undefined);
  }
}

/**
 * One request through the LimitedDispatcher. It stands between the caller's handler and the inner Agent so that
 * the slot is released exactly once (end, error or abort), a waiting request can be aborted, and a replay after a
 * stale connection is invisible to the caller.
 */
class Tracked {
  readonly #owner: LimitedDispatcher;
  readonly #options: Dispatcher.DispatchOptions;
  readonly #handler: AnyHandler;
  readonly #modern: boolean;
  /**
   * `waiting`: in a queue (for `limit`, or for its origin), holding no slot. `launching`: holding its slots, its start deferred to the next turn. `started`: sent, its slots given
   * back by `#end`. `done`: over, holding nothing.
   */
  #state: 'new' | 'waiting' | 'launching' | 'started' | 'done' = 'new';
  #responded = false;
  #replayed = false;
  #abortReason: unknown;
  #aborted = false;
  #innerAbort: ((reason?: unknown) => void) | undefined;
  #innerController: Controller | undefined;
  #announced = false;
  #errored = false;
  #pausedEarly = false;
  /** True while it waits in its origin's queue of the LimitedDispatcher. */
  queuedForHost = false;
  /** Its arrival order at the LimitedDispatcher. */
  seq = 0;
  readonly origin: string;
  #controller: Controller | undefined;
  /** The caller's queue notice (the lean fetch's requests may carry one), and whether it was told `queued`. */
  readonly #notice: QueueNotice | undefined;
  #noticeQueued = false;

  constructor(owner: LimitedDispatcher, options: Dispatcher.DispatchOptions, handler: AnyHandler) {
    this.#owner = owner;
    this.#options = options;
    this.#handler = handler;
    this.#modern = typeof handler.onRequestStart === 'function';
    this.origin = String(options.origin);
    this.#notice = (options as unknown as Record<symbol, QueueNotice | undefined>)[queueNoticeKey];
    if (this.#notice !== undefined) tell(this.#notice, 'accepted');
  }

  /** Tells the caller's notice that the request left the queue, if it was told it waited. */
  #leaveQueue(): void {
    if (!this.#noticeQueued) return;
    this.#noticeQueued = false;
    tell(this.#notice as QueueNotice, 'dequeued');
  }

  /** The controller handed to a handler of the controller interface (made only for such handlers). */
  get #ctl(): Controller {
    if (this.#controller !== undefined) return this.#controller;
    const self = this;
    this.#controller = {
      abort(reason?: Error): void {
        self.#abort(reason);
      },
      pause(): void {
        if (self.#innerController) self.#innerController.pause();
        else self.#pausedEarly = true;
      },
      resume(): void {
        self.#pausedEarly = false;
        self.#innerController?.resume();
      },
      get paused(): boolean {
        return self.#innerController?.paused ?? self.#pausedEarly;
      },
      get aborted(): boolean {
        return self.#aborted || (self.#innerController?.aborted ?? false);
      },
      get reason(): Error | null {
        return (self.#aborted ? self.#abortReason : self.#innerController?.reason) as Error | null;
      },
      get rawHeaders(): unknown {
        return (self.#innerController as { rawHeaders?: unknown } | undefined)?.rawHeaders;
      },
      get rawTrailers(): unknown {
        return (self.#innerController as { rawTrailers?: unknown } | undefined)?.rawTrailers;
      },
    } as Controller;
    return this.#controller;
  }

  /** Tells the caller the request exists, so that it can abort it while it waits for a slot. */
  wait(): void {
    this.#state = 'waiting';
    this.#announce(undefined);
    // A request moving from the queue of `limit` to its origin's waits on: it was told once.
    if (this.#notice !== undefined && !this.#noticeQueued && this.#state === 'waiting') {
      this.#noticeQueued = true;
      tell(this.#notice, 'queued');
    }
  }

  /** Admitted, holding its slots; it starts on the next turn. */
  launching(): void {
    this.#state = 'launching';
    this.#leaveQueue();
  }

  start(): void {
    if (this.#state === 'done') return;
    if (this.#owner.destroyed) {
      // Its start was deferred by a turn, and the agent was destroyed meanwhile: nothing was sent.
      this.#state = 'done';
      this.#owner.release(this.origin);
      this.#error(new AgentClosedError());
      return;
    }
    this.#state = 'started';
    this.#leaveQueue();
    // The caller gets its abort now: an abort while the connection is being opened then frees the slots at
    // once (undici takes an abort only once it writes the request, after the connect).
    this.#announce(undefined);
    try {
      this.#owner.send(this.#options, this.#inner());
    } catch (error) {
      this.#end();
      this.#error(error);
    }
  }

  fail(error: unknown): void {
    this.#state = 'done';
    this.#error(error);
  }

  #announce(context: unknown): void {
    if (this.#announced) return;
    this.#announced = true;
    const h = this.#handler;
    if (this.#modern) (h.onRequestStart as (c: Controller, ctx: unknown) => void).call(h, this.#ctl, context);
    else
      (h.onConnect as ((abort: (r?: unknown) => void, ctx: unknown) => void) | undefined)?.call(
        h,
        (r) => this.#abort(r),
        context,
      );
  }

  #abort(reason: unknown): void {
    if (this.#aborted || this.#state === 'done') return;
    this.#aborted = true;
    this.#abortReason = reason;
    if (this.#state === 'waiting') {
      this.#state = 'done';
      this.#owner.forget(this);
      this.#error(reason);
      return;
    }
    if (this.#state === 'launching') {
      // Admitted but not yet sent: nothing reached the network, and its slots go back now.
      this.#state = 'done';
      this.#owner.release(this.origin);
      this.#error(reason);
      return;
    }
    if (this.#innerController) this.#innerController.abort(reason as Error);
    else if (this.#innerAbort !== undefined) this.#innerAbort(reason);
    else {
      // Sent to undici but not on a connection yet (DNS, TCP, TLS under way): its slots go back now. When
      // undici starts it, `#onInnerStart` aborts it; its error then is not reported again.
      this.#end();
      this.#error(reason);
    }
  }

  #end(reusable = false, failedByInner = false): void {
    if (this.#state === 'started') {
      this.#state = 'done';
      if (reusable) this.#owner.freed(this.origin);
      // undici fails a connection's requests in one synchronous loop (a refused connect fails every request
      // queued on it) and then asserts that its queue is empty: a waiter of the same origin started from here
      // would join that queue and crash the process. The slots go back once undici's loop is over.
      if (failedByInner) queueMicrotask(() => this.#owner.release(this.origin));
      else this.#owner.release(this.origin);
    }
    this.#state = 'done';
  }

  #error(error: unknown): void {
    if (this.#errored) return;
    this.#errored = true;
    const h = this.#handler;
    if (this.#modern) (h.onResponseError as (c: Controller, e: unknown) => void).call(h, this.#ctl, error);
    else (h.onError as (e: unknown) => void).call(h, error);
  }

  #onInnerStart(): boolean {
    if (this.#aborted) {
      const reason = this.#abortReason;
      if (this.#innerController) this.#innerController.abort(reason as Error);
      else this.#innerAbort?.(reason);
      return false;
    }
    return true;
  }

  /** undici starts writing the request to an open connection (its `onConnect`, in `writeH1` / `writeH2`). */
  #startSending(context: unknown): void {
    if (this.#notice !== undefined) tell(this.#notice, 'sending');
    this.#announce(context);
  }

  #maybeReplay(error: unknown): boolean {
    if (this.#responded || this.#replayed || this.#aborted || !this.#owner.mayReplay(this.#options, error))
      return false;
    this.#replayed = true;
    this.#innerAbort = undefined;
    this.#innerController = undefined;
    try {
      this.#owner.send(this.#options, this.#inner());
    } catch {
      return false;
    }
    return true;
  }

  /** The handler given to the inner Agent: the same interface as the caller's. */
  #inner(): Dispatcher.DispatchHandler {
    const h = this.#handler;
    if (this.#modern) {
      return {
        onRequestStart: (controller: Controller, context: unknown) => {
          this.#innerController = controller;
          if (this.#pausedEarly) controller.pause();
          if (this.#onInnerStart()) this.#startSending(context);
        },
        onRequestUpgrade: (_c: Controller, statusCode: number, headers: unknown, socket: unknown) => {
          this.#responded = true;
          this.#end();
          (h.onRequestUpgrade as (...a: unknown[]) => void)?.call(h, this.#ctl, statusCode, headers, socket);
        },
        onResponseStart: (_c: Controller, statusCode: number, headers: unknown, statusMessage?: string) => {
          this.#responded = true;
          (h.onResponseStart as (...a: unknown[]) => void)?.call(
            h,
            this.#ctl,
            statusCode,
            headers,
            statusMessage,
          );
        },
        onResponseData: (_c: Controller, chunk: Buffer) => {
          (h.onResponseData as (...a: unknown[]) => void)?.call(h, this.#ctl, chunk);
        },
        onResponseEnd: (_c: Controller, trailers: unknown) => {
          this.#end(true);
          (h.onResponseEnd as (...a: unknown[]) => void)?.call(h, this.#ctl, trailers);
        },
        onResponseError: (_c: Controller, error: Error) => {
          if (this.#maybeReplay(error)) return;
          this.#end(false, true);
          this.#error(error);
        },
      } as Dispatcher.DispatchHandler;
    }
    const inner: Record<string, unknown> = {
      onConnect: (abort: (reason?: unknown) => void, context: unknown) => {
        this.#innerAbort = abort;
        if (this.#onInnerStart()) this.#startSending(context);
      },
      onHeaders: (statusCode: number, rawHeaders: Buffer[], resume: () => void, statusMessage?: string) => {
        this.#responded = true;
        return (h.onHeaders as (...a: unknown[]) => boolean).call(
          h,
          statusCode,
          rawHeaders,
          resume,
          statusMessage,
        );
      },
      onData: (chunk: Buffer) => (h.onData as (c: Buffer) => boolean).call(h, chunk),
      onComplete: (trailers: unknown) => {
        this.#end(true);
        (h.onComplete as (t: unknown) => void).call(h, trailers);
      },
      onError: (error: Error) => {
        if (this.#maybeReplay(error)) return;
        this.#end(false, true);
        this.#error(error);
      },
    };
    if (typeof h.onUpgrade === 'function') {
      inner.onUpgrade = (statusCode: number, rawHeaders: unknown, socket: unknown) => {
        this.#responded = true;
        this.#end();
        (h.onUpgrade as (...a: unknown[]) => void).call(h, statusCode, rawHeaders, socket);
      };
    }
    for (const name of ['onResponseStarted', 'onBodySent', 'onRequestSent']) {
      const method = h[name];
      if (typeof method === 'function') inner[name] = (...args: unknown[]) => method.apply(h, args);
    }
    return inner as unknown as Dispatcher.DispatchHandler;
  }
}
