import { type BodyConsumer, type BodyHandle, setHandoff } from './body-handoff.ts';
import { mapConnectTimeout } from './connect.ts';
import {
  AttemptTimeoutError,
  BodyIdleTimeoutError,
  HeadersTimeoutError,
  type ResilienceTimeoutError,
  type ResilienceTimeoutErrorInit,
} from './errors.ts';
import type { ResolvedTimeoutLimits, Timers } from './options.ts';
import { type OneShot, startTimer } from './timer.ts';

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

  const { limits, timers, attempt, consumer } = settings;
  const controller = new AbortController();
  const signal = controller.signal;

  let failure: ResilienceTimeoutError | undefined;
  let ended = false;
  let headersTimer: OneShot | undefined;
  let attemptTimer: OneShot | undefined;
  let idleTimer: OneShot | undefined;
  let rejectHead: ((error: unknown) => void) | undefined;
  let bodyController: ReadableStreamDefaultController<Uint8Array> | undefined;
  let bodyHandle: BodyHandle | undefined;

  // The host is read only when an error is made.
  const errorInit = (limit: number): ResilienceTimeoutErrorInit => ({
    host: hostOf(input, request),
    attempt,
    limit,
    request,
  });

  /** The caller's abort: the attempt ends and the fetch is aborted with the caller's reason. */
  const onCallerAbort = (): void => {
    end();
    controller.abort((callerSignal as AbortSignal).reason);
  };

  /**
   * Ends the attempt: clears every timer. The caller's abort keeps reaching the fetch while the
   * response body is handed over unbounded (`follow`), as a signal combined with it would.
   */
  const end = (follow?: boolean): void => {
    if (ended) return;
    ended = true;
    headersTimer?.clear();
    attemptTimer?.clear();
    idleTimer?.clear();
    if (follow !== true) callerSignal?.removeEventListener('abort', onCallerAbort);
  };

  const fire = (error: ResilienceTimeoutError): void => {
    // A caller's abort that got there first wins: the attempt then fails with the caller's reason.
    if (ended || callerSignal?.aborted) return;
    failure = error;
    end();
    controller.abort(error);
    if (rejectHead !== undefined) rejectHead(error);
    if (bodyController !== undefined) bodyController.error(error);
    if (bodyHandle !== undefined) bodyHandle.fail(error);
  };

  /** Before a read of the body: the body-idle timer. */
  const readStart = (): void => {
    if (limits.bodyIdle !== false && !ended) {
      const limit = limits.bodyIdle;
      idleTimer = startTimer(timers, limit, () => fire(new BodyIdleTimeoutError(errorInit(limit))));
    }
  };

  const readEnd = (): void => {
    idleTimer?.clear();
  };

  callerSignal?.addEventListener('abort', onCallerAbort, { once: true });

  const wrapBody = (response: Response, body: ReadableStream<Uint8Array>): Response => {
    const reader = body.getReader();
    const stream = new ReadableStream<Uint8Array>(
      {
        start(streamController) {
          bodyController = streamController;
        },
        async pull(streamController) {
          if (failure !== undefined) {
            streamController.error(failure);
            return;
          }
          readStart();
          let chunk: Awaited<ReturnType<ReadableStreamDefaultReader<Uint8Array>['read']>>;
          try {
            chunk = await reader.read();
          } catch (error) {
            end();
            streamController.error(failure ?? error);
            return;
          } finally {
            readEnd();
          }
          if (failure !== undefined) {
            streamController.error(failure);
            return;
          }
          if (chunk.done) {
            end();
            streamController.close();
            return;
          }
          streamController.enqueue(chunk.value);
        },
        cancel(reason) {
          end();
          return reader.cancel(reason);
        },
      },
      { highWaterMark: 0 },
    );
    const wrapped = new Response(stream, {
      status: response.status,
      statusText: response.statusText,
      headers: response.headers,
    });
    for (const key of ['url', 'redirected', 'type'] as const) {
      Object.defineProperty(wrapped, key, { value: response[key], enumerable: true });
    }
    return wrapped;
  };

  /** The body left to the consumer of a hand-off: the same timers, as its watcher. */
  const watchBody = (handoff: BodyConsumer, response: Response): Response => {
    bodyHandle = handoff.watch(response, { readStart, readEnd, end: () => end() });
    return response;
  };

  return new Promise<Response>((resolve, reject) => {
    rejectHead = reject;
    if (limits.headers !== false) {
      const limit = limits.headers;
      headersTimer = startTimer(timers, limit, () => fire(new HeadersTimeoutError(errorInit(limit))));
    }
    if (limits.attempt !== false) {
      const limit = limits.attempt;
      attemptTimer = startTimer(timers, limit, () => fire(new AttemptTimeoutError(errorInit(limit))));
    }
    let pending: Promise<Response>;
    try {
      const forwarded: RequestInit = { ...init, signal };
      pending = inner(input, consumer === undefined ? forwarded : setHandoff(forwarded, consumer, inner));
    } catch (error) {
      pending = Promise.reject(error);
    }
    pending.then(
      (response) => {
        rejectHead = undefined;
        headersTimer?.clear();
        if (failure !== undefined) {
          response.body?.cancel(failure).catch(() => {});
          return;
        }
        const body = response.body;
        // Nothing bounds the body phase (or the attempt already ended): hand the response over as is.
        if (body === null || ended) {
          end();
          resolve(response);
          return;
        }
        if (limits.attempt === false && limits.bodyIdle === false) {
          end(true);
          resolve(response);
          return;
        }
        resolve(consumer === undefined ? wrapBody(response, body) : watchBody(consumer, response));
      },
      (error: unknown) => {
        rejectHead = undefined;
        if (failure !== undefined) return;
        end();
        const mapped = callerSignal?.aborted
          ? undefined
          : mapConnectTimeout(error, {
              host: () => hostOf(input, request),
              attempt,
              request,
              connect: limits.connect,
            });
        reject(mapped ?? error);
      },
    );
  });
}
