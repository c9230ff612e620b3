import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startUpstream, type Upstream } from '@ky-resilience/testing';
import { createClient, type ResilientClient } from 'ky-resilience';
import { type UploadResult, uploadFile, uploadStream } from './upload.ts';

export type UploadReport = {
  result: UploadResult;
  /** Requests the server received for this upload. */
  requests: number;
  /** Of those, how many carried the complete file and every field. */
  completeBodies: number;
};

/**
 * A server whose upload endpoints answer the first request with a 503 and the next ones with
 * 200 (the testing upstream), a CSV file of `rows` rows on disk, and one upload of each kind.
 */
export async function runScenario(options: {
  rows: number;
}): Promise<{ file: UploadReport; stream: UploadReport; fileBytes: number }> {
  const dir = await mkdtemp(join(tmpdir(), 'kyr-upload-'));
  try {
    const upstream = await startUpstream({
      routes: {
        '/upload/file': { steps: [{ status: 503 }, {}] },
        '/upload/stream': { steps: [{ status: 503 }, {}] },
      },
    });
    try {
      const client = createClient({
        name: 'upload',
        timeout: { total: 20_000, attempt: 10_000 },
        retry: { limit: 2, backoff: { strategy: 'full', base: 50, cap: 500 } },
      });
      try {
        return await uploadBoth(client, upstream, dir, options.rows);
      } finally {
        await client.close();
      }
    } finally {
      // Closed even when the client failed to start or to close: a listening server keeps the process alive.
      await upstream.close();
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** Writes the CSV file into `dir`, uploads it once as a file body and once as a stream. */
async function uploadBoth(
  client: ResilientClient,
  upstream: Upstream,
  dir: string,
  rows: number,
): Promise<{ file: UploadReport; stream: UploadReport; fileBytes: number }> {
  const path = join(dir, 'report.csv');
  const lines = ['id,task,status'];
  for (let i = 1; i <= rows; i++) lines.push(`${i},task ${i},${i % 3 === 0 ? 'done' : 'open'}`);
  const csv = `${lines.join('\n')}\n`;
  await writeFile(path, csv);
  const fields = { project: 'apollo', uploadedBy: 'user-42' };
  const check = (route: string, result: UploadResult): UploadReport => {
    const bodies = upstream.counters(route).bodies;
    return {
      result,
      requests: bodies.length,
      completeBodies: bodies.filter(
        (b) =>
          b.includes(csv) &&
          b.includes('apollo') &&
          b.includes('user-42') &&
          b.includes('filename="report.csv"'),
      ).length,
    };
  };
  const file = check(
    '/upload/file',
    await uploadFile(client, `${upstream.url}/upload/file`, path, fields, 'upload-file-1'),
  );
  const stream = check(
    '/upload/stream',
    await uploadStream(client, `${upstream.url}/upload/stream`, path, fields, 'upload-stream-1'),
  );
  return { file, stream, fileBytes: Buffer.byteLength(csv) };
}
