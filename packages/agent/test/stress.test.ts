import assert from 'node:assert/strict';
import diagnosticsChannel from 'node:diagnostics_channel';
import { test } from 'node:test';
import { startUpstream } from '@ky-resilience/testing';
import { createAgent } from '../src/index.ts';
import { loopback, tableResolver } from './helpers.ts';

const turn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/**
 * Requests on the wire, as undici reports them: one counts from the moment its headers are written to a socket
 * until it completes or fails (an abort included), by origin and in all, with the peaks. Exact on the client's
 * side, where the upstream's own count learns of an abort only when it reads the closed socket, which may come
 * after the next request in the same turn of its event loop.
 */
function wireCounter(): { peak: number; peakByOrigin: Map<string, number>; stop(): void } {
  const live = new Set<object>();
  const byOrigin = new Map<string, number>();
  const counter = { peak: 0, peakByOrigin: new Map<string, number>(), stop: () => {} };
  const originOf = (request: { origin?: unknown }): string => String(request.origin);
  const sent = (message: unknown): void => {
    const { request } = message as { request: { origin?: unknown } };
    if (live.has(request)) return;
    live.add(request);
    const origin = originOf(request);
    const n = (byOrigin.get(origin) ?? 0) + 1;
    byOrigin.set(origin, n);
    counter.peak = Math.max(counter.peak, live.size);
    counter.peakByOrigin.set(origin, Math.max(counter.peakByOrigin.get(origin) ?? 0, n));
  };
  const over = (message: unknown): void => {
    const { request } = message as { request: { origin?: unknown } };
    if (!live.delete(request)) return;
    const origin = originOf(request);
    byOrigin.set(origin, (byOrigin.get(origin) ?? 1) - 1);
  };
  diagnosticsChannel.subscribe('undici:client:sendHeaders', sent);
  diagnosticsChannel.subscribe('undici:request:trailers', over);
  diagnosticsChannel.subscribe('undici:request:error', over);
  counter.stop = () => {
    diagnosticsChannel.unsubscribe('undici:client:sendHeaders', sent);
    diagnosticsChannel.unsubscribe('undici:request:trailers', over);
    diagnosticsChannel.unsubscribe('undici:request:error', over);
  };
  return counter;
}

test('caps hold under 500 parallel requests with aborts, resets and errors mixed in; everything returns to 0', async (t) => {
  const upstream = await startUpstream({
    routes: {
      '/slow': { steps: [{ delayHeadersMs: 3 }] },
      '/resetb': { steps: [{ delayHeadersMs: 2, reset: 'before-headers' }] },
      '/resetm': { steps: [{ reset: 'mid-body', body: 'x'.repeat(2000) }] },
      '/err': { steps: [{ status: 500, delayHeadersMs: 1 }] },
      '/drip': { steps: [{ drip: { chunks: 3, intervalMs: 2 } }] },
      '/stall': { steps: [{ stallBody: true, bodyPrefix: 'y' }] },
    },
  });
  t.after(() => upstream.close());
  const hosts = ['a.test', 'b.test', 'c.test', 'd.test', 'e.test'];
  const { resolver } = tableResolver(Object.fromEntries(hosts.map((h) => [h, loopback()])));
  const agent = createAgent({ limit: 12, limitPerHost: 4, resolver, maxQueue: 100_000 });
  const wire = wireCounter();
  t.after(() => wire.stop());
  const routes = ['/slow', '/resetb', '/resetm', '/err', '/drip', '/stall', '/slow'];
  const outcomes = { ok: 0, failed: 0 };
  const calls = Array.from({ length: 500 }, async (_, i) => {
    const host = hosts[i % hosts.length]!;
    const route = routes[i % routes.length]!;
    const controller = new AbortController();
    const mode = i % 4; // 0 no abort, 1 abort at once, 2 abort next turn, 3 abort after head
    if (mode === 1) queueMicrotask(() => controller.abort());
    if (mode === 2) setImmediate(() => controller.abort());
    try {
      const response = await agent.fetch(`http://${host}:${upstream.port}${route}?i=${i}`, {
        signal: controller.signal,
      });
      if (mode === 3 || route === '/stall') controller.abort();
      await response.arrayBuffer();
      outcomes.ok++;
    } catch {
      outcomes.failed++;
    }
  });
  await Promise.all(calls);
  // undici's own pool counters (`running`, `queued`) settle a few turns after the agent's.
  const busy = (): boolean => {
    const s = agent.stats();
    return (
      s.inFlight !== 0 ||
      s.waiting !== 0 ||
      Object.values(s.origins).some((o) => o.running !== 0 || o.queued !== 0)
    );
  };
  for (let i = 0; i < 400 && busy(); i++) {
    await new Promise((r) => setTimeout(r, 5));
  }
  // The caps, counted on the wire (see wireCounter): the upstream's own peak may count an aborted request a
  // moment longer. Every host was reached, and the counter saw requests.
  assert.ok(wire.peak > 0 && wire.peak <= 12, `global peak ${wire.peak}`);
  assert.equal(wire.peakByOrigin.size, hosts.length);
  for (const [origin, peak] of wire.peakByOrigin) assert.ok(peak <= 4, `${origin} peak ${peak}`);
  assert.ok(upstream.counters().requests > 0);
  const stats = agent.stats();
  assert.equal(stats.inFlight, 0);
  assert.equal(stats.waiting, 0);
  for (const [origin, s] of Object.entries(stats.origins)) {
    assert.equal(s.running, 0, `${origin} running`);
    assert.equal(s.queued, 0, `${origin} queued`);
  }
  assert.ok(outcomes.ok > 50 && outcomes.failed > 50, JSON.stringify(outcomes));
  let closed = false;
  const closing = agent.close().then(() => {
    closed = true;
  });
  for (let i = 0; i < 400 && !closed; i++) await new Promise((r) => setTimeout(r, 5));
  assert.equal(closed, true, 'close() resolves');
  await closing;
  await turn();
});
