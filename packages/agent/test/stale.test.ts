import assert from 'node:assert/strict';
import { createServer, type Server, type Socket } from 'node:net';
import { test } from 'node:test';
import { createAgent } from '../src/index.ts';
import { failure } from './helpers.ts';

/**
 * A raw HTTP/1.1 server that answers the first request of every connection with keep-alive, and closes the
 * connection without answering the second one: what a client sees when the server's idle timeout closes a
 * keep-alive socket just as the next request goes out.
 */
async function staleServer(
  closeOn: 'first' | 'second' = 'second',
  how: 'close' | 'reset' = 'close',
): Promise<{
  port: number;
  seen: string[];
  answered: number;
  connections: number;
  close(): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
}> {
  const state = {
    port: 0,
    seen: [] as string[],
    answered: 0,
    connections: 0,
    close: async () => {},
    [Symbol.asyncDispose]: () => state.close(),
  };
  const sockets = new Set<Socket>();
  const server: Server = createServer((socket) => {
    state.connections++;
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    let n = 0;
    let buffer = '';
    socket.on('data', (chunk) => {
      buffer += chunk.toString('latin1');
      let end = buffer.indexOf('\r\n\r\n');
      while (end !== -1) {
        const head = buffer.slice(0, end);
        const length = Number(/content-length:\s*(\d+)/i.exec(head)?.[1] ?? 0);
        if (buffer.length < end + 4 + length) return;
        state.seen.push(head.split('\r\n')[0]!);
        buffer = buffer.slice(end + 4 + length);
        if ((n++ === 0) === (closeOn === 'second')) {
          state.answered++;
          socket.write('HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: keep-alive\r\n\r\nok');
        } else {
          // `close`: a FIN (undici: "other side closed"); `reset`: an RST, as the server's kernel answers a
          // request written to a connection the server has closed (the client reads ECONNRESET).
          if (how === 'reset') socket.resetAndDestroy();
          else socket.end();
          return;
        }
        end = buffer.indexOf('\r\n\r\n');
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  state.port = (server.address() as { port: number }).port;
  state.close = () =>
    new Promise<void>((resolve) => {
      for (const s of sockets) s.destroy();
      server.close(() => resolve());
    });
  return state;
}

for (const [how, seen] of [
  ['close', 'closed (FIN: "other side closed")'],
  ['reset', 'reset (RST: ECONNRESET)'],
] as const) {
  test(`a GET that meets a keep-alive socket the server ${seen} is replayed once on a new connection`, async (t) => {
    const server = await staleServer('second', how);
    t.after(() => server.close());
    const agent = createAgent({ limitPerHost: 1 });
    t.after(() => agent.close());
    const url = `http://127.0.0.1:${server.port}`;
    assert.equal(await (await agent.fetch(`${url}/one`)).text(), 'ok');
    assert.equal(await (await agent.fetch(`${url}/two`)).text(), 'ok');
    assert.deepEqual(server.seen, ['GET /one HTTP/1.1', 'GET /two HTTP/1.1', 'GET /two HTTP/1.1']);
    assert.equal(server.connections, 2);
    assert.equal(agent.stats().staleRetries, 1);
  });
}

test('a POST without an Idempotency-Key is never replayed', async (t) => {
  const server = await staleServer();
  t.after(() => server.close());
  const agent = createAgent({ limitPerHost: 1 });
  t.after(() => agent.close());
  const url = `http://127.0.0.1:${server.port}`;
  await (await agent.fetch(`${url}/one`)).text();
  const error = (await failure(agent.fetch(`${url}/order`, { method: 'POST', body: 'x=1' }))) as {
    code?: string;
  };
  assert.equal(error.code, 'UND_ERR_SOCKET');
  assert.deepEqual(server.seen, ['GET /one HTTP/1.1', 'POST /order HTTP/1.1']);
  assert.equal(agent.stats().staleRetries, 0);
});

test('a request whose fresh connection is closed before any response is not replayed', async (t) => {
  const server = await staleServer('first');
  t.after(() => server.close());
  const agent = createAgent();
  t.after(() => agent.close());
  const error = (await failure(agent.fetch(`http://127.0.0.1:${server.port}/fresh`))) as { code?: string };
  assert.equal(error.code, 'UND_ERR_SOCKET');
  assert.deepEqual(server.seen, ['GET /fresh HTTP/1.1']);
  assert.equal(agent.stats().staleRetries, 0);
});

test('retryStaleConnections: false leaves the error to the caller', async (t) => {
  const server = await staleServer();
  t.after(() => server.close());
  const agent = createAgent({ limitPerHost: 1, retryStaleConnections: false });
  t.after(() => agent.close());
  const url = `http://127.0.0.1:${server.port}`;
  await (await agent.fetch(`${url}/one`)).text();
  const error = (await failure(agent.fetch(`${url}/two`))) as { code?: string };
  assert.equal(error.code, 'UND_ERR_SOCKET');
  assert.equal(server.seen.length, 2);
});

test('a PUT with a body, and a POST with an Idempotency-Key, are replayed: the lean fetch sends bodies as bytes', async (t) => {
  const requests: [string, RequestInit | Request][] = [
    ['PUT /put', { method: 'PUT', body: 'v=1' }],
    [
      'POST /order',
      new Request('http://127.0.0.1/order', {
        method: 'POST',
        body: JSON.stringify({ n: 1 }),
        headers: { 'idempotency-key': 'k-1' },
      }),
    ],
  ];
  for (const [line, init] of requests) {
    const server = await staleServer();
    t.after(() => server.close());
    const agent = createAgent({ limitPerHost: 1 });
    t.after(() => agent.close());
    const url = `http://127.0.0.1:${server.port}`;
    await (await agent.fetch(`${url}/one`)).text();
    const path = line.split(' ')[1]!;
    const response =
      init instanceof Request
        ? await agent.fetch(new Request(`${url}${path}`, init))
        : await agent.fetch(`${url}${path}`, init);
    assert.equal(await response.text(), 'ok');
    assert.deepEqual(server.seen, ['GET /one HTTP/1.1', `${line} HTTP/1.1`, `${line} HTTP/1.1`]);
    assert.equal(agent.stats().staleRetries, 1);
  }
});

test('a reset is not replayed for a POST without a key, nor on a fresh connection', async (t) => {
  const reused = await staleServer('second', 'reset');
  t.after(() => reused.close());
  const agent = createAgent({ limitPerHost: 1 });
  t.after(() => agent.close());
  const url = `http://127.0.0.1:${reused.port}`;
  await (await agent.fetch(`${url}/one`)).text();
  const post = (await failure(agent.fetch(`${url}/order`, { method: 'POST', body: 'x=1' }))) as {
    code?: string;
  };
  assert.equal(post.code, 'ECONNRESET');
  assert.deepEqual(reused.seen, ['GET /one HTTP/1.1', 'POST /order HTTP/1.1']);

  const fresh = await staleServer('first', 'reset');
  t.after(() => fresh.close());
  const error = (await failure(agent.fetch(`http://127.0.0.1:${fresh.port}/fresh`))) as { code?: string };
  assert.equal(error.code, 'ECONNRESET');
  assert.deepEqual(fresh.seen, ['GET /fresh HTTP/1.1']);
  assert.equal(agent.stats().staleRetries, 0);
});
