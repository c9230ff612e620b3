import assert from 'node:assert/strict';
import { Agent, request } from 'node:http';
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

test('200 parallel connections: requests, connections and peakInFlight are exact; destroying every client brings inFlight to 0', async (t) => {
  const upstream = await startUpstream({ routes: { '/h': { steps: [{ delayHeadersMs: 60_000 }] } } });
  t.after(() => upstream.close());
  const N = 200;
  const reqs = Array.from({ length: N }, () => {
    const req = request(`${upstream.url}/h`, { agent: false, method: 'POST' });
    req.on('error', () => {});
    req.end('b');
    return req;
  });
  await waitFor(() => upstream.counters('/h').bodies.length === N, 'all bodies');
  const c = upstream.counters('/h');
  assert.equal(c.requests, N);
  assert.equal(c.connections, N);
  assert.equal(c.peakInFlight, N);
  assert.equal(upstream.connections, N);
  for (const req of reqs) req.destroy();
  await waitFor(() => upstream.counters('/h').inFlight === 0, 'inFlight 0');
  await waitFor(() => upstream.openSockets === 0, 'sockets closed');
  assert.deepEqual(upstream.counters('/h').statuses, {});
});

test('a client that aborts mid-upload: inFlight falls back to 0, no body is recorded, the next request is served', async (t) => {
  const upstream = await startUpstream();
  t.after(() => upstream.close());
  const req = request(`${upstream.url}/u`, {
    agent: false,
    method: 'POST',
    headers: { 'content-length': '100' },
  });
  req.on('error', () => {});
  req.write('partial');
  await waitFor(() => upstream.counters('/u').requests === 1, 'request received');
  assert.equal(upstream.counters('/u').inFlight, 1);
  req.destroy();
  await waitFor(() => upstream.counters('/u').inFlight === 0, 'inFlight 0');
  assert.deepEqual(upstream.counters('/u').bodies, []);
  assert.equal((await send(`${upstream.url}/u`)).status, 200);
});

test('reset() while requests are in flight: peakInFlight restarts from inFlight, and inFlight never goes negative', async (t) => {
  const upstream = await startUpstream({ routes: { '/h': { steps: [{ delayHeadersMs: 60_000 }] } } });
  t.after(() => upstream.close());
  const reqs = Array.from({ length: 3 }, () => {
    const req = request(`${upstream.url}/h`, { agent: false });
    req.on('error', () => {});
    req.end();
    return req;
  });
  await waitFor(() => upstream.counters('/h').inFlight === 3, 'three in flight');
  upstream.reset();
  assert.equal(upstream.counters('/h').peakInFlight, 3);
  for (const req of reqs) req.destroy();
  await waitFor(() => upstream.counters('/h').inFlight === 0, 'inFlight 0');
  assert.equal(upstream.counters().inFlight, 0);
  assert.equal(upstream.byHost(`127.0.0.1:${upstream.port}`).inFlight, 0);
});
