import assert from 'node:assert/strict';
import { Agent } from 'node:http';
import { test } from 'node:test';
import { blackholeServer, startUpstream } from '../src/index.ts';
import { send, waitFor } from './helpers.ts';

function resources(): string[] {
  return process.getActiveResourcesInfo().sort();
}

async function settle(): Promise<void> {
  for (let i = 0; i < 5; i += 1) await new Promise((resolve) => setImmediate(resolve));
}

test('close() with requests mid-delay, mid-drip and mid-stall leaves no handles behind', async () => {
  await settle();
  const before = resources();
  const upstream = await startUpstream({
    routes: {
      '/delay': { steps: [{ delayHeadersMs: 60_000 }] },
      '/drip': { steps: [{ drip: { chunks: 1_000, intervalMs: 50 } }] },
      '/stall': { steps: [{ stallBody: true, bodyPrefix: 'x' }] },
    },
  });
  const agent = new Agent({ keepAlive: true });
  const outcomes = ['/delay', '/drip', '/stall'].map((path) =>
    send(`${upstream.url}${path}`, { agent }).then(
      () => 'completed',
      () => 'failed',
    ),
  );
  await send(`${upstream.url}/idle`, { agent });
  await waitFor(() => upstream.counters().bodies.length === 4, 'all requests to be read');
  assert.equal(upstream.counters().inFlight, 3);
  await upstream.close();
  await upstream.close();
  assert.deepEqual(await Promise.all(outcomes), ['failed', 'failed', 'failed']);
  agent.destroy();
  await settle();
  assert.equal(upstream.openSockets, 0);
  assert.deepEqual(resources(), before);
});

test('Symbol.asyncDispose closes the upstream (the port stops answering)', async () => {
  const upstream = await startUpstream();
  const url = upstream.url;
  assert.equal((await send(`${url}/`)).status, 200);
  // What `await using` calls at the end of its block (Node 24+ syntax; the method exists on Node 22 too).
  await upstream[Symbol.asyncDispose]();
  await assert.rejects(send(`${url}/`), (error: NodeJS.ErrnoException) => error.code === 'ECONNREFUSED');
});

test('the upstream listens on ::1 when asked (where IPv6 loopback is available)', async (t) => {
  let upstream: Awaited<ReturnType<typeof startUpstream>>;
  try {
    upstream = await startUpstream({ host: '::1' });
  } catch (error) {
    t.skip(`IPv6 loopback unavailable: ${(error as Error).message}`);
    return;
  }
  try {
    assert.match(upstream.url, /^http:\/\/\[::1\]:\d+$/);
    assert.equal(upstream.host, '::1');
    assert.equal((await send(`${upstream.url}/six`)).status, 200);
    assert.equal(upstream.byHost('[::1]').requests, 1);
  } finally {
    await upstream.close();
  }
});

test('url, origin, port and host describe the listening address', async (t) => {
  const upstream = await startUpstream();
  t.after(() => upstream.close());
  assert.equal(upstream.host, '127.0.0.1');
  assert.ok(upstream.port > 0);
  assert.equal(upstream.url, `http://127.0.0.1:${upstream.port}`);
  assert.equal(upstream.origin, upstream.url);
});

test('blackholeServer close() leaves no handles behind', async () => {
  await settle();
  const before = resources();
  const hole = await blackholeServer();
  const outcome = send(hole.url).then(
    () => 'completed',
    () => 'failed',
  );
  await waitFor(() => hole.connections === 1, 'the connection');
  await hole.close();
  assert.equal(await outcome, 'failed');
  await settle();
  assert.deepEqual(resources(), before);
});
