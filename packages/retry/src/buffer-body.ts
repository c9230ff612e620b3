import type { BodyTap, ReadResult } from './body-tap.ts';
import { withBody } from './response-fields.ts';

/** Statuses whose Response cannot carry a body. */
const NULL_BODY_STATUSES: readonly number[] = [101, 103, 204, 205, 304];

/**
 * Content types that are streams by nature: never buffered, whatever their size.
 */
const STREAMING_TYPES: readonly string[] = [
  'text/event-stream',
  'application/x-ndjson',
  'application/jsonl',
  'application/grpc',
  'multipart/x-mixed-replace',
];

/**
 * The agent's body-received protocol (known by name, so that separately installed copies agree): a
 * response of the agent's fetch has a method under this key that returns the body's length once the
 * whole body has arrived and is held in its stream, else `undefined`.
 */
const bodyReceivedKey: symbol = Symbol.for('@ky-resilience/body-received@1');

/** The length of a body that has arrived in full and was never read, or `undefined`. */
function receivedInFull(response: Response): number | undefined {
  if (response.bodyUsed) return undefined;
  const received = (response as unknown as Record<symbol, unknown>)[bodyReceivedKey];
  if (typeof received !== 'function') return undefined;
  const length: unknown = received.call(response);
  return typeof length === 'number' ? length : undefined;
}

/** True when the response is a stream by nature (server-sent events, NDJSON, gRPC, multipart replace). */
export function isStreamingResponse(response: Response): boolean {
  const contentType = response.headers.get('content-type');
  if (contentType === null) {
    return false;
  }
  const mime = (contentType.split(';', 1)[0] ?? '').trim().toLowerCase();
  return STREAMING_TYPES.some((type) => mime === type || mime.startsWith(`${type}+`));
}

/**
 * True when the body of `response` has arrived in full (the agent's body-received protocol), fits in
 * `maxSize` and was never read: it is in memory already and can no longer fail, whatever its
 * content type, so the response is kept as it is; the tap's watchers then end as they would after
 * reading it. Synchronous, so that the common case costs no promise.
 */
export function keptAsReceived(response: Response, maxSize: number, tap?: BodyTap): boolean {
  const { body } = response;
  if (body === null || body.locked || NULL_BODY_STATUSES.includes(response.status)) return false;
  const received = receivedInFull(response);
  if (received === undefined || received > maxSize) return false;
  tap?.received();
  return true;
}

/**
 * Reads the whole body of `response` inside the attempt and returns an equivalent `Response` whose
 * body is already in memory. A reset or a truncated body then rejects here (with undici's
 * `TypeError: terminated`, or the abort reason), inside the attempt, where the retry layer sees it.
 *
 * Passed through untouched: responses without a body, streaming content types, a `Content-Length`
 * over `maxSize`. A body without `Content-Length` that turns out larger than `maxSize` is returned
 * as a stream that replays the chunks already read and then continues with the rest.
 *
 * With `tap` (the tiers below left their body work to this tier), the body is read through it, so
 * that each tier's watcher sees every read and the end; a body that is not buffered is handed out
 * wrapped once for all of them.
 *
 * A body that has already arrived in full is returned as it is ({@link keptAsReceived}).
 */
export async function bufferResponse(response: Response, maxSize: number, tap?: BodyTap): Promise<Response> {
  if (keptAsReceived(response, maxSize, tap)) return response;
  const { body } = response;
  if (body === null || NULL_BODY_STATUSES.includes(response.status) || isStreamingResponse(response)) {
    return tap === undefined ? response : tap.expose(response);
  }
  const length = response.headers.get('content-length');
  if (length !== null) {
    const declared = Number(length);
    if (Number.isFinite(declared) && declared > maxSize) {
      return tap === undefined ? response : tap.expose(response);
    }
  }
  if (body.locked) {
    return tap === undefined ? response : tap.expose(response);
  }
  if (tap !== undefined) return bufferTapped(response, maxSize, tap);
  const reader = body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    let result: Awaited<ReturnType<typeof reader.read>>;
    try {
      result = await reader.read();
    } catch (error) {
      reader.releaseLock();
      throw error;
    }
    if (result.done) {
      break;
    }
    chunks.push(result.value);
    size += result.value.byteLength;
    if (size > maxSize) {
      return withBody(response, stitch(chunks, reader));
    }
  }
  reader.releaseLock();
  return withBody(response, concat(chunks, size));
}

async function bufferTapped(response: Response, maxSize: number, tap: BodyTap): Promise<Response> {
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    let result: ReadResult;
    try {
      result = await tap.readBody();
    } catch (error) {
      tap.release();
      throw error;
    }
    if (result.done) {
      break;
    }
    chunks.push(result.value);
    size += result.value.byteLength;
    if (size > maxSize) {
      const copy = withBody(response, tap.stream(chunks));
      tap.guard(copy);
      return copy;
    }
  }
  tap.release();
  return withBody(response, concat(chunks, size));
}

function concat(chunks: readonly Uint8Array[], size: number): Uint8Array<ArrayBuffer> {
  const bytes = new Uint8Array(size);
  let offset = 0;
  for (const chunk of chunks) {
    bytes.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return bytes;
}

/** A stream that yields `head` and then the rest of `reader`. */
function stitch(
  head: Uint8Array[],
  reader: ReadableStreamDefaultReader<Uint8Array>,
): ReadableStream<Uint8Array> {
  return new ReadableStream<Uint8Array>({
    async pull(controller): Promise<void> {
      const next = head.shift();
      if (next !== undefined) {
        controller.enqueue(next);
        return;
      }
      const result = await reader.read();
      if (result.done) {
        controller.close();
      } else {
        controller.enqueue(result.value);
      }
    },
    async cancel(reason): Promise<void> {
      head.length = 0;
      await reader.cancel(reason);
    },
  });
}
