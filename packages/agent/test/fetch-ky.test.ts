import assert from 'node:assert/strict';
import { test } from 'node:test';
import { closedPort, startUpstream } from '@ky-resilience/testing';
import ky, { isHTTPError, isNetworkError, isTimeoutError } from 'ky';
import { createAgent } from '../src/index.ts';
import { headerObject, startServer } from './http-server.ts';

test('ky over the agent: json, text, a JSON body, search params', async (t) => {
  const server = await startServer((req, res, seen) => {
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify({ method: req.method, url: req.url, body: seen.body.toString() }));
  });
  t.after(() => server.close());
  const agent = createAgent();
  t.after(() => agent.close());
  const api = ky.create({ prefix: server.url, ...agent.kyOptions });
  assert.deepEqual(await api.get('items', { searchParams: { q: 'a b' } }).json(), {
    method: 'GET',
    url: '/items?q=a+b',
    body: '',
  });
  const posted = await api.post('items', { json: { name: 'x' } }).json<{ body: string }>();
  assert.equal(posted.body, '{"name":"x"}');
  const seen = headerObject(server.seen.at(-1)!);
  assert.equal(seen['content-type'], 'application/json');
  assert.equal(seen['content-length'], String('{"name":"x"}'.length));
  assert.equal(seen.accept, 'application/json');
  assert.match(await api.get('t').text(), /"url":"\/t"/);
  assert.equal(agent.stats().inFlight, 0);
});

test('ky retries a 503 over the agent and its HTTPError carries the response', async (t) => {
  const upstream = await startUpstream({
    routes: {
      '/flaky': { steps: [{ status: 503 }, { status: 200 }] },
      '/down': { steps: [{ status: 500, body: 'broken' }] },
    },
  });
  t.after(() => upstream.close());
  const agent = createAgent();
  t.after(() => agent.close());
  const api = ky.create({ ...agent.kyOptions, retry: { limit: 2, delay: () => 0 } });
  const body = await api.get(`${upstream.url}/flaky`).json<{ ok: boolean }>();
  assert.equal(body.ok, true);
  assert.equal(upstream.counters('/flaky').requests, 2);
  const error = await api.get(`${upstream.url}/down`, { retry: 0 }).catch((e: unknown) => e);
  assert.ok(isHTTPError(error));
  assert.equal(error.response.status, 500);
  assert.equal(error.response.url, `${upstream.url}/down`);
  assert.equal(await error.response.text().catch(() => error.data), 'broken');
});

test('ky sees network errors and its own timeout through the agent', async (t) => {
  const upstream = await startUpstream({ routes: { '/slow': { steps: [{ delayHeadersMs: 2_000 }] } } });
  t.after(() => upstream.close());
  const agent = createAgent();
  t.after(() => agent.close());
  const api = ky.create({ ...agent.kyOptions, retry: 0 });
  const timedOut = await api.get(`${upstream.url}/slow`, { timeout: 50 }).catch((e: unknown) => e);
  assert.ok(isTimeoutError(timedOut), String(timedOut));
  const refused = await api.get(`http://127.0.0.1:${await closedPort()}/`).catch((e: unknown) => e);
  assert.ok(isNetworkError(refused), String(refused));
  assert.equal((refused as { cause?: { cause?: { code?: string } } }).cause?.cause?.code, 'ECONNREFUSED');
});
