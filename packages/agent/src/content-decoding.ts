import { Transform, type TransformCallback } from 'node:stream';
import zlib from 'node:zlib';

/** undici's fetch refuses a response with more content codings than this (a resource-exhaustion guard). */
export const MAX_CONTENT_CODINGS = 5;

/** A decoder of one content coding: a zlib transform (or the deflate sniffer below). */
export type Decoder = Transform;

/** A coding the fetch decodes, mapped to a factory of its decoder. */
type DecoderFactory = () => Decoder;

// Lenient flushing, as undici's fetch and cURL do: a body that stops short is not an error.
const zlibOptions: zlib.ZlibOptions = {
  flush: zlib.constants.Z_SYNC_FLUSH,
  finishFlush: zlib.constants.Z_SYNC_FLUSH,
};
const brotliOptions: zlib.BrotliOptions = {
  flush: zlib.constants.BROTLI_OPERATION_FLUSH,
  finishFlush: zlib.constants.BROTLI_OPERATION_FLUSH,
};

/**
 * `deflate` is meant to be a zlib stream but some servers send raw deflate: the first byte tells them apart
 * (a zlib header's low nibble is 8, the deflate method), as in undici's fetch and in browsers.
 */
class InflateSniffer extends Transform {
  #inflate: zlib.Inflate | zlib.InflateRaw | undefined;

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    if (this.#inflate === undefined) {
      if (chunk.length === 0) {
        callback();
        return;
      }
      const inflate =
        (chunk[0]! & 0x0f) === 0x08 ? zlib.createInflate(zlibOptions) : zlib.createInflateRaw(zlibOptions);
      inflate.on('data', (data: Buffer) => this.push(data));
      inflate.on('end', () => this.push(null));
      inflate.on('error', (error: Error) => this.destroy(error));
      this.#inflate = inflate;
    }
    this.#inflate.write(chunk, callback);
  }

  override _flush(callback: TransformCallback): void {
    if (this.#inflate === undefined) {
      callback();
      return;
    }
    // The output ends when the inflater's 'end' pushes null; wait for it before ending this transform.
    this.#inflate.once('end', () => callback());
    this.#inflate.end();
  }
}

type ZstdZlib = { createZstdDecompress?: (options: Record<string, unknown>) => Decoder };
const zstdConstants = zlib.constants as unknown as Record<string, number | undefined>;

function zstdFactory(): DecoderFactory | undefined {
  const create = (zlib as unknown as ZstdZlib).createZstdDecompress;
  const end = zstdConstants.ZSTD_e_end;
  const cont = zstdConstants.ZSTD_e_continue;
  if (typeof create !== 'function' || end === undefined || cont === undefined) return undefined;
  return () => create({ flush: cont, finishFlush: end });
}

const factories: ReadonlyMap<string, DecoderFactory> = new Map<string, DecoderFactory>([
  ['gzip', () => zlib.createGunzip(zlibOptions)],
  ['x-gzip', () => zlib.createGunzip(zlibOptions)],
  ['deflate', () => new InflateSniffer()],
  ['br', () => zlib.createBrotliDecompress(brotliOptions)],
  ...(zstdFactory() === undefined ? [] : [['zstd', zstdFactory()!] as [string, DecoderFactory]]),
]);

/**
 * The decoders for a `Content-Encoding` value, in the order the body goes through them (the last coding
 * applied is undone first). An empty list when nothing is to be decoded: no header, `identity`, or a coding
 * the fetch does not know (then, as in undici's fetch, the body is handed over as it came).
 * `'too many'` when the header lists more than {@link MAX_CONTENT_CODINGS} codings.
 */
export function decoderPlan(contentEncoding: string | null): DecoderFactory[] | 'too many' {
  if (contentEncoding === null || contentEncoding === '') return [];
  const codings = contentEncoding.toLowerCase().split(',');
  if (codings.length > MAX_CONTENT_CODINGS) return 'too many';
  const plan: DecoderFactory[] = [];
  for (let i = codings.length - 1; i >= 0; i--) {
    const factory = factories.get(codings[i]!.trim());
    if (factory === undefined) return [];
    plan.push(factory);
  }
  return plan;
}
