import assert from 'node:assert/strict';
import { test } from 'node:test';
import zlib from 'node:zlib';
import ky from 'ky';
import { createAgent } from '../src/index.ts';
import { eventually, startServer } from './http-server.ts';

const text = 'Hello, compressed world! '.repeat(200);
const hasZstd = typeof (zlib as { zstdCompressSync?: unknown }).zstdCompressSync === 'function';
const zstd = (data: Buffer): Buffer =>
  (zlib as unknown as { zstdCompressSync: (b: Buffer) => Buffer }).zstdCompressSync(data);

/** Bodies by path: [Content-Encoding, bytes]. */
const encoded: Record<string, [string, Buffer]> = {
  '/gzip': ['gzip', zlib.gzipSync(text)],
  '/x-gzip': ['x-gzip', zlib.gzipSync(text)],
  '/deflate': ['deflate', zlib.deflateSync(text)],
  '/deflate-raw': ['deflate', zlib.deflateRawSync(text)],
  '/br': ['br', zlib.brotliCompressSync(text)],
  '/upper': ['GZIP', zlib.gzipSync(text)],
  '/chained': ['deflate, gzip', zlib.gzipSync(zlib.deflateSync(text))],
  '/chained-br': ['gzip, br', zlib.brotliCompressSync(zlib.gzipSync(text))],
  '/identity': ['identity', Buffer.from(text)],
  '/unknown': ['compress-2000', Buffer.from('as sent')],
  '/empty-gzip': ['gzip', Buffer.alloc(0)],
  '/too-many': ['gzip, gzip, gzip, gzip, gzip, gzip', Buffer.from('x')],
  '/corrupt': ['gzip', Buffer.from('this is not gzip at all, not at all')],
  ...(hasZstd ? { '/zstd': ['zstd', zstd(Buffer.from(text))] as [string, Buffer] } : {}),
};

test('status, status text, headers, url, redirected and type', async (t) => {
  const server = await startServer((_req, res) => {
    res.statusMessage = 'Quite Fine';
    res.setHeader('set-cookie', ['a=1; Path=/', 'b=2; HttpOnly']);
    res.setHeader('x-multi', ['one', 'two']);
    res.writeHead(201, { 'content-type': 'text/plain' });
    res.end('made');
  });
  t.after(() => server.close());
  const agent = createAgent();
  t.after(() => agent.close());
  const response = await agent.fetch(`${server.url}/thing?x=1#frag`);
  assert.ok(response instanceof Response);
  assert.equal(response.status, 201);
  assert.equal(response.ok, true);
  assert.equal(response.statusText, 'Quite Fine');
  assert.equal(response.url, `${server.url}/thing?x=1`);
  assert.equal(response.redirected, false);
  assert.equal(response.type, 'basic');
  assert.equal(response.headers.get('content-type'), 'text/plain');
  assert.deepEqual(response.headers.getSetCookie(), ['a=1; Path=/', 'b=2; HttpOnly']);
  assert.equal(response.headers.get('x-multi'), 'one, two');
  assert.equal(Object.prototype.toString.call(response), '[object Response]');
  assert.equal(await response.text(), 'made');
  assert.equal(response.bodyUsed, true);
});

test('a status outside 200–599 is kept, a bad status text dropped', async (t) => {
  const server = await startServer((req, res) => {
    if (req.url === '/odd') {
      res.writeHead(799, 'Odd');
      res.end('odd');
      return;
    }
    res.socket!.write('HTTP/1.1 200 \x7fweird\r\ncontent-length: 2\r\n\r\nok');
  });
  t.after(() => server.close());
  const agent = createAgent();
  t.after(() => agent.close());
  const odd = await agent.fetch(`${server.url}/odd`);
  assert.equal(odd.status, 799);
  assert.equal(odd.ok, false);
  assert.equal(await odd.text(), 'odd');
  const weird = await agent.fetch(`${server.url}/weird`);
  assert.equal(weird.status, 200);
  assert.equal(weird.statusText, '');
  assert.equal(await weird.text(), 'ok');
});

test('HEAD, 204, 205 and 304 have a null body', async (t) => {
  const server = await startServer((req, res) => {
    const status = Number(req.url!.slice(1)) || 200;
    res.writeHead(status, { 'content-encoding': 'gzip', etag: '"e"' });
    res.end(status === 200 && req.method !== 'HEAD' ? 'body' : undefined);
  });
  t.after(() => server.close());
  const agent = createAgent();
  t.after(() => agent.close());
  const head = await agent.fetch(`${server.url}/200`, { method: 'HEAD' });
  assert.equal(head.body, null);
  assert.equal(head.status, 200);
  for (const status of [204, 205, 304]) {
    const response = await agent.fetch(`${server.url}/${status}`);
    assert.equal(response.status, status);
    assert.equal(response.body, null, String(status));
    assert.equal(await response.text(), '');
  }
  assert.equal((await agent.fetch(`${server.url}/304`)).headers.get('etag'), '"e"');
  assert.ok(await eventually(() => agent.stats().inFlight === 0));
});

