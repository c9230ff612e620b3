import assert from 'node:assert/strict';
import { test } from 'node:test';
import { closedPort, startUpstream, type Upstream } from '@ky-resilience/testing';
import ky from 'ky';
import {
  type AgentOptions,
  createAgent,
  isAgentError,
  isAgentQueueFullError,
  type ResilientAgent,
} from '../src/index.ts';
import { failure, loopback, tableResolver } from './helpers.ts';

const HOSTS = ['a.test', 'b.test', 'c.test', 'd.test'];

/** An upstream whose `/hold` answers a head and then never ends its body: the request keeps its connection. */
async function setup(
  t: { after: (fn: () => unknown) => void },
  options: AgentOptions,
): Promise<{ upstream: Upstream; agent: ResilientAgent; url: (host: string, path: string) => string }> {
  const upstream = await startUpstream({
    routes: { '/hold': { steps: [{ stallBody: true, bodyPrefix: 'x' }] } },
  });
  const { resolver } = tableResolver(Object.fromEntries(HOSTS.map((h) => [h, loopback()])));
  const agent = createAgent({ resolver, ...options });
  t.after(async () => {
    await agent.destroy();
    await upstream.close();
  });
  return { upstream, agent, url: (host, path) => `http://${host}:${upstream.port}${path}` };
}

/** Starts a request on `/hold` and resolves once its response head is in: it then holds its connection. */
async function hold(agent: ResilientAgent, url: string): Promise<{ release: () => Promise<void> }> {
  const controller = new AbortController();
  const response = await agent.fetch(url, { signal: controller.signal });
  assert.equal(response.status, 200);
  return {
    release: async () => {
      controller.abort();
      await response.text().catch(() => undefined);
    },
  };
}

const turn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/** Asserts that `promise` rejected with fetch's TypeError whose cause is the agent's queue-full refusal. */
async function assertQueueFull(promise: Promise<unknown>, origin: string, maxQueue: number): Promise<void> {
  await assert.rejects(promise, (error: unknown) => {
    assert.ok(error instanceof TypeError);
    assert.equal(error.message, 'fetch failed');
    return true;
  });
  const cause = await failure(promise);
  assert.ok(isAgentQueueFullError(cause), `cause: ${String(cause)}`);
  assert.ok(isAgentError(cause));
  assert.equal(cause.name, 'AgentQueueFullError');
  assert.equal(cause.code, 'ERR_KYR_AGENT_QUEUE_FULL');
  assert.equal(cause.origin, origin);
  assert.equal(cause.maxQueue, maxQueue);
  assert.match(cause.message, /was not sent/);
}

test('a full wait queue refuses the request at once with AgentQueueFullError; the upstream never sees it', async (t) => {
  const { upstream, agent, url } = await setup(t, { limit: 2, limitPerHost: 2, maxQueue: 1 });
  assert.equal(agent.options.maxQueue, 1);
  const held = [await hold(agent, url('a.test', '/hold')), await hold(agent, url('a.test', '/hold'))];
  const waiter = agent.fetch(url('a.test', '/waited'));
  await turn();
  assert.equal(agent.stats().waiting, 1);

  // Refused while both connections are still held: the refusal does not wait for a slot.
  const refused = agent.fetch(url('b.test', '/refused'));
  await assertQueueFull(refused, `http://b.test:${upstream.port}`, 1);
  const stats = agent.stats();
  assert.equal(stats.queueRefusals, 1);
  assert.equal(stats.waiting, 1);
  assert.equal(stats.inFlight, 2);

  for (const h of held) await h.release();
  assert.equal((await waiter).status, 200);
  assert.equal(upstream.counters('/waited').requests, 1);
  assert.equal(upstream.counters('/refused').requests, 0);
  assert.equal(upstream.byHost(`b.test:${upstream.port}`).requests, 0);
});

test('requests beyond limitPerHost are counted: they wait in the agent, and the bound refuses the next one', async (t) => {
  const { upstream, agent, url } = await setup(t, { limit: 10, limitPerHost: 1, maxQueue: 2 });
  const a = `http://a.test:${upstream.port}`;
  const held = await hold(agent, url('a.test', '/hold'));
  const waiters = [agent.fetch(url('a.test', '/w1')), agent.fetch(url('a.test', '/w2'))];
  await turn();
  let stats = agent.stats();
  assert.equal(stats.waiting, 2);
  assert.equal(stats.origins[a]?.queued, 2);
  assert.equal(stats.inFlight, 1, 'the per-host waiters hold no slot of limit (as in aiohttp)');

  await assertQueueFull(agent.fetch(url('a.test', '/refused')), a, 2);
  // Another origin has a free connection: it does not wait, so the full queue does not refuse it.
  const other = await agent.fetch(url('b.test', '/other'));
  assert.equal(other.status, 200);
  await other.text();

  await held.release();
  for (const response of await Promise.all(waiters)) {
    assert.equal(response.status, 200);
    await response.text();
  }
  stats = agent.stats();
  assert.equal(stats.waiting, 0);
  assert.equal(stats.queueRefusals, 1);
  assert.equal(stats.inFlight, 0);
  assert.equal(upstream.counters('/refused').requests, 0);
  assert.equal(upstream.byHost(`a.test:${upstream.port}`).peakInFlight, 1, 'limitPerHost still holds');
});

