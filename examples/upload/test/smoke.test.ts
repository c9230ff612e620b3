import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { startUpstream } from '@ky-resilience/testing';
import { createClient } from 'ky-resilience';
import { multipartStream } from '../src/multipart.ts';
import { runScenario } from '../src/scenario.ts';
import { uploadFile, uploadStream } from '../src/upload.ts';

test('after a 503, the file body is sent again in full; the one-shot stream body is not', async () => {
  const { file, stream } = await runScenario({ rows: 2_000 });
  assert.equal(file.result.ok, true);
  assert.equal(file.requests, 2, 'one retry');
  assert.equal(file.completeBodies, 2, 'both attempts carried the whole file and the fields');

  assert.equal(stream.result.ok, false);
  assert.equal(stream.result.status, 503);
  assert.match(stream.result.decision ?? '', /^stream-body/);
  assert.equal(stream.requests, 1, 'never sent again');
  assert.equal(stream.completeBodies, 1, 'the one attempt carried the whole file');
});

test('a successful upload reports the real status, and a 204 has no answer to parse', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'kyr-upload-test-'));
  const upstream = await startUpstream({
    routes: { '/created': { steps: [{ status: 201 }] }, '/empty': { steps: [{ status: 204 }] } },
  });
  const client = createClient({ name: 'upload-status', retry: { limit: 0 } });
  try {
    const path = join(dir, 'x.csv');
    await writeFile(path, 'a,b\n1,2\n');
    const created = await uploadFile(client, `${upstream.url}/created`, path, {}, 'k-1');
    assert.deepEqual(
      [created.ok, created.status, (created.answer as { route?: string } | undefined)?.route],
      [true, 201, '/created'],
    );
    const empty = await uploadFile(client, `${upstream.url}/empty`, path, {}, 'k-2');
    assert.deepEqual([empty.ok, empty.status, empty.answer], [true, 204, undefined]);
    const streamed = await uploadStream(client, `${upstream.url}/empty`, path, {}, 'k-3');
    assert.deepEqual([streamed.ok, streamed.status, streamed.answer], [true, 204, undefined]);
    assert.equal(upstream.counters('/empty').requests, 2);
  } finally {
    await client.close();
    await upstream.close();
    await rm(dir, { recursive: true, force: true });
  }
});

test('the streamed multipart body parses as the fields and the file', async () => {
  const content = 'a,b\n1,2\n';
  const { body, contentType } = multipartStream(
    { project: 'apollo' },
    { field: 'file', filename: 'x.csv', contentType: 'text/csv', stream: new Blob([content]).stream() },
  );
  const form = await new Response(body, { headers: { 'content-type': contentType } }).formData();
  assert.equal(form.get('project'), 'apollo');
  const part = form.get('file');
  assert.ok(part instanceof File);
  assert.equal(part.name, 'x.csv');
  assert.equal(await part.text(), content);
});

test('the example program runs and exits 0', async () => {
  const main = fileURLToPath(new URL('../src/main.ts', import.meta.url));
  const stdout = await new Promise<string>((resolve, reject) => {
    execFile(process.execPath, [main, '500'], { timeout: 60_000 }, (error, out) =>
      error ? reject(error) : resolve(out),
    );
  });
  assert.match(stdout, /file body .*uploaded; the server received 2 requests, 2 with the complete file/);
  assert.match(stdout, /stream body .*not retried: stream-body.* received 1 request/);
});
