import assert from 'node:assert/strict';
import { test } from 'node:test';
import { gzipSync } from 'node:zlib';
import { createAgent } from '../src/index.ts';
import { startServer } from './http-server.ts';

test('a body shorter than its Content-Length errors the read, plain and gzip, and frees the slot', async (t) => {
  const gz = gzipSync(Buffer.from('hello world '.repeat(100)));
  const server = await startServer((request, response) => {
    if (request.url === '/plain') {
      response.writeHead(200, { 'content-length': '100' });
      response.write('short');
    } else {
      response.writeHead(200, { 'content-length': String(gz.length + 50), 'content-encoding': 'gzip' });
      response.write(gz.subarray(0, 20));
    }
    setTimeout(() => response.socket?.destroy(), 10);
  });
  t.after(() => server.close());
  const agent = createAgent();
  t.after(() => agent.close());
  for (const path of ['/plain', '/gz']) {
    const viaNode = await fetch(`${server.url}${path}`);
    const nodeError = await viaNode.text().then(
      () => 'ok',
      (e: Error) => `${e.name}: ${e.message}`,
    );
    const response = await agent.fetch(`${server.url}${path}`);
    const error = await response.text().then(
      () => 'ok',
      (e: Error) => `${e.name}: ${e.message}`,
    );
    assert.equal(error, nodeError, path);
  }
  assert.equal(agent.stats().inFlight, 0);
});
