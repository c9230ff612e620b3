import type { Dispatcher } from 'undici';
import { Exchange, type ExchangeCall, type ResponseHead } from './exchange.ts';
import type { OutgoingRequest } from './fetch-request.ts';
import { makeResponse } from './fetch-response.ts';
import { type QueueNotice, queueNoticeKey, requestSentKey } from './queue-notice.ts';
import { planRedirect, REDIRECT_STATUSES } from './redirect.ts';
import { bodyLength, collectBody, type OutgoingBody } from './request-body.ts';
import { withDefaultHeaders } from './request-headers.ts';

/** The dispatcher a fetch call runs on: it lets a call's later requests in after close (the agent's). */
export type CallDispatcher = Dispatcher & {
  enterCall(): void;
  leaveCall(): void;
  dispatchInCall(options: Dispatcher.DispatchOptions, handler: Dispatcher.DispatchHandler): boolean;
};

/** Ports fetch refuses to connect to (the fetch standard's "bad port" list). */
const BAD_PORTS: ReadonlySet<string> = new Set(
  (
    '1 7 9 11 13 15 17 19 20 21 22 23 25 37 42 43 53 69 77 79 87 95 101 102 103 104 109 110 111 113 115 117 ' +
    '119 123 135 137 139 143 161 179 389 427 465 512 513 514 515 526 530 531 532 540 548 554 556 563 587 601 ' +
    '636 989 990 993 995 1719 1720 1723 2049 3659 4045 4190 5060 5061 6000 6566 6665 6666 6667 6668 6669 ' +
    '6679 6697 10080'
  ).split(' '),
);

const noop = (): void => {};

type DispatchBody = Exclude<Dispatcher.DispatchOptions['body'], undefined>;

function dispatchBody(body: OutgoingBody | null): DispatchBody {
  if (body === null) return null;
  if (body.kind === 'bytes') return body.bytes;
  if (body.kind === 'blob') return body.blob as unknown as DispatchBody;
  return body.source as unknown as DispatchBody;
}

/** The request target as undici's fetch writes it: a `?` with nothing after it is kept. */
function requestPath(url: URL): string {
  const path = url.pathname + url.search;
  if (url.search !== '') return path;
  const href = url.href;
  return href[href.length - url.hash.length - 1] === '?' ? `${path}?` : path;
}

/**
 * One call of the lean fetch: sends the request through the dispatcher, follows redirects, and settles the
 * call's promise like fetch: with a `Response` at the response head, with `TypeError('fetch failed', { cause })`
 * on a network error (`cause` is the dispatcher's error), or with the signal's reason on abort. It listens to
 * the signal until the response body is over, so that an abort while the body is read errors the body.
 */
export class FetchCall implements ExchangeCall {
  readonly #dispatcher: CallDispatcher;
  readonly #request: OutgoingRequest;
  readonly #promise: Promise<Response>;
  #resolve!: (response: Response) => void;
  #reject!: (reason: unknown) => void;
  #state: 'running' | 'responded' | 'failed' = 'running';
  #exchange: Exchange | undefined;
  #redirects = 0;
  #listening = false;
  #reader: ReadableStreamDefaultReader<Uint8Array> | undefined;
  /** True while the call counts in the dispatcher (from its start to its response or failure). */
  #entered = false;
  /** The caller's queue notice (see `queue-notice.ts`), given to each of the call's requests. */
  readonly #notice: QueueNotice | undefined;

