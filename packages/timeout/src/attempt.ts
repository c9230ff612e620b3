import { type BodyConsumer, type BodyHandle, setHandoff } from './body-handoff.ts';
import { receivedInFull } from './body-received.ts';
import { mapConnectTimeout } from './connect.ts';
import {
  AttemptTimeoutError,
  BodyIdleTimeoutError,
  HeadersTimeoutError,
  type ResilienceTimeoutError,
  type ResilienceTimeoutErrorInit,
  TotalTimeoutError,
} from './errors.ts';
import type { ResolvedTimeoutLimits, Timers } from './options.ts';
import { withBody } from './response-fields.ts';
import { type OneShot, startTimer } from './timer.ts';

/**
 * The agent's queue-notice protocol, known by name (`Symbol.for`) so that separately installed copies agree:
 * an attempt puts itself in its fetch's `init` under this key; a fetch that queues requests (the agent's,
 * beyond its `limit` or `limitPerHost`) calls `queued()` when the request has to wait and `dequeued()` when it
 * leaves the queue for the network. The agent also calls `accepted()` when it takes the request and `sending()`
 * when it starts writing it to an open connection: a timeout between the two fired before anything was sent.
 * Any other fetch ignores it.
 */
const queueNoticeKey: symbol = Symbol.for('@ky-resilience/queue-notice@1');

/** The fetch signature a ky `fetch` option has. */
export type FetchFunction = (input: Request | string | URL, init?: RequestInit) => Promise<Response>;

/** What one attempt needs besides its fetch arguments. */
export type AttemptSettings = {
  readonly limits: ResolvedTimeoutLimits;
  readonly timers: Timers | undefined;
  /** 1 for the first attempt of the call. */
  readonly attempt: number;
  /**
   * The consumer of a body hand-off addressed to this attempt (see `body-handoff.ts`): the body
   * is then left to it, with the body-phase timers as its watcher, instead of being wrapped.
   */
  readonly consumer?: BodyConsumer | undefined;
  /**
   * The call's total limit, as ky runs it: its deadline on `performance.now()` (ky's clock) and the
   * caller's own signal. ky's total timer aborts the attempt's signal; an abort at or past the
   * deadline while the caller's own signal is not aborted is that timer, and the attempt then fails
   * with a `TotalTimeoutError` rather than a bare `AbortError`.
   */
  readonly total?:
    | { readonly deadline: number; readonly limit: number; readonly callerSignal: AbortSignal | undefined }
    | undefined;
};

const objectToString = Object.prototype.toString;

function asRequest(input: unknown): Request | undefined {
  return input instanceof Request || objectToString.call(input) === '[object Request]'
    ? (input as Request)
    : undefined;
}

function hostOf(input: Request | string | URL, request: Request | undefined): string {
  try {
    return new URL(request?.url ?? String(input)).host;
  } catch {
    return '';
  }
}

/**
 * Runs one attempt through `inner` under the attempt, headers and body-idle timers.
 *
 * The attempt's fetch gets the signal of the tiers' own controller, which also follows the caller's
 * (the request's, or `init.signal`): a listener forwards the caller's abort with its reason (cheaper
 * than `AbortSignal.any`, which costs a composite signal and weak references per attempt). When a
 * tier runs out, the fetch is aborted and the attempt
 * rejects (or its body errors) with the tier's typed error. When the caller aborts, the attempt
 * rejects with the caller's reason, as fetch does. Every timer is cleared when the attempt ends:
 * on a failure, when a response without a body arrives, or when its body ends, errors or is cancelled.
 * A response whose body has already arrived in full (the agent's body-received protocol) ends the
 * attempt at once and is returned as is, unless a body hand-off left the body to a tier above.
 */
export function runAttempt(
  inner: FetchFunction,
  input: Request | string | URL,
  init: RequestInit | undefined,
  settings: AttemptSettings,
): Promise<Response> {
  const request = asRequest(input);
  const callerSignal = init?.signal ?? request?.signal ?? undefined;
  if (callerSignal?.aborted) return Promise.reject(callerSignal.reason);
  return new Attempt(input, request, callerSignal, settings).run(inner, init);
}

/**
 * One attempt's state. A class rather than closures: an attempt in flight then holds one object
 * (it is also the caller signal's abort listener and the body watcher) instead of a dozen functions.
 */
