import type { ReadableStreamReadResult } from 'node:stream/web';
import { setTimeout as setTimer } from 'node:timers';

/**
 * A request body ready for the dispatcher. `bytes` and `blob` can be sent again (after a 307/308 redirect, or
 * by the stale-connection replay for bytes); `stream` is read once and goes out chunked unless `length` is known.
 */
export type OutgoingBody =
  | { readonly kind: 'bytes'; readonly bytes: Uint8Array }
  | { readonly kind: 'blob'; readonly blob: Blob }
  | { readonly kind: 'stream'; readonly source: AsyncIterable<Uint8Array>; readonly length: number | null };

/** A `BodyInit` the lean fetch turns into bytes itself, with the `Content-Type` fetch would give it. */
export type ExtractedBody = { body: OutgoingBody; contentType: string | null };

const encoder = new TextEncoder();

/**
 * Extracts the simple kinds of `BodyInit` as the fetch standard does (a copy of the bytes, the default content
 * type). Returns `undefined` for the kinds left to the `Request` constructor: FormData, ReadableStream,
 * async iterables and anything unknown.
 */
export function extractSimpleBody(body: unknown): ExtractedBody | undefined {
  if (typeof body === 'string') {
    return { body: { kind: 'bytes', bytes: encoder.encode(body) }, contentType: 'text/plain;charset=UTF-8' };
  }
  if (body instanceof URLSearchParams) {
    return {
      body: { kind: 'bytes', bytes: encoder.encode(body.toString()) },
      contentType: 'application/x-www-form-urlencoded;charset=UTF-8',
    };
  }
  if (body instanceof ArrayBuffer) {
    return { body: { kind: 'bytes', bytes: new Uint8Array(body.slice(0)) }, contentType: null };
  }
  if (ArrayBuffer.isView(body) && body.buffer instanceof ArrayBuffer) {
    const copy = new Uint8Array(body.byteLength);
    copy.set(new Uint8Array(body.buffer, body.byteOffset, body.byteLength));
    return { body: { kind: 'bytes', bytes: copy }, contentType: null };
  }
  if (body instanceof Blob) {
    return { body: { kind: 'blob', blob: body }, contentType: body.type === '' ? null : body.type };
  }
  return undefined;
}

/** The byte length of a body, or null when only reading it would tell. */
export function bodyLength(body: OutgoingBody): number | null {
  if (body.kind === 'bytes') return body.bytes.byteLength;
  if (body.kind === 'blob') return body.blob.size;
  return body.length;
}

/** A `Request`'s body (a stream) is read into memory up to this size before the request is sent. */
export const BODY_BUFFER_LIMIT: number = 16 * 1024 * 1024;
/** A read of a `Request`'s body that takes longer than this sends the rest as a stream. */
export const BODY_IDLE_MS = 50;

const IDLE: unique symbol = Symbol('idle');

/** Resolves with the read, or with {@link IDLE} when it has not settled within {@link BODY_IDLE_MS}. */
function readWithin(
  read: Promise<ReadableStreamReadResult<Uint8Array>>,
): Promise<ReadableStreamReadResult<Uint8Array> | typeof IDLE> {
  let timer: NodeJS.Timeout | undefined;
  const idle = new Promise<typeof IDLE>((resolve) => {
    timer = setTimer(resolve, BODY_IDLE_MS, IDLE);
    timer.unref();
  });
  return Promise.race([read, idle]).finally(() => clearTimeout(timer));
}

function checkChunk(value: unknown): Uint8Array {
  if (!(value instanceof Uint8Array)) {
    throw new TypeError('Received non-Uint8Array chunk');
  }
  return value;
}

async function* rest(
  buffered: Uint8Array[],
  pending: Promise<ReadableStreamReadResult<Uint8Array>>,
  reader: ReadableStreamDefaultReader<Uint8Array>,
): AsyncGenerator<Uint8Array> {
  try {
    for (const chunk of buffered) yield chunk;
    let result = await pending;
    while (!result.done) {
      const chunk = checkChunk(result.value);
      if (chunk.byteLength > 0) yield chunk;
      result = await reader.read();
    }
  } finally {
    reader.releaseLock();
  }
}

function concat(chunks: Uint8Array[], total: number): Uint8Array {
  if (chunks.length === 1) return chunks[0]!;
  const out = new Uint8Array(total);
  let offset = 0;
  for (const chunk of chunks) {
    out.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return out;
}

/**
 * Reads a `Request`'s body. A `Request` does not tell whether its body came from a string, a Blob, FormData or
 * a stream, nor its length; the fetch sends the first ones with `Content-Length`, and some servers refuse
 * chunked uploads. So the body is read into memory first and sent with its length, unless it goes past
 * {@link BODY_BUFFER_LIMIT} or a read takes longer than {@link BODY_IDLE_MS} (a live stream): then what was
 * read and the rest go out as a chunked stream, as fetch would send a stream.
 */
export async function collectBody(
  stream: ReadableStream<Uint8Array>,
  onReader: (reader: ReadableStreamDefaultReader<Uint8Array>) => void,
): Promise<OutgoingBody> {
  const reader = stream.getReader();
  onReader(reader);
  const chunks: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    if (total > BODY_BUFFER_LIMIT) {
      return { kind: 'stream', source: rest(chunks, reader.read(), reader), length: null };
    }
    const read = reader.read();
    const result = await readWithin(read);
    if (result === IDLE) return { kind: 'stream', source: rest(chunks, read, reader), length: null };
    if (result.done) {
      reader.releaseLock();
      return { kind: 'bytes', bytes: concat(chunks, total) };
    }
    const chunk = checkChunk(result.value);
    if (chunk.byteLength > 0) {
      chunks.push(chunk);
      total += chunk.byteLength;
    }
  }
}
