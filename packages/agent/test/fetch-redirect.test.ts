import assert from 'node:assert/strict';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { test } from 'node:test';
import { closedPort } from '@ky-resilience/testing';
import { createAgent } from '../src/index.ts';
import { eventually, headerObject, startServer, type TestServer } from './http-server.ts';

/**
 * `/to/<status>?<location>`: answers `status` with `Location: location`; `/loop/<n>`: redirects to
 * `/loop/<n + 1>` forever; `/no-location/<status>`: a redirect status without Location; anything else: 200 with
 * the method and body echoed.
 */
function redirector(req: IncomingMessage, res: ServerResponse, body: Buffer): void {
  const url = new URL(req.url!, 'http://x');
  const [, kind, arg] = url.pathname.split('/');
  if (kind === 'to') {
    res.writeHead(Number(arg), { location: decodeURIComponent(url.search.slice(1)) });
    res.end('redirect body');
  } else if (kind === 'loop') {
    res.writeHead(302, { location: `/loop/${Number(arg) + 1}` });
    res.end();
  } else if (kind === 'hang') {
    // Never answers (the socket is destroyed when the server closes).
  } else if (kind === 'no-location') {
    res.writeHead(Number(arg));
    res.end('no location');
  } else {
    res.end(`${req.method} ${req.url} ${body.toString()}`);
  }
}

async function servers(t: { after: (fn: () => Promise<void>) => void }): Promise<[TestServer, TestServer]> {
  const a = await startServer((req, res, seen) => redirector(req, res, seen.body));
  const b = await startServer((req, res, seen) => redirector(req, res, seen.body));
  t.after(() => a.close());
  t.after(() => b.close());
  return [a, b];
}

const to = (server: TestServer, status: number, location: string): string =>
  `${server.url}/to/${status}?${encodeURIComponent(location)}`;

test('redirects are followed: url, redirected, relative locations and the fragment', async (t) => {
  const [a] = await servers(t);
  const agent = createAgent();
  t.after(() => agent.close());
  for (const status of [301, 302, 303, 307, 308]) {
    const response = await agent.fetch(to(a, status, '/final?x=1'));
    assert.equal(response.status, 200, String(status));
    assert.equal(response.redirected, true);
    assert.equal(response.url, `${a.url}/final?x=1`);
    assert.equal(await response.text(), 'GET /final?x=1 ');
  }
  const withFragment = await agent.fetch(`${to(a, 302, '/frag')}#keep`);
  assert.equal(withFragment.url, `${a.url}/frag`);
  await withFragment.text();
  const chained = await agent.fetch(to(a, 301, to(a, 307, '/end')));
  assert.equal(await chained.text(), 'GET /end ');
  assert.ok(await eventually(() => agent.stats().inFlight === 0));
});

test('303 turns any method into GET without body; 301 and 302 turn POST into GET; 307 and 308 keep both', async (t) => {
  const [a] = await servers(t);
  const agent = createAgent();
  t.after(() => agent.close());
  const post = {
    method: 'POST',
    body: 'payload',
    headers: { 'content-type': 'text/x-custom', 'x-keep': '1' },
  };
  const cases: [number, string, string][] = [
    [303, 'POST', 'GET /dest '],
    [301, 'POST', 'GET /dest '],
    [302, 'POST', 'GET /dest '],
    [307, 'POST', 'POST /dest payload'],
    [308, 'POST', 'POST /dest payload'],
    [303, 'PUT', 'GET /dest '],
    [301, 'PUT', 'PUT /dest payload'],
  ];
  for (const [status, method, expected] of cases) {
    const response = await agent.fetch(to(a, status, '/dest'), { ...post, method });
    assert.equal(await response.text(), expected, `${status} ${method}`);
    const seen = headerObject(a.seen.at(-1)!);
    assert.equal(seen['x-keep'], '1');
    if (expected.startsWith('GET')) {
      assert.equal(seen['content-type'], undefined, `${status} ${method}`);
      assert.equal(seen['content-length'], undefined);
    } else {
      assert.equal(seen['content-type'], 'text/x-custom');
      assert.equal(seen['content-length'], '7');
    }
  }
  // A Request's body (read into memory first) follows a 307 too, as with Node's fetch.
  const request = new Request(to(a, 307, '/dest'), { method: 'POST', body: 'from a request' });
  assert.equal(await (await agent.fetch(request)).text(), 'POST /dest from a request');
});

test('a stream body that was already sent cannot follow a 307', async (t) => {
  const [a] = await servers(t);
  const agent = createAgent();
  t.after(() => agent.close());
  let step = 0;
  const body = new ReadableStream<Uint8Array>({
    async pull(controller) {
      step++;
      if (step === 1) controller.enqueue(new TextEncoder().encode('live'));
      else if (step === 2) {
        await new Promise((resolve) => setTimeout(resolve, 120));
        controller.enqueue(new TextEncoder().encode('-stream'));
      } else controller.close();
    },
  });
  await assert.rejects(
    agent.fetch(to(a, 307, '/dest'), { method: 'POST', body, duplex: 'half' } as RequestInit),
    (e: Error & { cause?: Error }) => {
      assert.equal(e.message, 'fetch failed');
      assert.match(e.cause!.message, /cannot follow a redirect/);
      return true;
    },
  );
  assert.equal(a.seen.length, 1);
});