test('content codings are decoded as Node’s fetch decodes them', async (t) => {
  const server = await startServer((req, res) => {
    const entry = encoded[req.url!];
    if (entry === undefined) {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { 'content-encoding': entry[0], 'content-length': entry[1].length });
    res.end(entry[1]);
  });
  t.after(() => server.close());
  const agent = createAgent();
  t.after(() => agent.close());
  const paths = [
    '/gzip',
    '/x-gzip',
    '/deflate',
    '/deflate-raw',
    '/br',
    '/upper',
    '/chained',
    '/chained-br',
    '/identity',
    '/unknown',
    '/empty-gzip',
  ];
  for (const path of paths) {
    const expected = await (await fetch(`${server.url}${path}`)).text();
    const response = await agent.fetch(`${server.url}${path}`);
    assert.equal(await response.text(), expected, path);
    assert.equal(response.headers.get('content-encoding'), encoded[path]![0], path);
  }
  assert.equal(await (await agent.fetch(`${server.url}/gzip`)).text(), text);
  assert.equal(await (await agent.fetch(`${server.url}/unknown`)).text(), 'as sent');
  if (hasZstd) assert.equal(await (await agent.fetch(`${server.url}/zstd`)).text(), text);
  assert.equal(agent.stats().inFlight, 0);
});

test('a corrupt body fails the body read; too many codings fail the fetch', async (t) => {
  const server = await startServer((req, res) => {
    const entry = encoded[req.url!]!;
    res.writeHead(200, { 'content-encoding': entry[0] });
    res.end(entry[1]);
  });
  t.after(() => server.close());
  const agent = createAgent();
  t.after(() => agent.close());
  const response = await agent.fetch(`${server.url}/corrupt`);
  assert.equal(response.status, 200);
  await assert.rejects(response.text(), (e: Error & { cause?: { code?: string } }) => {
    assert.equal(e.name, 'TypeError');
    assert.equal(e.message, 'terminated');
    assert.equal(e.cause?.code, 'Z_DATA_ERROR');
    return true;
  });
  await assert.rejects(agent.fetch(`${server.url}/too-many`), (e: Error & { cause?: Error }) => {
    assert.equal(e.message, 'fetch failed');
    assert.match(e.cause!.message, /too many content-encodings/);
    return true;
  });
  assert.ok(await eventually(() => agent.stats().inFlight === 0));
});

test('a large encoded body streams through the decoder intact', async (t) => {
  const big = Buffer.alloc(8 * 1024 * 1024);
  for (let i = 0; i < big.length; i++) big[i] = (i * 7919) % 251;
  const gz = zlib.gzipSync(big);
  const server = await startServer((_req, res) => {
    res.writeHead(200, { 'content-encoding': 'gzip' });
    res.end(gz);
  });
  t.after(() => server.close());
  const agent = createAgent();
  t.after(() => agent.close());
  const body = Buffer.from(await (await agent.fetch(server.url)).arrayBuffer());
  assert.equal(body.length, big.length);
  assert.ok(body.equals(big));
});

test('backpressure: a body read slowly is not buffered whole; the server’s writes wait', async (t) => {
  const chunk = Buffer.alloc(256 * 1024, 120);
  const total = 256; // 64 MiB
  let written = 0;
  let finished = false;
  const server = await startServer((_req, res) => {
    res.writeHead(200, { 'content-length': chunk.length * total });
    const pump = (): void => {
      while (written < total) {
        written++;
        if (!res.write(chunk)) {
          res.once('drain', pump);
          return;
        }
      }
      res.end(() => {
        finished = true;
      });
    };
    pump();
  });
  t.after(() => server.close());
  const agent = createAgent();
  t.after(() => agent.close());
  const response = await agent.fetch(server.url);
  const reader = response.body!.getReader();
  const first = await reader.read();
  assert.ok(first.value!.byteLength > 0);
  // Give the server every chance to push the whole body; with backpressure its writes stall.
  await new Promise((resolve) => setTimeout(resolve, 300));
  assert.equal(finished, false);
  assert.ok(written < total / 2, `server wrote ${written} of ${total} chunks while nothing was read`);
  let received = first.value!.byteLength;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    assert.ok(value instanceof Uint8Array);
    received += value.byteLength;
  }
  assert.equal(received, chunk.length * total);
  assert.equal(written, total);
});

