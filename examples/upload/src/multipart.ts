import { randomBytes } from 'node:crypto';

/** A file part whose content arrives as a stream (read once, chunk by chunk). */
export type StreamedFile = {
  field: string;
  filename: string;
  contentType: string;
  stream: ReadableStream<Uint8Array>;
};

const quote = (value: string): string => value.replace(/["\r\n\\]/g, (c) => encodeURIComponent(c));

/**
 * A `multipart/form-data` body produced as it is read: the fields, then the file part copied
 * from `file.stream` chunk by chunk. The generator itself holds one chunk at a time, whatever the
 * file's size, but it can be read only once: a request with this body cannot be sent again.
 * What holds the body is the sender: the client's agent reads a request body into memory (up to
 * 16 MiB) to send it with a `Content-Length`, and sends the rest chunked past that (see the README).
 */
export function multipartStream(
  fields: Record<string, string>,
  file: StreamedFile,
): { body: ReadableStream<Uint8Array>; contentType: string } {
  const boundary = `----ky-resilience-${randomBytes(12).toString('hex')}`;
  const encoder = new TextEncoder();
  let head = '';
  for (const [name, value] of Object.entries(fields)) {
    head += `--${boundary}\r\nContent-Disposition: form-data; name="${quote(name)}"\r\n\r\n${value}\r\n`;
  }
  head +=
    `--${boundary}\r\nContent-Disposition: form-data; name="${quote(file.field)}"; filename="${quote(file.filename)}"\r\n` +
    `Content-Type: ${file.contentType}\r\n\r\n`;
  const tail = `\r\n--${boundary}--\r\n`;
  const reader = file.stream.getReader();
  let started = false;
  const body = new ReadableStream<Uint8Array>({
    async pull(controller) {
      if (!started) {
        started = true;
        controller.enqueue(encoder.encode(head));
        return;
      }
      const { done, value } = await reader.read();
      if (done) {
        controller.enqueue(encoder.encode(tail));
        controller.close();
      } else controller.enqueue(value);
    },
    cancel(reason) {
      return reader.cancel(reason);
    },
  });
  return { body, contentType: `multipart/form-data; boundary=${boundary}` };
}
