import assert from 'node:assert/strict';
import { connect, type Socket } from 'node:net';
import { test } from 'node:test';
import { blackholeServer, closedPort, hangingListener, startUpstream } from '../src/index.ts';
import { send } from './helpers.ts';

type Outcome = 'connected' | 'not connected' | { error: string | undefined };

/** Opens a TCP connection and reports what happened within `waitMs` (a bound, not a measurement). */
function tryConnect(port: number, waitMs: number): Promise<{ outcome: Outcome; socket: Socket }> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port });
    const timer = setTimeout(() => resolve({ outcome: 'not connected', socket }), waitMs);
    socket.once('connect', () => {
      clearTimeout(timer);
      resolve({ outcome: 'connected', socket });
    });
    socket.once('error', (error: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      resolve({ outcome: { error: error.code }, socket });
    });
  });
}

test('closedPort(): connecting is refused (ECONNREFUSED), with net and with fetch', async () => {
  const port = await closedPort();
  const { outcome, socket } = await tryConnect(port, 5_000);
  socket.destroy();
  assert.deepEqual(outcome, { error: 'ECONNREFUSED' });
  const error = await fetch(`http://127.0.0.1:${port}/`).then(
    () => assert.fail('expected fetch to fail'),
    (e: unknown) => e,
  );
  assert.equal(((error as Error).cause as { code?: string }).code, 'ECONNREFUSED');
});

test('blackholeServer(): the connection succeeds, the request is taken, no byte ever comes back', async (t) => {
  const hole = await blackholeServer();
  t.after(() => hole.close());
  const { outcome, socket } = await tryConnect(hole.port, 5_000);
  assert.equal(outcome, 'connected');
  const received: Buffer[] = [];
  socket.on('data', (chunk: Buffer) => received.push(chunk));
  socket.write('GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n');
  // A healthy upstream answers many requests meanwhile; the black hole still has said nothing.
  const upstream = await startUpstream();
  t.after(() => upstream.close());
  for (let i = 0; i < 5; i += 1) assert.equal((await send(`${upstream.url}/`)).status, 200);
  await new Promise((resolve) => setTimeout(resolve, 200));
  assert.deepEqual(received, []);
  assert.equal(hole.connections, 1);
  const closed = new Promise((resolve) => socket.once('close', resolve));
  await hole.close();
  await closed;
});

test('hangingListener(): a new connection does not complete within a bounded wait', async (t) => {
  const hang = await hangingListener();
  t.after(() => hang.close());
  assert.equal(hang.held, 2);
  const { outcome, socket } = await tryConnect(hang.port, 1_500);
  assert.equal(socket.connecting, outcome === 'not connected');
  socket.destroy();
  assert.equal(outcome, 'not connected');
});

test('hangingListener() closes cleanly and twice', async () => {
  const hang = await hangingListener();
  await hang.close();
  await hang.close();
  const { outcome, socket } = await tryConnect(hang.port, 5_000);
  socket.destroy();
  assert.deepEqual(outcome, { error: 'ECONNREFUSED' });
});