test('chunks are plain Uint8Arrays, as fetch gives them', async (t) => {
  const server = await startServer((_req, res) => res.end('chunk'));
  t.after(() => server.close());
  const agent = createAgent();
  t.after(() => agent.close());
  const response = await agent.fetch(server.url);
  const reader = response.body!.getReader();
  const { value } = await reader.read();
  assert.equal(Object.getPrototypeOf(value), Uint8Array.prototype);
  assert.equal(Buffer.from(value!).toString(), 'chunk');
});

test('a clone and the original both read the body', async (t) => {
  const server = await startServer((_req, res) => res.end('twice'));
  t.after(() => server.close());
  const agent = createAgent();
  t.after(() => agent.close());
  const response = await agent.fetch(server.url);
  const copy = response.clone();
  assert.deepEqual(await Promise.all([response.text(), copy.text()]), ['twice', 'twice']);
});

test('a clone keeps url, redirected, type and an out-of-range status, as fetch’s own clone does', async (t) => {
  const server = await startServer((req, res) => {
    if (req.url === '/from') {
      res.writeHead(302, { location: '/to#frag' });
      res.end();
      return;
    }
    if (req.url === '/odd') {
      res.writeHead(999);
      res.end('odd');
      return;
    }
    res.end('here');
  });
  t.after(() => server.close());
  const agent = createAgent();
  t.after(() => agent.close());
  const response = await agent.fetch(`${server.url}/from`);
  const copy = response.clone();
  const twice = copy.clone();
  for (const r of [copy, twice]) {
    assert.ok(r instanceof Response);
    assert.equal(r.url, `${server.url}/to`);
    assert.equal(r.redirected, true);
    assert.equal(r.type, 'basic');
    assert.equal(r.status, 200);
  }
  assert.deepEqual(await Promise.all([response.text(), copy.text(), twice.text()]), ['here', 'here', 'here']);
  const odd = await agent.fetch(`${server.url}/odd`);
  const oddCopy = odd.clone();
  assert.equal(oddCopy.status, 999);
  assert.equal(oddCopy.ok, false);
  assert.equal(await oddCopy.text(), 'odd');
  await odd.text();
});

test('ky afterResponse hooks see the response url over the agent', async (t) => {
  const server = await startServer((_req, res) => res.end('ok'));
  t.after(() => server.close());
  const agent = createAgent();
  t.after(() => agent.close());
  const seen: string[] = [];
  const api = ky.create({
    fetch: agent.fetch,
    hooks: { afterResponse: [({ response }) => void seen.push(response.url)] },
  });
  assert.equal(await api.get(`${server.url}/path?q=1`).text(), 'ok');
  assert.deepEqual(seen, [`${server.url}/path?q=1`]);
});

const bodyReceived = Symbol.for('@ky-resilience/body-received@1');
/** The body-received protocol's answer for `response`. */
const received = (response: Response): number | undefined =>
  (response as unknown as Record<symbol, () => number | undefined>)[bodyReceived]!.call(response);

test('body-received: the length once the whole body is in the stream, undefined before', async (t) => {
  let finish: (() => void) | undefined;
  const server = await startServer((req, res) => {
    if (req.url === '/drip') {
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.write('first,');
      finish = () => res.end('second');
      return;
    }
    if (req.url === '/gzip') {
      const entry = encoded['/gzip']!;
      res.writeHead(200, { 'content-encoding': entry[0], 'content-length': entry[1].length });
      res.end(entry[1]);
      return;
    }
    res.writeHead(req.url === '/empty' ? 204 : 200);
    res.end(req.url === '/empty' ? undefined : 'whole body');
  });
  t.after(() => server.close());
  const agent = createAgent();
  t.after(() => agent.close());

  const whole = await agent.fetch(`${server.url}/whole`);
  assert.ok(await eventually(() => received(whole) !== undefined));
  assert.equal(received(whole), 'whole body'.length);
  assert.equal(whole.bodyUsed, false);
  assert.equal(await whole.text(), 'whole body');

  const drip = await agent.fetch(`${server.url}/drip`);
  const reader = drip.body!.getReader();
  assert.equal(new TextDecoder().decode((await reader.read()).value), 'first,');
  assert.equal(received(drip), undefined, 'the body is not over');
  finish!();
  assert.equal(new TextDecoder().decode((await reader.read()).value), 'second');
  assert.equal((await reader.read()).done, true);

  // Decoded bytes are counted.
  const gzip = await agent.fetch(`${server.url}/gzip`);
  assert.ok(await eventually(() => received(gzip) !== undefined));
  assert.equal(received(gzip), Buffer.byteLength(text));
  assert.equal(await gzip.text(), text);

  // A response without a body has nothing to receive; a cancelled body never arrives in full.
  assert.equal(received(await agent.fetch(`${server.url}/empty`)), undefined);
  const cancelled = await agent.fetch(`${server.url}/drip`);
  await cancelled.body!.cancel();
  finish!();
  assert.equal(received(cancelled), undefined);
});
