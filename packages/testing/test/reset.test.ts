import assert from 'node:assert/strict';
import { Agent, request } from 'node:http';
import { test } from 'node:test';
import { startUpstream } from '../src/index.ts';
import { send, waitFor } from './helpers.ts';

function errorCode(error: unknown): unknown {
  return (error as { code?: unknown }).code;
}

test("reset: 'before-headers' sends a TCP RST before any byte (ECONNRESET)", async (t) => {
  const upstream = await startUpstream({
    routes: { '/r': { steps: [{ reset: 'before-headers' }, {}] } },
  });
  t.after(() => upstream.close());
  const error = await send(`${upstream.url}/r`, { method: 'POST', body: 'payload' }).then(
    () => assert.fail('expected a connection reset'),
    (e: unknown) => e,
  );
  assert.equal(errorCode(error), 'ECONNRESET');
  // A RST surfaces as a failed read; a plain close would be "socket hang up" without a syscall.
  assert.equal((error as NodeJS.ErrnoException).syscall, 'read');
  assert.deepEqual(upstream.counters('/r').bodies, ['payload'], 'the body was read before the reset');
  assert.deepEqual(upstream.counters('/r').statuses, {});
  assert.equal((await send(`${upstream.url}/r`)).status, 200);
});

test("reset: 'before-headers' surfaces in fetch as a network error", async (t) => {
  const upstream = await startUpstream({ routes: { '/r': { steps: [{ reset: 'before-headers' }] } } });
  t.after(() => upstream.close());
  const error = await fetch(`${upstream.url}/r`).then(
    () => assert.fail('expected fetch to fail'),
    (e: unknown) => e,
  );
  assert.ok(error instanceof TypeError);
  const cause = (error as TypeError).cause as { code?: string; message?: string };
  assert.ok(
    cause.code === 'ECONNRESET' || /other side closed/.test(cause.message ?? ''),
    String(cause.message),
  );
});

test("reset: 'mid-body' sends the head and the first chunk, then a RST", async (t) => {
  const upstream = await startUpstream({
    routes: { '/m': { steps: [{ reset: 'mid-body', bodyPrefix: 'partial', body: 'partial-and-the-rest' }] } },
  });
  t.after(() => upstream.close());
  const events: string[] = [];
  let socketError: NodeJS.ErrnoException | undefined;
  const error = await new Promise<unknown>((resolve) => {
    const req = request(`${upstream.url}/m`, { agent: false }, (res) => {
      events.push(`head ${res.statusCode}`);
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => events.push(`data ${chunk}`));
      res.on('end', () => events.push('end'));
      res.on('error', resolve);
    });
    req.on('error', resolve);
    req.on('socket', (socket) => {
      socket.on('error', (e: NodeJS.ErrnoException) => {
        socketError = e;
      });
    });
    req.end();
  });
  assert.deepEqual(events, ['head 200', 'data partial']);
  assert.equal(errorCode(error), 'ECONNRESET');
  // The socket itself saw the RST (a plain close would end it without an error).
  assert.equal(socketError?.code, 'ECONNRESET');
  assert.equal(socketError?.syscall, 'read');
  assert.deepEqual(upstream.counters('/m').statuses, { 200: 1 });
});

test("reset: 'mid-body' makes a fetch body read fail", async (t) => {
  const upstream = await startUpstream({ routes: { '/m': { steps: [{ reset: 'mid-body' }] } } });
  t.after(() => upstream.close());
  const response = await fetch(`${upstream.url}/m`);
  assert.equal(response.status, 200);
  await assert.rejects(response.text(), TypeError);
});

test('close: true answers with Connection: close and closes the socket', async (t) => {
  const upstream = await startUpstream({ routes: { '/c': { steps: [{ close: true }, {}] } } });
  t.after(() => upstream.close());
  const agent = new Agent({ keepAlive: true });
  try {
    const first = await send(`${upstream.url}/c`, { agent });
    assert.equal(first.headers.connection, 'close');
    await waitFor(() => upstream.openSockets === 0, 'the server to close the socket');
    const second = await send(`${upstream.url}/c`, { agent });
    assert.equal(second.headers.connection, 'keep-alive');
    assert.equal(upstream.connections, 2);
  } finally {
    agent.destroy();
  }
});

test('a short keepAliveTimeout closes an idle keep-alive socket (the client sees close)', async (t) => {
  const upstream = await startUpstream({
    keepAliveTimeout: 50,
    routes: { '/slow': { steps: [{ delayHeadersMs: 1_000 }] } },
  });
  t.after(() => upstream.close());
  const agent = new Agent({ keepAlive: true, timeout: 60_000 });
  const events: string[] = [];
  try {
    const closed = new Promise<void>((resolve) => {
      const req = request(`${upstream.url}/k`, { agent }, (res) => {
        res.resume();
        res.on('end', () => {
          req.socket?.once('close', () => {
            events.push('idle socket closed');
            resolve();
          });
        });
      });
      req.end();
    });
    await waitFor(() => upstream.counters('/k').requests === 1, 'the first request');
    // A reference on another connection: the idle socket must close well before this 1 s delay ends
    // (with Node 24's default keepAliveTimeoutBuffer of 1 s it would not).
    const slow = send(`${upstream.url}/slow`).then(() => events.push('slow response'));
    await Promise.all([closed, slow]);
    assert.deepEqual(events, ['idle socket closed', 'slow response']);
    await waitFor(() => upstream.openSockets === 0, 'the server side of the socket to close');
  } finally {
    agent.destroy();
  }
});

test('the default keep-alive timeout keeps an idle socket open; closeIdleSockets() closes it', async (t) => {
  const upstream = await startUpstream();
  t.after(() => upstream.close());
  const agent = new Agent({ keepAlive: true });
  try {
    await send(`${upstream.url}/a`, { agent });
    await new Promise((resolve) => setTimeout(resolve, 300));
    assert.equal(upstream.openSockets, 1);
    upstream.closeIdleSockets();
    await waitFor(() => upstream.openSockets === 0, 'the idle socket to close');
  } finally {
    agent.destroy();
  }
});

test('no Keep-Alive hint by default (clients keep stale sockets); keepAliveHint: true sends it', async (t) => {
  const quiet = await startUpstream({ keepAliveTimeout: 3_000 });
  t.after(() => quiet.close());
  const hinting = await startUpstream({ keepAliveTimeout: 3_000, keepAliveHint: true });
  t.after(() => hinting.close());
  const agent = new Agent({ keepAlive: true });
  try {
    const a = await send(`${quiet.url}/`, { agent });
    assert.equal(a.headers.connection, 'keep-alive');
    assert.equal(a.headers['keep-alive'], undefined);
    const b = await send(`${hinting.url}/`, { agent });
    assert.equal(b.headers.connection, 'keep-alive');
    assert.equal(b.headers['keep-alive'], 'timeout=3');
  } finally {
    agent.destroy();
  }
});

test('a client that asks for Connection: close is not told keep-alive', async (t) => {
  const upstream = await startUpstream();
  t.after(() => upstream.close());
  const response = await send(`${upstream.url}/`, { headers: { connection: 'close' } });
  assert.equal(response.headers.connection, 'close');
});

test('closeIdleSockets() leaves a socket that is serving a delayed response alone', async (t) => {
  const upstream = await startUpstream({ routes: { '/d': { steps: [{ delayHeadersMs: 300 }] } } });
  t.after(() => upstream.close());
  const pending = send(`${upstream.url}/d`);
  await waitFor(() => upstream.counters('/d').bodies.length === 1, 'the request body');
  upstream.closeIdleSockets();
  assert.equal((await pending).status, 200);
});
