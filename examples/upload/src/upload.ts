import { createReadStream, openAsBlob } from 'node:fs';
import { basename } from 'node:path';
import { Readable } from 'node:stream';
import { getRetryDecision } from '@ky-resilience/retry';
import { isHTTPError, type KyInstance } from 'ky';
import { multipartStream } from './multipart.ts';

export type UploadResult = {
  ok: boolean;
  /** The final status, when a response came. */
  status: number | undefined;
  /** Why the client stopped retrying (the retry tier's decision), when the upload failed. */
  decision: string | undefined;
  /**
   * The server's answer, when it succeeded: the body parsed as JSON (its text when it is not
   * JSON), or `undefined` when there is none (a 204, or an empty body).
   */
  answer: unknown;
};

async function readAnswer(response: Response): Promise<unknown> {
  const text = await response.text();
  if (text === '') return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

async function attempt(send: () => Promise<Response>): Promise<UploadResult> {
  try {
    const response = await send();
    return { ok: true, status: response.status, decision: undefined, answer: await readAnswer(response) };
  } catch (error) {
    const decision = getRetryDecision(error);
    return {
      ok: false,
      status: isHTTPError(error) ? error.response.status : undefined,
      decision:
        decision === undefined
          ? String(error)
          : `${decision.reason} (after ${decision.attempts} attempt(s), ${decision.failure})`,
      answer: undefined,
    };
  }
}

/**
 * Uploads a file as `multipart/form-data` from a `FormData` whose file part is a file-backed
 * `Blob` (`fs.openAsBlob`): the body can be produced again for every attempt, so a failed upload
 * is retried. A POST, so the retry tier retries it only because it carries an Idempotency-Key.
 */
export async function uploadFile(
  client: KyInstance,
  url: string,
  path: string,
  fields: Record<string, string>,
  idempotencyKey: string,
): Promise<UploadResult> {
  const form = new FormData();
  for (const [name, value] of Object.entries(fields)) form.append(name, value);
  form.append('file', await openAsBlob(path, { type: 'text/csv' }), basename(path));
  return attempt(() => client.post(url, { body: form, headers: { 'idempotency-key': idempotencyKey } }));
}

/**
 * Uploads the same file as a streamed multipart body (read from disk as it is sent). The body
 * is one-shot: whatever the failure and even with an Idempotency-Key, the retry tier does not
 * retry it (decision `stream-body`), and ky does not buffer a copy of it.
 */
export async function uploadStream(
  client: KyInstance,
  url: string,
  path: string,
  fields: Record<string, string>,
  idempotencyKey: string,
): Promise<UploadResult> {
  const file = Readable.toWeb(createReadStream(path)) as ReadableStream<Uint8Array>;
  const { body, contentType } = multipartStream(fields, {
    field: 'file',
    filename: basename(path),
    contentType: 'text/csv',
    stream: file,
  });
  return attempt(() =>
    client.post(url, { body, headers: { 'content-type': contentType, 'idempotency-key': idempotencyKey } }),
  );
}
