import assert from 'node:assert/strict';
import { test } from 'node:test';
import { startUpstream } from '@ky-resilience/testing';
import ky from 'ky';
import { createAgent } from '../src/index.ts';
import { loopback, tableResolver } from './helpers.ts';
import { startServer } from './http-server.ts';

test('sequential requests share one keep-alive connection', async (t) => {
  const upstream = await startUpstream();
  t.after(() => upstream.close());
  const agent = createAgent();
  t.after(() => agent.close());
  const api = ky.create(agent.kyOptions);
  for (let i = 0; i < 20; i++) {
    const body = await api.get(`${upstream.url}/seq`).json<{ ok: boolean }>();
    assert.equal(body.ok, true);
  }
  assert.equal(upstream.counters('/seq').requests, 20);
  assert.equal(upstream.connections, 1);
});

test('per-host and global caps hold with 500 parallel requests across 5 host names', async (t) => {
  const upstream = await startUpstream({ routes: { '/slow': { steps: [{ delayHeadersMs: 3 }] } } });
  t.after(() => upstream.close());
  const hosts = ['a.test', 'b.test', 'c.test', 'd.test', 'e.test'];
  const { resolver } = tableResolver(Object.fromEntries(hosts.map((h) => [h, loopback()])));
  const agent = createAgent({ limit: 12, limitPerHost: 4, resolver });
  t.after(() => agent.close());
  const api = ky.create({ ...agent.kyOptions, retry: 0 });
  let peakWaiting = 0;
  const calls = Array.from({ length: 500 }, (_, i) => {
    const host = hosts[i % hosts.length]!;
    return api.get(`http://${host}:${upstream.port}/slow?i=${i}`).text();
  });
  const sampler = setInterval(() => {
    peakWaiting = Math.max(peakWaiting, agent.stats().waiting);
  }, 1);
  const bodies = await Promise.all(calls);
  clearInterval(sampler);
  assert.equal(bodies.length, 500);
  assert.equal(upstream.counters().requests, 500);
  assert.ok(upstream.counters().peakInFlight <= 12, `global peak ${upstream.counters().peakInFlight}`);
  assert.ok(upstream.counters().peakInFlight >= 5, 'the requests did overlap');
  for (const host of hosts) {
    const c = upstream.byHost(host);
    assert.equal(c.requests, 100);
    assert.ok(c.peakInFlight <= 4, `${host} peak ${c.peakInFlight}`);
  }
  assert.ok(upstream.connections <= 5 * 4, `connections ${upstream.connections}`);
  assert.ok(peakWaiting > 0, 'requests waited for the global cap');
  const stats = agent.stats();
  assert.equal(stats.inFlight, 0);
  assert.equal(stats.waiting, 0);
  assert.deepEqual(
    Object.keys(stats.origins).sort(),
    hosts.map((h) => `http://${h}:${upstream.port}`).sort(),
  );
});

test('limit 0 and limitPerHost 0 remove the caps', async (t) => {
  const upstream = await startUpstream({ routes: { '/slow': { steps: [{ delayHeadersMs: 20 }] } } });
  t.after(() => upstream.close());
  const agent = createAgent({ limit: 0, limitPerHost: 0 });
  t.after(() => agent.close());
  await Promise.all(
    Array.from({ length: 30 }, () => agent.fetch(`${upstream.url}/slow`).then((r) => r.text())),
  );
  assert.ok(upstream.counters('/slow').peakInFlight > 10, `peak ${upstream.counters('/slow').peakInFlight}`);
});

test('requests aborted while waiting for the global cap leave no slot behind', async (t) => {
  const upstream = await startUpstream({ routes: { '/slow': { steps: [{ delayHeadersMs: 50 }] } } });
  t.after(() => upstream.close());
  const agent = createAgent({ limit: 2, limitPerHost: 2 });
  t.after(() => agent.close());
  const running = [agent.fetch(`${upstream.url}/slow`), agent.fetch(`${upstream.url}/slow`)];
  const controller = new AbortController();
  const queued = Array.from({ length: 5 }, () =>
    agent.fetch(`${upstream.url}/slow`, { signal: controller.signal }),
  );
  await new Promise((r) => setImmediate(r));
  assert.equal(agent.stats().waiting, 5);
  const reason = new Error('caller gave up');
  controller.abort(reason);
  for (const p of queued) await assert.rejects(p, (e) => e === reason);
  assert.equal(agent.stats().waiting, 0);
  for (const r of await Promise.all(running)) await r.text();
  // The aborted requests never reached the upstream, and the caps still admit new work.
  await (await agent.fetch(`${upstream.url}/slow`)).text();
  assert.equal(upstream.counters('/slow').requests, 3);
  assert.equal(agent.stats().inFlight, 0);
});

