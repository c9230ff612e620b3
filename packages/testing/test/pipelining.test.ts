import assert from 'node:assert/strict';
import { connect, type Socket } from 'node:net';
import { test } from 'node:test';
import { startUpstream } from '../src/index.ts';
import { waitFor } from './helpers.ts';

const TWO_GETS = 'GET /p HTTP/1.1\r\nHost: a\r\n\r\nGET /p HTTP/1.1\r\nHost: a\r\n\r\n';

/** A raw connection to the upstream that collects everything it receives. */
function rawConnection(port: number): { socket: Socket; received: () => string } {
  const socket = connect({ host: '127.0.0.1', port });
  let received = '';
  socket.setEncoding('utf8').on('data', (chunk: string) => {
    received += chunk;
  });
  socket.on('error', () => {});
  return { socket, received: () => received };
}

function statusLines(received: string): string[] {
  return received.match(/HTTP\/1\.1 \d{3}/g) ?? [];
}

// Two HTTP/1.1 requests written back to back on one connection (pipelining, RFC 9112 §9.3.2):
// each gets its own response, in request order.
test('pipelined requests on one connection are each answered, in order', async (t) => {
  const upstream = await startUpstream({ routes: { '/p': { steps: [{ status: 201 }, { status: 202 }] } } });
  t.after(() => upstream.close());
  const { socket, received } = rawConnection(upstream.port);
  t.after(() => socket.destroy());
  socket.write(TWO_GETS);
  await waitFor(() => statusLines(received()).length === 2, 'two response heads');
  assert.deepEqual(statusLines(received()), ['HTTP/1.1 201', 'HTTP/1.1 202']);
  await waitFor(() => upstream.counters('/p').inFlight === 0, 'inFlight back to 0');
  assert.deepEqual(upstream.counters('/p').statuses, { 201: 1, 202: 1 });
  assert.equal(upstream.counters('/p').connections, 1);
});

test('a pipelined request behind a delayed one is answered once the first response is done', async (t) => {
  const upstream = await startUpstream({
    routes: { '/p': { steps: [{ status: 201, delayHeadersMs: 50 }, { status: 202 }] } },
  });
  t.after(() => upstream.close());
  const { socket, received } = rawConnection(upstream.port);
  t.after(() => socket.destroy());
  socket.write(TWO_GETS);
  await waitFor(() => statusLines(received()).length === 2, 'two response heads');
  assert.deepEqual(statusLines(received()), ['HTTP/1.1 201', 'HTTP/1.1 202']);
  await waitFor(() => upstream.counters('/p').inFlight === 0, 'inFlight back to 0');
  assert.equal(upstream.counters('/p').peakInFlight, 2);
});

test("a pipelined reset: 'before-headers' resets the connection only after the earlier response", async (t) => {
  const upstream = await startUpstream({
    routes: { '/p': { steps: [{ status: 201, delayHeadersMs: 50 }, { reset: 'before-headers' }] } },
  });
  t.after(() => upstream.close());
  const { socket, received } = rawConnection(upstream.port);
  t.after(() => socket.destroy());
  const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
  socket.write(TWO_GETS);
  await closed;
  assert.deepEqual(statusLines(received()), ['HTTP/1.1 201']);
  assert.match(received(), /"n":0/);
});