test('the bound counts waiters across origins and across both caps together', async (t) => {
  const { upstream, agent, url } = await setup(t, { limit: 3, limitPerHost: 1, maxQueue: 3 });
  const held = [
    await hold(agent, url('a.test', '/hold')),
    await hold(agent, url('b.test', '/hold')),
    await hold(agent, url('c.test', '/hold')),
  ];
  // One waiter for a.test and one for b.test (their origins are full), then one for d.test, which waits for a
  // slot of limit.
  const waiters = [
    agent.fetch(url('a.test', '/w')),
    agent.fetch(url('b.test', '/w')),
    agent.fetch(url('d.test', '/w')),
  ];
  await turn();
  const stats = agent.stats();
  assert.equal(stats.waiting, 3);
  assert.equal(stats.inFlight, 3);
  assert.equal(stats.origins[`http://a.test:${upstream.port}`]?.queued, 1);
  await assertQueueFull(agent.fetch(url('d.test', '/refused')), `http://d.test:${upstream.port}`, 3);

  for (const h of held) await h.release();
  for (const response of await Promise.all(waiters)) {
    assert.equal(response.status, 200);
    await response.text();
  }
  assert.equal(upstream.counters('/w').requests, 3);
  assert.equal(upstream.counters('/refused').requests, 0);
  assert.equal(agent.stats().waiting, 0);
  assert.equal(agent.stats().inFlight, 0);
});

for (const where of ['limit', 'limitPerHost'] as const) {
  test(`a waiter that aborts (beyond ${where}) frees its place at once`, async (t) => {
    const options = where === 'limit' ? { limit: 1, limitPerHost: 1 } : { limit: 5, limitPerHost: 1 };
    const { upstream, agent, url } = await setup(t, { ...options, maxQueue: 1 });
    const held = await hold(agent, url('a.test', '/hold'));
    const controller = new AbortController();
    const aborted = agent.fetch(url('a.test', '/aborted'), { signal: controller.signal });
    await turn();
    assert.equal(agent.stats().waiting, 1);
    await assertQueueFull(agent.fetch(url('a.test', '/refused')), `http://a.test:${upstream.port}`, 1);

    const reason = new Error('caller gave up');
    controller.abort(reason);
    await assert.rejects(aborted, (e) => e === reason);
    assert.equal(agent.stats().waiting, 0);
    assert.equal(agent.stats().inFlight, 1, 'only the held request holds a slot');
    // Its place is free while the connection is still held: the next request may wait again.
    const next = agent.fetch(url('a.test', '/next'));
    await turn();
    assert.equal(agent.stats().waiting, 1);

    await held.release();
    assert.equal((await next).status, 200);
    assert.equal(upstream.counters('/aborted').requests, 0);
    assert.equal(upstream.counters('/refused').requests, 0);
    assert.equal(upstream.counters('/next').requests, 1);
    assert.equal(agent.stats().queueRefusals, 1);
  });
}

test('maxQueue 0: a request that cannot have a connection at once is refused; others go through', async (t) => {
  const { upstream, agent, url } = await setup(t, { limit: 2, limitPerHost: 1, maxQueue: 0 });
  const held = await hold(agent, url('a.test', '/hold'));
  await assertQueueFull(agent.fetch(url('a.test', '/refused')), `http://a.test:${upstream.port}`, 0);
  const other = await agent.fetch(url('b.test', '/other'));
  assert.equal(other.status, 200);
  await other.text();
  await held.release();
  const again = await agent.fetch(url('a.test', '/again'));
  assert.equal(again.status, 200);
  await again.text();
  assert.equal(upstream.counters('/refused').requests, 0);
  assert.equal(agent.stats().queueRefusals, 1);
});

test("a request left to Node's own fetch (a Request with a referrer policy) is refused the same way", async (t) => {
  const { upstream, agent, url } = await setup(t, { limit: 1, limitPerHost: 1, maxQueue: 0 });
  const held = await hold(agent, url('a.test', '/hold'));
  const request = new Request(url('a.test', '/refused'), { referrer: '' });
  await assertQueueFull(agent.fetch(request), `http://a.test:${upstream.port}`, 0);
  await held.release();
  assert.equal(upstream.counters('/refused').requests, 0);
  assert.equal(agent.stats().queueRefusals, 1);
});