class Attempt {
  readonly #input: Request | string | URL;
  readonly #request: Request | undefined;
  readonly #callerSignal: AbortSignal | undefined;
  readonly #settings: AttemptSettings;
  readonly #controller = new AbortController();
  #failure: ResilienceTimeoutError | undefined;
  #ended = false;
  #headersTimer: OneShot | undefined;
  #attemptTimer: OneShot | undefined;
  #idleTimer: OneShot | undefined;
  #rejectHead: ((error: unknown) => void) | undefined;
  /** True while the request waits in its fetch's own queue (see `queueNoticeKey`): no head timer runs. */
  #queued = false;
  #bodyController: ReadableStreamDefaultController<Uint8Array> | undefined;
  #bodyHandle: BodyHandle | undefined;
  /**
   * What the fetch said about the wire (see `queueNoticeKey`): 0 nothing (it does not tell), 1 it took the
   * request and has not written it, 2 it started writing a request of this attempt.
   */
  #wire: 0 | 1 | 2 = 0;

  constructor(
    input: Request | string | URL,
    request: Request | undefined,
    callerSignal: AbortSignal | undefined,
    settings: AttemptSettings,
  ) {
    this.#input = input;
    this.#request = request;
    this.#callerSignal = callerSignal;
    this.#settings = settings;
  }

  /** The host is read only when an error is made. */
  #errorInit(limit: number): ResilienceTimeoutErrorInit {
    const wire = this.#wire;
    return {
      host: hostOf(this.#input, this.#request),
      attempt: this.#settings.attempt,
      limit,
      request: this.#request,
      sent: wire === 0 ? undefined : wire === 2,
    };
  }

  /**
   * The caller's abort (this is the signal's listener): the attempt ends and the fetch is aborted with the
   * caller's reason; or ky's total timer, which aborts the same signal (see `AttemptSettings.total`).
   */
  handleEvent(): void {
    const total = this.#settings.total;
    if (
      total !== undefined &&
      total.callerSignal?.aborted !== true &&
      performance.now() >= total.deadline - 1
    ) {
      this.#fail(new TotalTimeoutError(this.#errorInit(total.limit)));
      return;
    }
    this.#end();
    this.#controller.abort((this.#callerSignal as AbortSignal).reason);
  }

  /**
   * Ends the attempt: clears every timer. The caller's abort keeps reaching the fetch while the
   * response body is handed over unbounded (`follow`), as a signal combined with it would.
   */
  #end(follow?: boolean): void {
    if (this.#ended) return;
    this.#ended = true;
    this.#headersTimer?.clear();
    this.#attemptTimer?.clear();
    this.#idleTimer?.clear();
    if (follow !== true) this.#callerSignal?.removeEventListener('abort', this);
  }

  #fire(error: ResilienceTimeoutError): void {
    // A caller's abort that got there first wins: the attempt then fails with the caller's reason.
    if (this.#ended || this.#callerSignal?.aborted) return;
    this.#fail(error);
  }

  #fail(error: ResilienceTimeoutError): void {
    if (this.#ended) return;
    this.#failure = error;
    this.#end();
    this.#controller.abort(error);
    if (this.#rejectHead !== undefined) this.#rejectHead(error);
    if (this.#bodyController !== undefined) this.#bodyController.error(error);
    if (this.#bodyHandle !== undefined) this.#bodyHandle.fail(error);
  }

  /** Starts the attempt and headers timers (at the attempt's start, and again when it leaves a queue). */
  #startHeadTimers(): void {
    const { limits, timers } = this.#settings;
    if (limits.headers !== false) {
      const limit = limits.headers;
      this.#headersTimer = startTimer(timers, limit, () =>
        this.#fire(new HeadersTimeoutError(this.#errorInit(limit))),
      );
    }
    if (limits.attempt !== false) {
      const limit = limits.attempt;
      this.#attemptTimer = startTimer(timers, limit, () =>
        this.#fire(new AttemptTimeoutError(this.#errorInit(limit))),
      );
    }
  }

  // ---- the queue notice (see `queueNoticeKey`): time queued in the fetch is not the attempt's ----

