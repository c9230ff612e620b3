import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createAgent, isAgentClosedError } from '@ky-resilience/agent';
import { createHostLimiter, isQueueFullError } from '@ky-resilience/host-limiter';
import { getRetryDecision } from '@ky-resilience/retry';
import { startUpstream } from '@ky-resilience/testing';
import {
  createClient,
  isClientClosedError,
  isClientCloseTimeoutError,
  isClientOptionsError,
} from '../src/index.ts';

test('close() lets the attempt in flight finish, then closes the agent the client created', async (t) => {
  const upstream = await startUpstream({ routes: { '/slow': { steps: [{ delayHeadersMs: 150 }] } } });
  t.after(() => upstream.close());
  const client = createClient();
  t.after(() => client.close());

  const call = client.get(`${upstream.url}/slow`).json<{ ok: boolean }>();
  // Wait until the request reached the upstream, then close while it is in flight.
  for (let i = 0; i < 200 && upstream.counters('/slow').inFlight === 0; i += 1) {
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  assert.equal(client.stats().inFlight, 1);
  const closing = client.close();
  assert.equal(client.closed, true);
  assert.equal(client.close(), closing, 'close() is idempotent');

  assert.deepEqual(await call, { ok: true, route: '/slow', n: 0 });
  await closing;
  assert.equal(client.agent?.closed, true);
  assert.equal(client.stats().inFlight, 0);
  // A new call is refused before anything is sent, with a rejected promise as fetch's.
  const refused = client.get(`${upstream.url}/slow`);
  const error = await refused.catch((e: unknown) => e);
  assert.ok(isClientClosedError(error), String(error));
  assert.equal(getRetryDecision(error)?.reason, 'not-attempted');
  assert.equal(upstream.counters('/slow').requests, 1);
  assert.equal(client.stats().inFlight, 0);
  // Nor does a beforeRequest hook answer it (a cached response).
  const cached = client.extend({ hooks: { beforeRequest: [() => new Response('cached')] } });
  await assert.rejects(cached.get(`${upstream.url}/slow`).text(), isClientClosedError);
});

test('a call sleeping before a retry when the client closes fails with ClientClosedError', async (t) => {
  const upstream = await startUpstream({
    routes: { '/flaky': { steps: [{ status: 503 }, { status: 200 }] } },
  });
  t.after(() => upstream.close());
  const client = createClient({ retry: { backoff: { strategy: 'none', base: 100 }, budget: false } });
  t.after(() => client.close());
  const retried = new Promise<void>((resolve) => client.on('retry', () => resolve()));

  const call = client.get(`${upstream.url}/flaky`).catch((e: unknown) => e);
  await retried;
  await client.close();

  const error = await call;
  assert.ok(isClientClosedError(error), String(error));
  assert.equal(error.client, client.name);
  assert.equal(upstream.counters('/flaky').requests, 1);
});

test('two clients share one agent: one pool, and closing a client leaves the agent open', async (t) => {
  const upstream = await startUpstream();
  t.after(() => upstream.close());
  const agent = createAgent({ limitPerHost: 2 });
  t.after(() => agent.close());
  const a = createClient({ agent, name: 'a' });
  const b = createClient({ agent, name: 'b', retry: { limit: 1 } });
  t.after(() => Promise.all([a.close(), b.close()]));
  assert.equal(a.agent, agent);
  assert.equal(b.agent, agent);

  for (let i = 0; i < 3; i += 1) {
    await a.get(`${upstream.url}/a`).text();
    await b.get(`${upstream.url}/b`).text();
  }
  // Sequential calls from both clients reuse the one keep-alive connection of the shared pool.
  assert.equal(upstream.connections, 1);
  assert.equal(a.stats().agent?.origins[upstream.origin]?.connected, 1);

  await a.close();
  assert.equal(agent.closed, false);
  assert.equal((await b.get(`${upstream.url}/b`).json<{ route: string }>()).route, '/b');
  await b.close();
  assert.equal(agent.closed, false);
  await agent.close();
  const c = createClient({ agent, retry: false });
  t.after(() => c.close());
  const error = await c.get(`${upstream.url}/c`).catch((e: unknown) => e);
  assert.ok(isAgentClosedError(error), String(error));
});

test('every tier switched off: plain ky over the global fetch, no retry, no timeout, no limiter', async (t) => {
  const upstream = await startUpstream({ routes: { '/down': { steps: [{ status: 503 }] } } });
  t.after(() => upstream.close());
  const client = createClient({ agent: false, hostLimiter: false, timeout: false, retry: false });
  t.after(() => client.close());
  assert.equal(client.agent, undefined);
  assert.equal(client.limiter, undefined);
  const statuses: (number | undefined)[] = [];
  client.on('attempt', (event) => statuses.push(event.status));

  const error = await client.get(`${upstream.url}/down`).catch((e: unknown) => e);
  assert.equal((error as { response?: Response }).response?.status, 503);
  assert.equal(upstream.counters('/down').requests, 1);
  assert.deepEqual(statuses, [503]);
  assert.deepEqual(
    { agent: client.stats().agent, limiter: client.stats().limiter },
    { agent: undefined, limiter: undefined },
  );

  // A request may not override a tier that is off.
  assert.throws(
    () => client.get(`${upstream.url}/down`, { context: { '@ky-resilience/retry': { limit: 2 } } }),
    (e: unknown) => isClientOptionsError(e) && e.option === "context['@ky-resilience/retry']",
  );
  assert.throws(
    () => client.get(`${upstream.url}/down`, { context: { '@ky-resilience/timeout': { attempt: 5 } } }),
    (e: unknown) => isClientOptionsError(e) && e.option === "context['@ky-resilience/timeout']",
  );
  assert.throws(
    () => client.get(`${upstream.url}/down`, { context: { '@ky-resilience/host-limiter': { key: 'x' } } }),
    (e: unknown) => isClientOptionsError(e) && e.option === "context['@ky-resilience/host-limiter']",
  );
  assert.equal(upstream.counters('/down').requests, 1);
});

test('per-request overrides reach each tier through context', async (t) => {
  const upstream = await startUpstream({ routes: { '/down': { steps: [{ status: 503 }] } } });
  t.after(() => upstream.close());
  const client = createClient({ retry: { limit: 2, backoff: { base: 1 }, budget: false } });
  t.after(() => client.close());

  await client
    .get(`${upstream.url}/down`, { context: { '@ky-resilience/retry': { limit: 0 } } })
    .catch(() => {});
  assert.equal(upstream.counters('/down').requests, 1);
  await client.get(`${upstream.url}/down`).catch(() => {});
  assert.equal(upstream.counters('/down').requests, 4);

  // The limiter's key per request: the limiter then tracks that key.
  await client.get(`${upstream.url}/ok`, { context: { '@ky-resilience/host-limiter': { key: 'tenant-a' } } });
  assert.equal(client.limiter?.stats('tenant-a')?.active, 0);
  // A bad override is the plugin's typed error, thrown by the call.
  assert.throws(
    () => client.get(`${upstream.url}/ok`, { context: { '@ky-resilience/timeout': { attempt: -5 } } }),
    /attempt/,
  );
});

test('ky options are merged: baseUrl, headers and init hooks that set overrides', async (t) => {
  const upstream = await startUpstream({ routes: { '/down': { steps: [{ status: 503 }] } } });
  t.after(() => upstream.close());
  const client = createClient({
    ky: {
      baseUrl: `${upstream.url}/`,
      headers: { 'x-app': 'test' },
      hooks: {
        init: [
          (options) => {
            options.context = { ...options.context, '@ky-resilience/retry': { limit: 0 } };
          },
        ],
      },
    },
  });
  t.after(() => client.close());
  await client.get('down').catch(() => {});
  assert.equal(upstream.counters('/down').requests, 1);
  assert.equal(upstream.counters('/down').headers[0]?.['x-app'], 'test');
});

test('Symbol.asyncDispose is close(): it closes the agent the client created', async (t) => {
  const upstream = await startUpstream();
  t.after(() => upstream.close());
  const client = createClient();
  await client.get(upstream.url).text();
  // `await using client = createClient()` calls this on Node 24+.
  await client[Symbol.asyncDispose]();
  assert.equal(client.closed, true);
  assert.equal(client.agent?.closed, true);
  assert.equal(client[Symbol.asyncDispose](), client.close());
});

test('clients sharing an agent can share one host limiter: its caps hold across them', async (t) => {
  const upstream = await startUpstream({ routes: { '/slow': { steps: [{ delayHeadersMs: 100 }] } } });
  t.after(() => upstream.close());
  const agent = createAgent({ limitPerHost: 2 });
  t.after(() => agent.close());
  const limiter = createHostLimiter({ concurrency: 2, maxQueue: 2 });
  const a = createClient({ agent, hostLimiter: limiter, retry: false });
  const b = createClient({ agent, hostLimiter: limiter, retry: false });
  t.after(() => Promise.all([a.close(), b.close()]));
  assert.equal(a.limiter, limiter);
  assert.equal(b.limiter, limiter);

  // 4 calls from each client: together 2 run, 2 wait, 4 find the shared queue full. With a
  // limiter each, every call would have been admitted.
  const results = await Promise.allSettled(
    [a, b].flatMap((client) => Array.from({ length: 4 }, () => client.get(`${upstream.url}/slow`).text())),
  );
  assert.equal(results.filter((r) => r.status === 'fulfilled').length, 4);
  assert.equal(results.filter((r) => r.status === 'rejected' && isQueueFullError(r.reason)).length, 4);
  assert.equal(upstream.counters('/slow').peakInFlight, 2);
  assert.equal(limiter.stats(upstream.origin)?.rejectedQueueFull, 4);
});

/** Waits (in short steps, at most about a second) until `route` of `upstream` has a request in flight. */
async function inFlightAt(
  upstream: { counters(route: string): { inFlight: number } },
  route: string,
): Promise<void> {
  for (let i = 0; i < 200 && upstream.counters(route).inFlight === 0; i += 1) {
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  assert.equal(upstream.counters(route).inFlight, 1);
}

test('close({ timeout }) with an agent the client created: when it runs out, the agent is destroyed and the stuck calls fail', async (t) => {
  const upstream = await startUpstream({
    routes: {
      '/stuck-body': { steps: [{ stallBody: true, bodyPrefix: 'x' }] },
      '/stuck-head': { steps: [{ delayHeadersMs: 600_000 }] },
    },
  });
  t.after(() => upstream.close());
  // No attempt or body timeout: nothing but close() can end these calls.
  const client = createClient({ timeout: false, retry: false });
  const body = client
    .get(`${upstream.url}/stuck-body`)
    .text()
    .catch((e: unknown) => e);
  const head = client
    .get(`${upstream.url}/stuck-head`)
    .text()
    .catch((e: unknown) => e);
  await inFlightAt(upstream, '/stuck-body');
  await inFlightAt(upstream, '/stuck-head');
  assert.equal(
    client.stats().inFlight,
    1,
    'the attempt waiting for its head (the other one is reading its body)',
  );

  await client.close({ timeout: 20 });
  assert.equal(client.stats().inFlight, 0);
  assert.equal(client.agent?.closed, true);
  for (const error of [await body, await head]) {
    assert.ok(error instanceof Error, `the stuck call failed: ${String(error)}`);
  }
  assert.equal(upstream.counters().requests, 2);
});

test('close({ timeout }) waits no longer than the attempts when they end first', async (t) => {
  const upstream = await startUpstream({ routes: { '/slow': { steps: [{ delayHeadersMs: 30 }] } } });
  t.after(() => upstream.close());
  const client = createClient();
  const call = client.get(`${upstream.url}/slow`).json<{ ok: boolean }>();
  await inFlightAt(upstream, '/slow');
  // A timeout far longer than the call: close() resolves when the call is done, the call succeeds.
  await client.close({ timeout: 600_000 });
  assert.deepEqual(await call, { ok: true, route: '/slow', n: 0 });
  assert.equal(client.agent?.closed, true);
});

test('close({ timeout }) with a shared agent rejects with ClientCloseTimeoutError and leaves the agent alone', async (t) => {
  const upstream = await startUpstream({
    routes: { '/stuck': { steps: [{ delayHeadersMs: 600_000 }] } },
  });
  t.after(() => upstream.close());
  const agent = createAgent();
  const client = createClient({ agent, timeout: false, retry: false, name: 'shared-close' });
  const call = client
    .get(`${upstream.url}/stuck`)
    .text()
    .catch((e: unknown) => e);
  await inFlightAt(upstream, '/stuck');

  const error = await client.close({ timeout: 10 }).catch((e: unknown) => e);
  assert.ok(isClientCloseTimeoutError(error), String(error));
  assert.equal(error.code, 'ERR_KYR_CLIENT_CLOSE_TIMEOUT');
  assert.equal(error.client, 'shared-close');
  assert.equal(error.inFlight, 1);
  assert.equal(error.timeout, 10);
  assert.equal(client.closed, true);
  assert.equal(agent.closed, false, 'a shared agent is not the client’s to stop');
  await assert.rejects(client.get(`${upstream.url}/stuck`), isClientClosedError);

  await agent.destroy();
  assert.ok((await call) instanceof Error, 'the caller ends the call by destroying its agent');
  assert.equal(client.stats().inFlight, 0);
});

test('close() refuses a bad timeout with a ClientOptionsError, and stays open', async () => {
  const client = createClient({ agent: false });
  for (const [options, option] of [
    [{ timeout: -1 }, 'close.timeout'],
    [{ timeout: Number.NaN }, 'close.timeout'],
    [{ timeout: Number.POSITIVE_INFINITY }, 'close.timeout'],
    [{ timeout: '10' }, 'close.timeout'],
    [{ wait: 10 }, 'close.wait'],
    ['soon', 'close'],
  ] as const) {
    const error = await client.close(options as never).catch((e: unknown) => e);
    assert.ok(isClientOptionsError(error), String(error));
    assert.equal(error.option, option);
    assert.equal(client.closed, false);
  }
  await client.close({ timeout: 0 });
  assert.equal(client.closed, true);
});

test('a clock that throws fails the attempt without leaving it counted in flight; close() resolves', async (t) => {
  const upstream = await startUpstream();
  t.after(() => upstream.close());
  const client = createClient({
    retry: false,
    clock: () => {
      throw new Error('clock broken');
    },
  });
  const error = await client.get(upstream.url).catch((e: unknown) => e);
  assert.match(String(error), /clock broken/);
  assert.equal(client.stats().inFlight, 0);
  assert.equal(upstream.counters().requests, 0, 'nothing was sent');
  await client.close();
});
