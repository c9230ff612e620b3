import type { UnderlyingSource } from 'node:stream/web';
import { type Decoder, decoderPlan, MAX_CONTENT_CODINGS } from './content-decoding.ts';
import { NULL_BODY_STATUSES } from './fetch-response.ts';

/** The fetch call an exchange reports to. */
export type ExchangeCall = {
  readonly method: string;
  /**
   * The head of a response arrived (1xx excluded). True when it is the call's answer; false when the call goes
   * on without it (a redirect being followed, or the call failed or ended): its body is then discarded.
   */
  head(exchange: Exchange, status: number, head: ResponseHead): boolean;
  /**
   * The call's answer: the body stream is null for HEAD and the null body statuses. False when no `Response`
   * could be made of it (the call then failed).
   */
  respond(
    status: number,
    statusText: string,
    head: ResponseHead,
    body: ReadableStream<Uint8Array> | null,
  ): boolean;
  /** The exchange failed before its response: the call rejects with `TypeError('fetch failed', { cause })`. */
  fail(exchange: Exchange, cause: unknown): void;
  /** The exchange is over (body delivered, failed or cancelled): the call stops listening to its signal. */
  done(exchange: Exchange): void;
};

type RawHeaders = ReadonlyArray<Buffer | string | ReadonlyArray<Buffer | string>>;
type Abort = (reason?: unknown) => void;

/** Bytes the response stream holds before the exchange stops reading from the socket. */
export const BODY_QUEUE_BYTES: number = 64 * 1024;
/** A discarded body (a redirect's) longer than this closes its connection rather than being read. */
export const DISCARD_LIMIT_BYTES: number = 64 * 1024;

const queueStrategy: QueuingStrategy<Uint8Array> = {
  highWaterMark: BODY_QUEUE_BYTES,
  size: (chunk) => chunk.byteLength,
};

const latin1 = (value: Buffer | string): string =>
  typeof value === 'string' ? value : value.toString('latin1');

/** HTTP whitespace around a header value, which `Headers` strips. */
function trimValue(value: string): string {
  let start = 0;
  let end = value.length;
  while (start < end && (value.charCodeAt(start) <= 0x20 || value.charCodeAt(start) === 0x7f)) start++;
  while (end > start && (value.charCodeAt(end - 1) <= 0x20 || value.charCodeAt(end - 1) === 0x7f)) end--;
  return start === 0 && end === value.length ? value : value.slice(start, end);
}

/** A response head from undici's raw header list (`[name, value, ...]` as Buffers; a value may be a list). */
export type ResponseHead = {
  /** Flat `[name, value, ...]` strings, in order. */
  headers: string[];
  /** `Location`, repeated values joined as `Headers.get` joins them; null without one. */
  location: string | null;
  /** `Content-Encoding`, likewise. */
  contentEncoding: string | null;
};

function readHead(raw: RawHeaders): ResponseHead {
  const headers: string[] = [];
  let location: string | null = null;
  let contentEncoding: string | null = null;
  const add = (name: string, value: string): void => {
    headers.push(name, value);
    if (name.length === 8 && name.toLowerCase() === 'location') {
      location = location === null ? trimValue(value) : `${location}, ${trimValue(value)}`;
    } else if (name.length === 16 && name.toLowerCase() === 'content-encoding') {
      contentEncoding =
        contentEncoding === null ? trimValue(value) : `${contentEncoding}, ${trimValue(value)}`;
    }
  };
  for (let i = 0; i < raw.length; i += 2) {
    const name = latin1(raw[i] as Buffer | string);
    const value = raw[i + 1]!;
    if (Array.isArray(value)) for (const v of value) add(name, latin1(v));
    else add(name, latin1(value as Buffer | string));
  }
  return { headers, location, contentEncoding };
}

/** A Buffer as a plain Uint8Array over the same memory (fetch's chunks are not Buffers). */
const view = (chunk: Buffer): Uint8Array => new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength);

type State = 'head' | 'body' | 'discard' | 'over';

/**
 * One request and its response on the wire: an undici dispatch handler (the legacy `onConnect` / `onHeaders` /
 * `onData` / `onComplete` / `onError` interface, undici 7's native one) that turns the response into a
 * `ReadableStream` and is that stream's underlying source. Backpressure: when the stream holds
 * {@link BODY_QUEUE_BYTES}, `onData` returns false (undici stops reading the socket) until the reader pulls.
 * Content codings are undone with zlib, as undici's fetch does.
 */
export class Exchange {
  readonly #call: ExchangeCall;
  #state: State = 'head';
  /** undici's abort of this request, once it is on a connection. */
  #abort: Abort | undefined;
  /** Set when the call was aborted before undici gave us its abort function. */
  #abortReason: unknown;
  #abortRequested = false;
  /** True once undici is done with the request (complete or failed). */
  #settled = false;
  #resume: (() => void) | undefined;
  #paused = false;
  #discarded = 0;
  #controller: ReadableStreamDefaultController<Uint8Array> | undefined;
  #plan: (() => Decoder)[] | undefined;
  #decoders: Decoder[] | undefined;
  /** Body bytes put in the stream (decoded). */
  #received = 0;
  /** True once the whole body is in the stream (closed after its last chunk). */
  #complete = false;

  constructor(call: ExchangeCall) {
    this.#call = call;
  }

  // ---- undici dispatch handler (legacy interface) ----