  /** The request waits in the fetch's queue: the attempt and headers timers stop. */
  queued(): void {
    if (this.#ended || this.#queued) return;
    this.#queued = true;
    this.#headersTimer?.clear();
    this.#attemptTimer?.clear();
  }

  /** The request left the queue for the network: the attempt and headers limits start again, in full. */
  dequeued(): void {
    if (this.#ended || !this.#queued) return;
    this.#queued = false;
    this.#startHeadTimers();
  }

  /** The fetch took the request; it says `sending()` when it writes it (a fetch that tells neither stays 0). */
  accepted(): void {
    if (this.#wire === 0) this.#wire = 1;
  }

  /** The fetch started writing a request of this attempt to a connection: it may reach the server. */
  sending(): void {
    this.#wire = 2;
  }

  // ---- the body watcher (of a hand-off's consumer, or of the attempt's own wrapper) ----

  /** Before a read of the body: the body-idle timer. */
  readStart(): void {
    const { limits, timers } = this.#settings;
    if (limits.bodyIdle !== false && !this.#ended) {
      const limit = limits.bodyIdle;
      this.#idleTimer = startTimer(timers, limit, () =>
        this.#fire(new BodyIdleTimeoutError(this.#errorInit(limit))),
      );
    }
  }

  readEnd(): void {
    this.#idleTimer?.clear();
  }

  /** The body ended, failed or was cancelled. */
  end(): void {
    this.#end();
  }

  #wrapBody(response: Response, body: ReadableStream<Uint8Array>): Response {
    const reader = body.getReader();
    const stream = new ReadableStream<Uint8Array>(
      {
        start: (streamController) => {
          this.#bodyController = streamController;
        },
        pull: async (streamController) => {
          if (this.#failure !== undefined) {
            streamController.error(this.#failure);
            return;
          }
          this.readStart();
          let chunk: Awaited<ReturnType<ReadableStreamDefaultReader<Uint8Array>['read']>>;
          try {
            chunk = await reader.read();
          } catch (error) {
            this.#end();
            streamController.error(this.#failure ?? error);
            return;
          } finally {
            this.readEnd();
          }
          if (this.#failure !== undefined) {
            streamController.error(this.#failure);
            return;
          }
          if (chunk.done) {
            this.#end();
            streamController.close();
            return;
          }
          streamController.enqueue(chunk.value);
        },
        cancel: (reason) => {
          this.#end();
          return reader.cancel(reason);
        },
      },
      { highWaterMark: 0 },
    );
    return withBody(response, stream);
  }

  /** The body left to the consumer of a hand-off: the same timers, as its watcher (this object). */
  #watchBody(handoff: BodyConsumer, response: Response): Response {
    this.#bodyHandle = handoff.watch(response, this);
    return response;
  }

  run(inner: FetchFunction, init: RequestInit | undefined): Promise<Response> {
    const { limits, consumer } = this.#settings;
    const input = this.#input;
    // No `once` option (it costs an options record per listener): `handleEvent` ends the attempt, which removes it.
    this.#callerSignal?.addEventListener('abort', this);
    return new Promise<Response>((resolve, reject) => {
      this.#rejectHead = reject;
      this.#startHeadTimers();
      let pending: Promise<Response>;
      try {
        const forwarded: RequestInit = { ...init, signal: this.#controller.signal, [queueNoticeKey]: this };
        pending = inner(input, consumer === undefined ? forwarded : setHandoff(forwarded, consumer, inner));
      } catch (error) {
        pending = Promise.reject(error);
      }
      pending.then(
        (response) => {
          this.#rejectHead = undefined;
          this.#headersTimer?.clear();
          const failure = this.#failure;
          if (failure !== undefined) {
            response.body?.cancel(failure).catch(() => {});
            return;
          }
          const body = response.body;
          // Nothing bounds the body phase (or the attempt already ended): hand the response over as is.
          if (body === null || this.#ended) {
            this.#end();
            resolve(response);
            return;
          }
          // The body has arrived in full (and no tier above took it over): nothing is left to bound,
          // and the caller's abort has nothing left to stop. The attempt ends as if it had been read.
          if (consumer === undefined && receivedInFull(response, body)) {
            this.#end();
            resolve(response);
            return;
          }
          if (limits.attempt === false && limits.bodyIdle === false) {
            this.#end(true);
            resolve(response);
            return;
          }
          resolve(
            consumer === undefined ? this.#wrapBody(response, body) : this.#watchBody(consumer, response),
          );
        },
        (error: unknown) => {
          this.#rejectHead = undefined;
          if (this.#failure !== undefined) return;
          this.#end();
          const request = this.#request;
          const mapped = this.#callerSignal?.aborted
            ? undefined
            : mapConnectTimeout(error, {
                host: () => hostOf(input, request),
                attempt: this.#settings.attempt,
                request,
                connect: limits.connect,
                sent: this.#wire === 2,
              });
          reject(mapped ?? error);
        },
      );
    });
  }
}