test('ky (retry: 0) rejects a refused request with its NetworkError over the TypeError and its typed cause', async (t) => {
  const { upstream, agent, url } = await setup(t, { limit: 1, limitPerHost: 1, maxQueue: 0 });
  const held = await hold(agent, url('a.test', '/hold'));
  const api = ky.create({ ...agent.kyOptions, retry: 0 });
  const error = (await api.get(url('a.test', '/refused')).catch((e: unknown) => e)) as Error;
  // ky wraps fetch's TypeError in its NetworkError.
  assert.equal(error.name, 'NetworkError');
  const fetchError = error.cause as Error;
  assert.ok(fetchError instanceof TypeError);
  assert.ok(isAgentQueueFullError(fetchError.cause));
  await held.release();
  assert.equal(upstream.counters('/refused').requests, 0);
});

test('destroy() fails the requests waiting beyond limitPerHost with AgentClosedError', async (t) => {
  const { upstream, agent, url } = await setup(t, { limit: 5, limitPerHost: 1 });
  const held = await hold(agent, url('a.test', '/hold'));
  const waiting = agent.fetch(url('a.test', '/waiting')).catch((e: unknown) => e);
  await turn();
  assert.equal(agent.stats().waiting, 1);
  await agent.destroy();
  const cause = ((await waiting) as { cause?: { name?: string } }).cause;
  assert.equal(cause?.name, 'AgentClosedError');
  assert.equal(agent.stats().waiting, 0);
  await held.release();
  assert.equal(upstream.counters('/waiting').requests, 0);
});

test('close() lets the requests waiting beyond limitPerHost finish', async (t) => {
  const { agent, url } = await setup(t, { limit: 5, limitPerHost: 1 });
  const held = await hold(agent, url('a.test', '/hold'));
  const waiting = agent.fetch(url('a.test', '/waiting'));
  await turn();
  const closing = agent.close();
  await held.release();
  const response = await waiting;
  assert.equal(response.status, 200);
  await response.text();
  await closing;
  assert.equal(agent.stats().inFlight, 0);
});

test('requests waiting for a full origin hold no slot of limit: another origin is served at once, as in aiohttp', async (t) => {
  const { upstream, agent, url } = await setup(t, { limit: 4, limitPerHost: 2 });
  const heldA = [await hold(agent, url('a.test', '/hold')), await hold(agent, url('a.test', '/hold'))];
  // Eight more for a.test wait for its origin; before, each of them took a slot of limit while waiting.
  const waitersA = Array.from({ length: 8 }, (_, i) => agent.fetch(url('a.test', `/a${i}`)));
  await turn();
  let stats = agent.stats();
  assert.equal(stats.inFlight, 2);
  assert.equal(stats.waiting, 8);
  // b.test has free connections and limit has free slots: it is sent now, not after a.test's queue.
  const other = await agent.fetch(url('b.test', '/other'));
  assert.equal(other.status, 200);
  await other.text();
  assert.equal(upstream.counters('/other').requests, 1);
  assert.equal(upstream.byHost(`a.test:${upstream.port}`).requests, 2, 'no a.test waiter was sent yet');

  for (const h of heldA) await h.release();
  for (const response of await Promise.all(waitersA)) {
    assert.equal(response.status, 200);
    await response.text();
  }
  stats = agent.stats();
  assert.equal(stats.inFlight, 0);
  assert.equal(stats.waiting, 0);
  assert.equal(upstream.byHost(`a.test:${upstream.port}`).peakInFlight, 2, 'limitPerHost still holds');
});

test('with both caps full, waiters for limit and for an origin are served in arrival order, none left behind', async (t) => {
  const { upstream, agent, url } = await setup(t, { limit: 1, limitPerHost: 1 });
  const held = await hold(agent, url('a.test', '/hold'));
  // b waits for limit; a (its origin full) for its origin; then c and d for limit.
  const order = ['b.test', 'a.test', 'c.test', 'd.test'];
  const waiters = order.map((host) => agent.fetch(url(host, `/w-${host}`)).then((r) => r.text()));
  await turn();
  assert.equal(agent.stats().waiting, 4);
  await held.release();
  await Promise.all(waiters);
  const sent = upstream
    .counters()
    .headers.map((h) => String(h.host).split(':')[0])
    .slice(1);
  assert.deepEqual(sent, order);
  assert.equal(agent.stats().inFlight, 0);
  assert.equal(agent.stats().waiting, 0);
});

test('a refused connect fails the requests waiting for its origin one by one, the process unharmed (limitPerHost 1)', async (t) => {
  const port = await closedPort();
  const { resolver } = tableResolver({ 'a.test': loopback() });
  const agent = createAgent({ resolver, limit: 4, limitPerHost: 1 });
  t.after(() => agent.destroy());
  // With one connection per origin undici gives the origin a single Client, which fails the requests queued on
  // it in one loop and asserts its queue is empty after it: the next waiter must not be sent from inside it.
  const calls = Array.from({ length: 3 }, (_, i) => failure(agent.fetch(`http://a.test:${port}/r${i}`)));
  for (const cause of await Promise.all(calls)) {
    assert.equal((cause as { code?: unknown }).code, 'ECONNREFUSED');
  }
  const stats = agent.stats();
  assert.equal(stats.inFlight, 0);
  assert.equal(stats.waiting, 0);
  await agent.close();
});