  onConnect(abort: Abort): void {
    if (this.#abortRequested) {
      abort(this.#abortReason);
      return;
    }
    this.#abort = abort;
  }

  onHeaders(status: number, rawHeaders: RawHeaders, resume: () => void, statusText: string): boolean {
    if (status < 200 || this.#state !== 'head') return true;
    this.#resume = resume;
    const head = readHead(rawHeaders);
    if (!this.#call.head(this, status, head)) {
      // A redirect followed (or refused) or a call already over: its body is discarded. What has not
      // arrived by the end of this parse is not waited for: the request is aborted (its connection
      // closed, as undici's fetch does), so a body that never ends cannot hold its slot.
      this.#state = 'discard';
      queueMicrotask(() => {
        if (this.#state !== 'discard') return;
        this.#state = 'over';
        this.#abortRequest(undefined);
      });
      return true;
    }
    if (this.#call.method === 'HEAD' || NULL_BODY_STATUSES.has(status)) {
      this.#state = 'over';
      if (!this.#call.respond(status, statusText, head, null)) this.#abortRequest(undefined);
      return true;
    }
    const plan = decoderPlan(head.contentEncoding);
    if (plan === 'too many') {
      const error = new Error(
        `too many content-encodings in response: more than ${MAX_CONTENT_CODINGS} are not decoded`,
      );
      this.#state = 'over';
      this.#call.fail(this, error);
      this.#abortRequest(error);
      return true;
    }
    if (plan.length > 0) this.#plan = plan;
    this.#state = 'body';
    const stream = new ReadableStream<Uint8Array>(this as UnderlyingSource<Uint8Array>, queueStrategy);
    if (!this.#call.respond(status, statusText, head, stream)) {
      this.#state = 'over';
      this.#abortRequest(undefined);
    }
    return true;
  }

  onData(chunk: Buffer): boolean {
    if (this.#state === 'body') {
      if (this.#plan !== undefined) return this.#decode(chunk);
      const controller = this.#controller!;
      this.#received += chunk.byteLength;
      controller.enqueue(view(chunk));
      if (controller.desiredSize! <= 0) {
        this.#paused = true;
        return false;
      }
      return true;
    }
    if (this.#state === 'discard') {
      this.#discarded += chunk.byteLength;
      if (this.#discarded > DISCARD_LIMIT_BYTES) {
        this.#state = 'over';
        this.#abortRequest(undefined);
      }
    }
    return true;
  }

  onComplete(): void {
    this.#settled = true;
    const state = this.#state;
    if (state === 'body') {
      if (this.#decoders !== undefined) {
        this.#decoders[0]!.end();
        return;
      }
      this.#state = 'over';
      this.#complete = true;
      this.#controller!.close();
    }
    this.#state = 'over';
    this.#call.done(this);
  }

  onError(error: unknown): void {
    this.#settled = true;
    const state = this.#state;
    this.#state = 'over';
    if (state === 'head') {
      this.#call.fail(this, error);
    } else if (state === 'body') {
      this.#destroyDecoders();
      this.#controller!.error(new TypeError('terminated', { cause: error }));
    }
    this.#call.done(this);
  }

  // ---- ReadableStream underlying source ----

  start(controller: ReadableStreamDefaultController<Uint8Array>): void {
    this.#controller = controller;
  }

  pull(): void {
    if (this.#decoders !== undefined) {
      this.#decoders[this.#decoders.length - 1]!.resume();
    } else if (this.#paused) {
      this.#paused = false;
      this.#resume!();
    }
  }

  cancel(reason: unknown): void {
    if (this.#state !== 'body') return;
    this.#state = 'over';
    this.#destroyDecoders();
    this.#abortRequest(reason);
    this.#call.done(this);
  }

  // ---- from the call ----

  /** The body's length once it is all in the stream (see `bodyReceivedKey`), else `undefined`. */
  receivedInFull(): number | undefined {
    return this.#complete ? this.#received : undefined;
  }

  /** The call's signal fired: error the body with the reason and stop the request. */
  abort(reason: unknown): void {
    const state = this.#state;
    this.#state = 'over';
    if (state === 'body') {
      this.#destroyDecoders();
      this.#controller!.error(reason);
    }
    this.#abortRequest(reason);
  }

  #abortRequest(reason: unknown): void {
    if (this.#settled) return;
    if (this.#abort !== undefined) {
      this.#abort(reason);
    } else {
      this.#abortRequested = true;
      this.#abortReason = reason;
    }
  }

  // ---- content decoding ----

  #decode(chunk: Buffer): boolean {
    const decoders = this.#decoders ?? this.#startDecoders();
    if (decoders[0]!.write(chunk)) return true;
    decoders[0]!.once('drain', () => {
      if (this.#state === 'body') this.#resume!();
    });
    return false;
  }

  /** Decoders are made on the first byte of body: an empty body is no error, whatever its coding. */
  #startDecoders(): Decoder[] {
    const decoders = this.#plan!.map((make) => make());
    this.#decoders = decoders;
    const controller = this.#controller!;
    const onError = (error: Error): void => {
      if (this.#state !== 'body') return;
      this.#state = 'over';
      this.#destroyDecoders();
      controller.error(new TypeError('terminated', { cause: error }));
      this.#abortRequest(error);
      this.#call.done(this);
    };
    for (let i = 0; i < decoders.length; i++) {
      decoders[i]!.on('error', onError);
      if (i > 0) decoders[i - 1]!.pipe(decoders[i]!);
    }
    const last = decoders[decoders.length - 1]!;
    last.on('data', (data: Buffer) => {
      if (this.#state !== 'body') return;
      this.#received += data.byteLength;
      controller.enqueue(view(data));
      if (controller.desiredSize! <= 0) last.pause();
    });
    last.on('end', () => {
      if (this.#state !== 'body') return;
      this.#state = 'over';
      this.#complete = true;
      controller.close();
      this.#call.done(this);
    });
    return decoders;
  }

  #destroyDecoders(): void {
    const decoders = this.#decoders;
    if (decoders === undefined) return;
    for (const decoder of decoders) decoder.destroy();
  }
}