  constructor(dispatcher: CallDispatcher, request: OutgoingRequest, notice?: QueueNotice) {
    this.#dispatcher = dispatcher;
    this.#request = request;
    this.#notice = notice;
    this.#promise = new Promise<Response>((resolve, reject) => {
      this.#resolve = resolve;
      this.#reject = reject;
    });
  }

  get method(): string {
    return this.#request.method;
  }

  start(): Promise<Response> {
    const request = this.#request;
    const signal = request.signal;
    if (signal !== null) {
      if (signal.aborted) {
        this.#state = 'failed';
        this.#reject(signal.reason);
        if (request.unread !== null && !request.unread.locked)
          request.unread.cancel(signal.reason).catch(noop);
        return this.#promise;
      }
      signal.addEventListener('abort', this, { once: true });
      this.#listening = true;
    }
    // Counted until it has its response: its requests are let in after close(), which waits for it.
    this.#dispatcher.enterCall();
    this.#entered = true;
    if (request.unread !== null) this.#collect(request.unread);
    else this.#send();
    return this.#promise;
  }

  /** The signal's abort listener. */
  handleEvent(): void {
    this.#listening = false;
    const reason = this.#request.signal!.reason;
    if (this.#state === 'running') {
      this.#state = 'failed';
      this.#reject(reason);
      this.#leave();
    }
    this.#exchange?.abort(reason);
    this.#reader?.cancel(reason).catch(noop);
  }

  #collect(stream: ReadableStream<Uint8Array>): void {
    collectBody(stream, (reader) => {
      this.#reader = reader;
    }).then(
      (body) => {
        this.#reader = undefined;
        this.#request.body = body;
        this.#request.unread = null;
        if (this.#state === 'running') this.#send();
      },
      (error: unknown) => {
        this.#reader = undefined;
        this.#fail(error);
      },
    );
  }

  #send(): void {
    const request = this.#request;
    const url = request.url;
    if (BAD_PORTS.has(url.port)) {
      this.#fail(new Error('bad port'));
      return;
    }
    const body = request.body;
    const headers = withDefaultHeaders(
      request.headers,
      request.method,
      url.protocol === 'https:',
      body !== null,
      body === null ? null : bodyLength(body),
    );
    const exchange = new Exchange(this);
    this.#exchange = exchange;
    const options: Dispatcher.DispatchOptions = {
      origin: url.origin,
      path: requestPath(url),
      method: request.method,
      headers,
      body: dispatchBody(body),
    };
    if (this.#notice !== undefined)
      (options as unknown as Record<symbol, unknown>)[queueNoticeKey] = this.#notice;
    this.#dispatcher.dispatchInCall(options, exchange as unknown as Dispatcher.DispatchHandler);
  }

  #fail(cause: unknown): void {
    if (this.#state !== 'running') return;
    this.#state = 'failed';
    const error = new TypeError('fetch failed', { cause });
    // After a redirect, a request of this call reached a server (it answered the redirect): whatever the
    // cause (a refused connect, a connect timeout of the next hop), the call is not one that never left.
    if (this.#redirects > 0) Object.defineProperty(error, requestSentKey, { value: true });
    this.#reject(error);
    this.#stopListening();
    this.#leave();
  }

  #leave(): void {
    if (!this.#entered) return;
    this.#entered = false;
    this.#dispatcher.leaveCall();
  }

  #stopListening(): void {
    if (!this.#listening) return;
    this.#listening = false;
    this.#request.signal!.removeEventListener('abort', this);
  }

  // ---- ExchangeCall ----

  head(exchange: Exchange, status: number, head: ResponseHead): boolean {
    if (exchange !== this.#exchange || this.#state !== 'running') return false;
    const request = this.#request;
    if (!REDIRECT_STATUSES.has(status) || request.redirect === 'manual') return true;
    if (request.redirect === 'error') {
      this.#fail(new Error('unexpected redirect'));
      return false;
    }
    const body = request.body;
    const plan = planRedirect({
      status,
      location: head.location,
      url: request.url,
      method: request.method,
      headers: request.headers,
      hasBody: body !== null,
      replayable: body === null || body.kind !== 'stream',
      count: this.#redirects,
    });
    if (plan === null) return true;
    if (plan instanceof Error) {
      this.#fail(plan);
      return false;
    }
    this.#redirects++;
    // The redirect's exchange goes on alone, discarding its body: its end must not end the call.
    this.#exchange = undefined;
    request.url = plan.url;
    request.method = plan.method;
    request.headers = plan.headers;
    if (plan.dropBody) request.body = null;
    // The next hop leaves undici's callback first.
    queueMicrotask(() => {
      if (this.#state === 'running') this.#send();
    });
    return false;
  }

  respond(
    status: number,
    statusText: string,
    head: ResponseHead,
    body: ReadableStream<Uint8Array> | null,
  ): boolean {
    let response: Response;
    try {
      response = makeResponse(
        body,
        status,
        statusText,
        head.headers,
        this.#request.url,
        this.#redirects > 0,
        body === null ? null : (this.#exchange ?? null),
      );
    } catch (error) {
      this.#fail(error);
      return false;
    }
    this.#state = 'responded';
    this.#resolve(response);
    // Its body, if any, is a request in flight in the dispatcher from now on.
    this.#leave();
    return true;
  }

  fail(exchange: Exchange, cause: unknown): void {
    if (exchange === this.#exchange) this.#fail(cause);
  }

  done(exchange: Exchange): void {
    if (exchange === this.#exchange) this.#stopListening();
  }
}
