import assert from 'node:assert/strict';
import { test } from 'node:test';
import { closedPort, startUpstream } from '@ky-resilience/testing';
import { createAgent, isBlockedAddressError, isDnsLookupError } from '../src/index.ts';
import { failure, loopback, tableResolver } from './helpers.ts';
import { eventually } from './http-server.ts';

const turn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

test('an aborted signal rejects with its reason and touches no socket', async (t) => {
  const upstream = await startUpstream();
  t.after(() => upstream.close());
  const agent = createAgent();
  t.after(() => agent.close());
  const reason = { why: 'already gone' };
  const controller = new AbortController();
  controller.abort(reason);
  await assert.rejects(agent.fetch(upstream.url, { signal: controller.signal }), (e) => e === reason);
  const request = new Request(upstream.url, { method: 'POST', body: 'x', signal: controller.signal });
  await assert.rejects(agent.fetch(request), (e) => e === reason);
  const plain = new AbortController();
  plain.abort();
  await assert.rejects(agent.fetch(upstream.url, { signal: plain.signal }), { name: 'AbortError' });
  assert.equal(upstream.connections, 0);
  assert.deepEqual(agent.stats().origins, {});
});

test('an abort while waiting for the head rejects at once and closes the request’s socket', async (t) => {
  const upstream = await startUpstream({ routes: { '/late': { steps: [{ delayHeadersMs: 5_000 }] } } });
  t.after(() => upstream.close());
  const agent = createAgent();
  t.after(() => agent.close());
  const controller = new AbortController();
  const pending = agent.fetch(`${upstream.url}/late`, { signal: controller.signal });
  assert.ok(await eventually(() => upstream.counters('/late').inFlight === 1));
  const reason = new Error('user left');
  controller.abort(reason);
  await assert.rejects(pending, (e) => e === reason);
  assert.ok(await eventually(() => agent.stats().inFlight === 0));
  assert.ok(await eventually(() => upstream.openSockets === 0));
});

test('a signal in init replaces the Request’s own, as new Request(request, { signal }) does', async (t) => {
  const upstream = await startUpstream({ routes: { '/late': { steps: [{ delayHeadersMs: 5_000 }] } } });
  t.after(() => upstream.close());
  const agent = createAgent();
  t.after(() => agent.close());
  const own = new AbortController();
  const given = new AbortController();
  const pending = agent.fetch(new Request(`${upstream.url}/late`, { signal: own.signal }), {
    signal: given.signal,
  });
  assert.ok(await eventually(() => upstream.counters('/late').inFlight === 1));
  own.abort(new Error('ignored'));
  const reason = new Error('from init');
  given.abort(reason);
  await assert.rejects(pending, (e) => e === reason);
  assert.ok(await eventually(() => agent.stats().inFlight === 0));
});

test('an abort while the body is read errors the body with the reason and frees the slot', async (t) => {
  const upstream = await startUpstream({
    routes: { '/drip': { steps: [{ drip: { chunks: 200, intervalMs: 20, chunk: 'tick' } }] } },
  });
  t.after(() => upstream.close());
  const agent = createAgent({ limit: 1 });
  t.after(() => agent.close());
  const controller = new AbortController();
  const response = await agent.fetch(`${upstream.url}/drip`, { signal: controller.signal });
  const reader = response.body!.getReader();
  const first = await reader.read();
  assert.equal(first.done, false);
  const reason = new Error('enough');
  controller.abort(reason);
  await assert.rejects(
    (async () => {
      for (;;) if ((await reader.read()).done) return;
    })(),
    (e) => e === reason,
  );
  assert.ok(await eventually(() => agent.stats().inFlight === 0));
  // The slot of the single-slot agent is free again.
  assert.equal((await agent.fetch(`${upstream.url}/after`)).status, 200);
});

test('cancelling the body stops the request and frees the slot', async (t) => {
  const upstream = await startUpstream({
    routes: { '/drip': { steps: [{ drip: { chunks: 200, intervalMs: 20 } }] } },
  });
  t.after(() => upstream.close());
  const agent = createAgent({ limit: 1 });
  t.after(() => agent.close());
  const response = await agent.fetch(`${upstream.url}/drip`);
  await response.body!.cancel('not interested');
  assert.ok(await eventually(() => agent.stats().inFlight === 0));
  assert.ok(await eventually(() => upstream.counters('/drip').inFlight === 0));
  assert.equal((await agent.fetch(`${upstream.url}/after`)).status, 200);
});

test('an abort while a request body is still being read rejects with the reason; nothing is sent', async (t) => {
  const upstream = await startUpstream();
  t.after(() => upstream.close());
  const agent = createAgent();
  t.after(() => agent.close());
  let cancelled: unknown;
  const body = new ReadableStream<Uint8Array>({
    pull: () => new Promise(() => {}),
    cancel(reason) {
      cancelled = reason;
    },
  });
  const controller = new AbortController();
  const pending = agent.fetch(upstream.url, {
    method: 'POST',
    body,
    duplex: 'half',
    signal: controller.signal,
  } as RequestInit);
  await new Promise((resolve) => setImmediate(resolve));
  const reason = new Error('stop uploading');
  controller.abort(reason);
  await assert.rejects(pending, (e) => e === reason);
  assert.ok(await eventually(() => cancelled === reason));
  assert.equal(upstream.counters().requests, 0);
});