test('a request aborted while running releases its slot', async (t) => {
  const upstream = await startUpstream({
    routes: { '/stall': { steps: [{ stallBody: true, bodyPrefix: 'x' }] } },
  });
  t.after(() => upstream.close());
  const agent = createAgent({ limit: 1, limitPerHost: 1 });
  t.after(() => agent.close());
  const controller = new AbortController();
  const response = await agent.fetch(`${upstream.url}/stall`, { signal: controller.signal });
  assert.equal(agent.stats().inFlight, 1);
  controller.abort();
  await assert.rejects(response.text());
  for (let i = 0; i < 50 && agent.stats().inFlight !== 0; i++) await new Promise((r) => setTimeout(r, 5));
  assert.equal(agent.stats().inFlight, 0);
  const ok = await agent.fetch(`${upstream.url}/fine`);
  assert.equal(ok.status, 200);
  await ok.text();
});

test('close() lets running and waiting requests finish, then refuses new ones with a typed error', async (_t) => {
  const upstream = await startUpstream({ routes: { '/slow': { steps: [{ delayHeadersMs: 40 }] } } });
  const agent = createAgent({ limit: 1, limitPerHost: 1 });
  const busy = [agent.fetch(`${upstream.url}/slow`), agent.fetch(`${upstream.url}/slow`)];
  await new Promise((r) => setImmediate(r));
  const closing = agent.close();
  assert.equal(agent.closed, true);
  await assert.rejects(agent.fetch(`${upstream.url}/late`), {
    name: 'AgentClosedError',
    code: 'ERR_KYR_AGENT_CLOSED',
  });
  const responses = await Promise.all(busy);
  for (const r of responses) assert.equal(await r.text().then((t) => t.length > 0), true);
  await closing;
  assert.equal(upstream.counters('/slow').requests, 2);
  assert.equal(upstream.counters('/late').requests, 0);
  await upstream.close();
});

test('Symbol.asyncDispose (await using) closes the agent and its sockets', async (t) => {
  const upstream = await startUpstream();
  t.after(() => upstream.close());
  const agent = createAgent();
  await (await agent.fetch(`${upstream.url}/x`)).text();
  assert.equal(upstream.openSockets, 1);
  await agent[Symbol.asyncDispose]();
  assert.equal(agent.closed, true);
  const open = (): number => upstream.openSockets;
  for (let i = 0; i < 50 && open() !== 0; i++) await new Promise((r) => setTimeout(r, 5));
  assert.equal(open(), 0);
});

test('destroy() fails waiting requests at once', async (t) => {
  const upstream = await startUpstream({ routes: { '/slow': { steps: [{ delayHeadersMs: 200 }] } } });
  t.after(() => upstream.close());
  const agent = createAgent({ limit: 1, limitPerHost: 1 });
  const first = agent.fetch(`${upstream.url}/slow`).catch((e: unknown) => e);
  const waiting = agent.fetch(`${upstream.url}/slow`).catch((e: unknown) => e);
  await new Promise((r) => setImmediate(r));
  await agent.destroy();
  const error = (await waiting) as { cause?: { name?: string } };
  assert.equal(error.cause?.name, 'AgentClosedError');
  assert.ok((await first) instanceof Error);
  assert.equal(upstream.counters('/slow').requests <= 1, true);
});

test('after a connection closes, sequential requests share a connection again (nodejs/undici#5022)', async (t) => {
  let n = 0;
  const server = await startServer((req, res) => {
    n++;
    // Request 2 closes its connection; a HEAD makes undici close its connection after it too.
    if (n === 2) res.setHeader('connection', 'close');
    res.end(req.method === 'HEAD' ? undefined : 'ok');
  });
  t.after(() => server.close());
  const agent = createAgent();
  t.after(() => agent.close());
  for (let i = 0; i < 8; i++) await (await agent.fetch(`${server.url}/${i}`)).text();
  assert.ok(server.connections <= 3, `connections after a Connection: close: ${server.connections}`);
  const before = server.connections;
  await (await agent.fetch(server.url, { method: 'HEAD' })).text();
  for (let i = 0; i < 8; i++) await (await agent.fetch(`${server.url}/${i}`)).text();
  assert.ok(server.connections - before <= 3, `connections after a HEAD: ${server.connections - before}`);
  assert.equal(agent.stats().inFlight, 0);
});

test('stats() of an origin with a single connection (limitPerHost 1) are numbers like the others', async (t) => {
  const upstream = await startUpstream();
  t.after(() => upstream.close());
  const agent = createAgent({ limitPerHost: 1 });
  t.after(() => agent.close());
  const api = ky.create(agent.kyOptions);
  for (let i = 0; i < 3; i++) await api.get(`${upstream.url}/one`).text();
  const stats = agent.stats().origins[upstream.origin];
  assert.deepEqual(stats, { connected: 1, idle: 1, running: 0, queued: 0 });
  assert.equal(upstream.connections, 1);
});
