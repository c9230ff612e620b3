import assert from 'node:assert/strict';
import { Agent } from 'node:http';
import { test } from 'node:test';
import { startUpstream } from '../src/index.ts';
import { send, waitFor } from './helpers.ts';

test('requests, bodies and headers are recorded in order, per route and in total', async (t) => {
  const upstream = await startUpstream({ routes: { '/a': {}, '/b': {} } });
  t.after(() => upstream.close());
  await send(`${upstream.url}/a`, { method: 'POST', body: 'one', headers: { 'idempotency-key': 'k1' } });
  await send(`${upstream.url}/a`, { method: 'PUT', body: 'two', headers: { 'idempotency-key': 'k1' } });
  await send(`${upstream.url}/b`, { method: 'POST', body: 'é-three' });
  const a = upstream.counters('/a');
  assert.equal(a.requests, 2);
  assert.deepEqual(a.bodies, ['one', 'two']);
  assert.deepEqual(
    a.headers.map((h) => h['idempotency-key']),
    ['k1', 'k1'],
  );
  assert.deepEqual(upstream.counters('/b').bodies, ['é-three']);
  const total = upstream.counters();
  assert.equal(total.requests, 3);
  assert.deepEqual(total.bodies, ['one', 'two', 'é-three']);
  assert.deepEqual(total.statuses, { 200: 3 });
  assert.equal(upstream.counters('/never').requests, 0);
});

test('counters() returns a snapshot, not a live object', async (t) => {
  const upstream = await startUpstream();
  t.after(() => upstream.close());
  const before = upstream.counters();
  await send(`${upstream.url}/`);
  assert.equal(before.requests, 0);
  assert.equal(upstream.counters().requests, 1);
});

test('5 sequential keep-alive requests over one agent use 1 connection; without keep-alive, 5', async (t) => {
  const upstream = await startUpstream({ routes: { '/k': {}, '/n': {} } });
  t.after(() => upstream.close());
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  try {
    for (let i = 0; i < 5; i += 1) await send(`${upstream.url}/k`, { agent });
  } finally {
    agent.destroy();
  }
  assert.equal(upstream.connections, 1);
  assert.equal(upstream.counters('/k').connections, 1);
  for (let i = 0; i < 5; i += 1) await send(`${upstream.url}/n`, { agent: false });
  assert.equal(upstream.connections, 6);
  assert.equal(upstream.counters('/n').connections, 5);
  assert.equal(upstream.counters().connections, 6);
});

test('10 parallel delayed requests give peakInFlight 10; inFlight falls back to 0', async (t) => {
  const upstream = await startUpstream({ routes: { '/p': { steps: [{ delayHeadersMs: 60_000 }] } } });
  t.after(() => upstream.close());
  const agent = new Agent({ keepAlive: true, maxSockets: 100 });
  try {
    const pending = Array.from({ length: 10 }, () =>
      send(`${upstream.url}/p`, { agent }).catch(() => 'failed'),
    );
    await waitFor(() => upstream.counters('/p').requests === 10, '10 requests to arrive');
    assert.equal(upstream.counters('/p').inFlight, 10);
    assert.equal(upstream.counters('/p').peakInFlight, 10);
    assert.equal(upstream.counters().peakInFlight, 10);
    assert.equal(upstream.openSockets, 10);
    agent.destroy();
    assert.deepEqual(await Promise.all(pending), Array(10).fill('failed'));
    await waitFor(
      () => upstream.counters('/p').inFlight === 0,
      'in-flight requests to end with their sockets',
    );
    assert.equal(upstream.counters('/p').peakInFlight, 10);
  } finally {
    agent.destroy();
  }
});

test('sequential requests never overlap: peakInFlight 1', async (t) => {
  const upstream = await startUpstream();
  t.after(() => upstream.close());
  for (let i = 0; i < 5; i += 1) await send(`${upstream.url}/s`);
  assert.equal(upstream.counters().peakInFlight, 1);
  assert.equal(upstream.counters().inFlight, 0);
});

test('byHost() counts by the Host header without its port, so one upstream stands for several hosts', async (t) => {
  const upstream = await startUpstream();
  t.after(() => upstream.close());
  await send(`${upstream.url}/`, { headers: { host: `api.example.test:${upstream.port}` } });
  await send(`${upstream.url}/`, { headers: { host: 'API.example.test' } });
  await send(`${upstream.url}/`, { headers: { host: 'other.example.test' } });
  await send(`${upstream.url}/`);
  assert.equal(upstream.byHost('api.example.test').requests, 2);
  assert.equal(upstream.byHost('api.example.test:443').requests, 2);
  assert.equal(upstream.byHost('other.example.test').requests, 1);
  assert.equal(upstream.byHost('127.0.0.1').requests, 1);
  assert.equal(upstream.byHost('unknown.example.test').requests, 0);
  assert.equal(
    upstream.byHost('api.example.test').connections,
    2,
    'one new connection per request (no agent)',
  );
});

test('reset() zeroes every counter and restarts request numbering', async (t) => {
  const upstream = await startUpstream({
    routes: { '/a': { steps: [{ status: 503 }, { status: 200 }] } },
  });
  t.after(() => upstream.close());
  await send(`${upstream.url}/a`, { method: 'POST', body: 'x' });
  await send(`${upstream.url}/a`);
  upstream.reset();
  assert.deepEqual(upstream.counters('/a'), {
    requests: 0,
    bodies: [],
    inFlight: 0,
    peakInFlight: 0,
    connections: 0,
    headers: [],
    statuses: {},
  });
  assert.equal(upstream.counters().requests, 0);
  assert.equal(upstream.connections, 0);
  assert.equal(upstream.byHost('127.0.0.1').requests, 0);
  assert.equal((await send(`${upstream.url}/a`)).status, 503);
});

test('route() reprograms a route and restarts its numbering', async (t) => {
  const upstream = await startUpstream({
    routes: { '/a': { steps: [{ status: 500 }, { status: 200 }] } },
  });
  t.after(() => upstream.close());
  assert.equal((await send(`${upstream.url}/a`)).status, 500);
  assert.equal((await send(`${upstream.url}/a`)).status, 200);
  upstream.route('/a', { steps: [{ status: 429 }, { status: 201 }] });
  assert.equal((await send(`${upstream.url}/a`)).status, 429);
  assert.equal((await send(`${upstream.url}/a`)).status, 201);
  upstream.route('/new', { steps: [{ status: 404 }] });
  assert.equal((await send(`${upstream.url}/new`)).status, 404);
  assert.equal(upstream.counters('/a').requests, 4, 'counters are not reset by route()');
});