test('network failures reject with TypeError("fetch failed") and the dispatcher’s error as cause', async (t) => {
  const upstream = await startUpstream({
    routes: {
      '/reset': { steps: [{ reset: 'before-headers' }] },
      '/cut': { steps: [{ reset: 'mid-body', bodyPrefix: 'partial' }] },
    },
  });
  t.after(() => upstream.close());
  const port = await closedPort();
  const { resolver } = tableResolver({
    'ok.test': loopback(),
    'private.test': [{ address: '10.0.0.1', family: 4 }],
  });
  const agent = createAgent({
    resolver,
    retryStaleConnections: false,
    denyPrivateAddresses: true,
    allowAddresses: ['127.0.0.1'],
  });
  t.after(() => agent.close());

  await assert.rejects(
    agent.fetch(`http://127.0.0.1:${port}/`),
    (e: Error & { cause?: { code?: string } }) => {
      assert.equal(e.name, 'TypeError');
      assert.equal(e.message, 'fetch failed');
      assert.equal(e.cause?.code, 'ECONNREFUSED');
      return true;
    },
  );
  const refused = await failure(agent.fetch(`http://ok.test:${port}/`));
  assert.equal((refused as { code?: string }).code, 'ECONNREFUSED');
  const unknown = await failure(agent.fetch('http://nowhere.test/'));
  assert.ok(isDnsLookupError(unknown));
  assert.equal(unknown.code, 'ENOTFOUND');
  const blocked = await failure(agent.fetch('http://private.test/'));
  assert.ok(isBlockedAddressError(blocked));

  const reset = await failure(agent.fetch(`${upstream.url.replace('127.0.0.1', 'ok.test')}/reset`));
  assert.match(String((reset as { code?: string }).code), /^(ECONNRESET|UND_ERR_SOCKET)$/);

  const cut = await agent.fetch(`${upstream.url}/cut`);
  assert.equal(cut.status, 200);
  await assert.rejects(cut.text(), (e: Error & { cause?: { code?: string } }) => {
    assert.equal(e.name, 'TypeError');
    assert.equal(e.message, 'terminated');
    assert.match(String(e.cause?.code), /^(ECONNRESET|UND_ERR_SOCKET)$/);
    return true;
  });
  assert.ok(await eventually(() => agent.stats().inFlight === 0));
});

test('after close() the fetch rejects with AgentClosedError', async () => {
  const agent = createAgent();
  await agent.close();
  await assert.rejects(agent.fetch('http://127.0.0.1:1/'), { name: 'AgentClosedError' });
});

// A request waiting for a slot of `limit` is admitted when a response of its origin ends; because a response of
// that origin ended during this turn and the origin has fewer sockets than limitPerHost, its start is deferred
// by one turn (so that it reuses that socket). An abort in that turn must give its slots back.
test('a waiter aborted in the turn it is admitted does not leak its slot of limit', async (t) => {
  const upstream = await startUpstream({
    routes: {
      '/a': { steps: [{ delayHeadersMs: 50 }] },
      '/hold': { steps: [{ stallBody: true, bodyPrefix: 'x' }] },
    },
  });
  const { resolver } = tableResolver({ 'x.test': loopback(), 'y.test': loopback() });
  const agent = createAgent({ resolver, limit: 2, limitPerHost: 2 });
  t.after(async () => {
    await agent.destroy();
    await upstream.close();
  });
  const url = (host: string, path: string): string => `http://${host}:${upstream.port}${path}`;

  // B holds a slot on y.test.
  const holdB = new AbortController();
  const b = await agent.fetch(url('y.test', '/hold'), { signal: holdB.signal });
  // A runs on x.test (its head comes 50 ms later).
  const a = agent.fetch(url('x.test', '/a'));
  // C waits for a slot of `limit` (2 in flight).
  const abortC = new AbortController();
  const c = agent.fetch(url('x.test', '/c'), { signal: abortC.signal }).catch((e: unknown) => e);
  await turn();
  assert.equal(agent.stats().inFlight, 2);
  assert.equal(agent.stats().waiting, 1);

  // A ends: C is admitted (start deferred one turn); the caller aborts C right away, in the same turn.
  await (await a).text();
  abortC.abort(new Error('caller gave up'));
  assert.equal(((await c) as Error).message, 'caller gave up');
  for (let i = 0; i < 5; i += 1) await turn();

  // Only B holds a slot now.
  assert.equal(agent.stats().inFlight, 1, 'the aborted waiter must not keep a slot of limit');
  holdB.abort();
  await b.text().catch(() => undefined);
  for (let i = 0; i < 5; i += 1) await turn();
  assert.equal(agent.stats().inFlight, 0, 'nothing in flight, nothing leaked');
  assert.equal(upstream.counters('/c').requests, 0);
});