test('credentials stay on the origin: Authorization, Cookie and Proxy-Authorization are dropped across origins', async (t) => {
  const [a, b] = await servers(t);
  const agent = createAgent();
  t.after(() => agent.close());
  const headers = {
    authorization: 'Bearer s',
    cookie: 'c=1',
    'proxy-authorization': 'Basic p',
    'x-other': 'o',
  };
  await (await agent.fetch(to(a, 302, '/same'), { headers })).text();
  const same = headerObject(a.seen.at(-1)!);
  assert.equal(same.authorization, 'Bearer s');
  assert.equal(same.cookie, 'c=1');
  await (await agent.fetch(to(a, 302, `${b.url}/other`), { headers })).text();
  const other = headerObject(b.seen.at(-1)!);
  assert.equal(other.authorization, undefined);
  assert.equal(other.cookie, undefined);
  assert.equal(other['proxy-authorization'], undefined);
  assert.equal(other['x-other'], 'o');
});

test('redirect: manual returns the redirect; redirect: error fails', async (t) => {
  const [a] = await servers(t);
  const agent = createAgent();
  t.after(() => agent.close());
  const manual = await agent.fetch(to(a, 301, '/elsewhere'), { redirect: 'manual' });
  assert.equal(manual.status, 301);
  assert.equal(manual.headers.get('location'), '/elsewhere');
  assert.equal(manual.redirected, false);
  assert.equal(await manual.text(), 'redirect body');
  await assert.rejects(
    agent.fetch(to(a, 302, '/elsewhere'), { redirect: 'error' }),
    (e: Error & { cause?: Error }) =>
      e.message === 'fetch failed' && e.cause?.message === 'unexpected redirect',
  );
  // A Request's mode is read too.
  const request = new Request(to(a, 302, '/elsewhere'), { redirect: 'manual' });
  assert.equal((await agent.fetch(request)).status, 302);
  assert.equal(a.seen.filter((s) => s.url === '/elsewhere').length, 0);
});

test('at most 20 redirects; bad locations fail; a redirect status without Location is the answer', async (t) => {
  const [a] = await servers(t);
  const agent = createAgent();
  t.after(() => agent.close());
  await assert.rejects(
    agent.fetch(`${a.url}/loop/0`),
    (e: Error & { cause?: Error }) => e.cause?.message === 'redirect count exceeded',
  );
  assert.equal(a.seen.length, 21);
  a.seen.length = 0;
  // Exactly 20 redirects, then the answer.
  let location = '/end';
  for (let i = 0; i < 20; i++) location = `/to/302?${encodeURIComponent(location)}`;
  const ok = await agent.fetch(`${a.url}${location}`);
  assert.equal(await ok.text(), 'GET /end ');
  assert.equal(a.seen.length, 21);
  await assert.rejects(
    agent.fetch(to(a, 302, 'ftp://127.0.0.1/x')),
    (e: Error & { cause?: Error }) => e.cause?.message === 'URL scheme must be a HTTP(S) scheme',
  );
  await assert.rejects(
    agent.fetch(to(a, 302, `http://u:p@127.0.0.1:${a.port}/x`)),
    (e: Error & { cause?: Error }) => e.message === 'fetch failed' && e.cause !== undefined,
  );
  const bare = await agent.fetch(`${a.url}/no-location/302`);
  assert.equal(bare.status, 302);
  assert.equal(await bare.text(), 'no location');
  assert.ok(await eventually(() => agent.stats().inFlight === 0));
});

test('the signal still aborts the call after a redirect', async (t) => {
  const [a] = await servers(t);
  const agent = createAgent();
  t.after(() => agent.close());
  const controller = new AbortController();
  const pending = agent.fetch(to(a, 302, '/hang'), { signal: controller.signal });
  assert.ok(await eventually(() => a.seen.some((s) => s.url === '/hang')));
  const reason = new Error('gave up after the redirect');
  controller.abort(reason);
  await assert.rejects(pending, (e) => e === reason);
  assert.ok(await eventually(() => agent.stats().inFlight === 0));
});

test('a failure after a redirect carries the request-sent mark; one before any request was written does not', async (t) => {
  const server = await startServer((req, res, seen) => redirector(req, res, seen.body));
  const closed = await closedPort();
  const agent = createAgent();
  t.after(async () => {
    await agent.destroy();
    await server.close();
  });
  const sentKey = Symbol.for('@ky-resilience/request-sent@1');
  const refusedUrl = `http://127.0.0.1:${closed}/x`;
  const afterRedirect = await agent
    .fetch(`${server.url}/to/307?${encodeURIComponent(refusedUrl)}`, { method: 'POST', body: 'order' })
    .then(
      () => undefined,
      (error: unknown) => error,
    );
  assert.ok(afterRedirect instanceof TypeError, String(afterRedirect));
  assert.equal((afterRedirect.cause as { code?: string }).code, 'ECONNREFUSED');
  assert.equal((afterRedirect as unknown as Record<symbol, unknown>)[sentKey], true);
  assert.equal(Object.getOwnPropertyDescriptor(afterRedirect, sentKey)?.enumerable, false, 'not enumerable');
  const direct = await agent.fetch(refusedUrl, { method: 'POST', body: 'order' }).then(
    () => undefined,
    (error: unknown) => error,
  );
  assert.ok(direct instanceof TypeError, String(direct));
  assert.equal((direct as unknown as Record<symbol, unknown>)[sentKey], undefined);
});
