import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import {
  createSecureServer,
  type Http2SecureServer,
  type Http2ServerRequest,
  type ServerHttp2Session,
} from 'node:http2';
import { createServer as createHttpsServer, type Server as HttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { test } from 'node:test';
import ky from 'ky';
import { createAgent, isBlockedAddressError } from '../src/index.ts';
import { failure, loopback, tableResolver } from './helpers.ts';

const fixtures = new URL('./fixtures/', import.meta.url);
const cert = readFileSync(new URL('cert.pem', fixtures));
const key = readFileSync(new URL('key.pem', fixtures));

type Seen = {
  httpVersion: string;
  method: string;
  url: string;
  servername: unknown;
  body: string;
  headers: Record<string, unknown>;
};

function record(
  seen: Seen[],
  req: {
    httpVersion: string;
    method?: string | undefined;
    url?: string | undefined;
    headers: Record<string, unknown>;
    socket: unknown;
  },
  body: string,
): void {
  seen.push({
    httpVersion: req.httpVersion,
    method: req.method ?? '',
    url: req.url ?? '',
    servername: (req.socket as { servername?: unknown }).servername,
    body,
    headers: req.headers,
  });
}

/** An HTTPS/1.1 server on 127.0.0.1 with the test certificate; echoes the request as JSON. */
async function startHttps(): Promise<{
  server: HttpsServer;
  port: number;
  seen: Seen[];
  handshakes: () => number;
  tcp: () => number;
}> {
  const seen: Seen[] = [];
  let handshakes = 0;
  let tcp = 0;
  const server = createHttpsServer({ cert, key }, (req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString();
      record(seen, req, body);
      res.setHeader('content-type', 'application/json');
      res.setHeader('x-echo', 'yes');
      res.end(JSON.stringify({ method: req.method, url: req.url, body, httpVersion: req.httpVersion }));
    });
  });
  server.on('secureConnection', () => handshakes++);
  server.on('connection', () => tcp++);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    server,
    port: (server.address() as AddressInfo).port,
    seen,
    handshakes: () => handshakes,
    tcp: () => tcp,
  };
}

/** An HTTP/2 server over TLS on 127.0.0.1 (compat API); counts sessions and HTTP/1 requests alike. */
async function startH2(allowHTTP1: boolean): Promise<{
  server: Http2SecureServer;
  port: number;
  seen: Seen[];
  sessions: () => number;
  handshakes: () => number;
}> {
  const seen: Seen[] = [];
  let sessions = 0;
  let handshakes = 0;
  const server = createSecureServer({ cert, key, allowHTTP1 }, (req: Http2ServerRequest, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString();
      record(seen, req as never, body);
      if (req.url === '/empty') {
        res.statusCode = 204;
        res.end();
        return;
      }
      res.setHeader('content-type', 'application/json');
      res.setHeader('x-echo', 'yes');
      res.end(JSON.stringify({ method: req.method, url: req.url, body, httpVersion: req.httpVersion }));
    });
  });
  const open = new Set<ServerHttp2Session>();
  server.on('session', (session: ServerHttp2Session) => {
    sessions++;
    open.add(session);
    session.on('close', () => open.delete(session));
  });
  // Node 22's server.close() waits for every session, idle ones included: close them too.
  const closeServer = server.close.bind(server);
  server.close = ((callback?: (error?: Error) => void) => {
    closeServer(callback);
    for (const session of open) session.close();
    return server;
  }) as typeof server.close;
  server.on('secureConnection', () => handshakes++);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    server,
    port: (server.address() as AddressInfo).port,
    seen,
    sessions: () => sessions,
    handshakes: () => handshakes,
  };
}

function close(server: {
  close: (cb?: () => void) => unknown;
  closeAllConnections?: () => void;
}): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections?.();
  });
}

/** The innermost `cause` (ky wraps fetch's `TypeError: fetch failed` in its NetworkError). */
function rootCause(error: unknown): unknown {
  let current = error;
  while (
    typeof current === 'object' &&
    current !== null &&
    'cause' in current &&
    current.cause !== undefined
  ) {
    current = current.cause;
  }
  return current;
}

const localhost = () => tableResolver({ localhost: loopback() });

test('https: agent.fetch and ky reach a server whose CA is given in tls.ca; SNI is the host name', async (t) => {
  const { server, port, seen } = await startHttps();
  t.after(() => close(server));
  const agent = createAgent({ tls: { ca: cert }, resolver: localhost().resolver });
  t.after(() => agent.close());

  const response = await agent.fetch(`https://localhost:${port}/a?x=1`, { headers: { 'x-test': 'one' } });
  assert.equal(response.status, 200);
  assert.equal(response.headers.get('x-echo'), 'yes');
  assert.deepEqual(await response.json(), { method: 'GET', url: '/a?x=1', body: '', httpVersion: '1.1' });
  assert.equal(seen[0]!.servername, 'localhost');
  assert.equal(seen[0]!.headers['x-test'], 'one');

  const api = ky.create({ prefix: `https://localhost:${port}`, ...agent.kyOptions });
  assert.deepEqual(await api.get('b').json(), { method: 'GET', url: '/b', body: '', httpVersion: '1.1' });
  const posted = await api.post('c', { json: { n: 1 } }).json<{ body: string }>();
  assert.equal(posted.body, '{"n":1}');
  assert.equal(seen.at(-1)!.headers['content-length'], '7');
  assert.equal(agent.stats().inFlight, 0);
});

test('https: an IP URL is checked against the certificate IP SAN, with no SNI', async (t) => {
  const { server, port, seen } = await startHttps();
  t.after(() => close(server));
  const agent = createAgent({ tls: { ca: [cert] } });
  t.after(() => agent.close());
  const response = await agent.fetch(`https://127.0.0.1:${port}/ip`);
  assert.equal(response.status, 200);
  await response.arrayBuffer();
  assert.equal(seen[0]!.servername, false);
});

test('https: without the CA the request fails with the certificate error, through fetch and ky', async (t) => {
  const { server, port, seen } = await startHttps();
  t.after(() => close(server));
  const agent = createAgent({ resolver: localhost().resolver });
  t.after(() => agent.close());
  const error = (await failure(agent.fetch(`https://localhost:${port}/`))) as { code?: string };
  assert.equal(error.code, 'DEPTH_ZERO_SELF_SIGNED_CERT', String(error));
  const api = ky.create({ prefix: `https://localhost:${port}`, retry: 0, ...agent.kyOptions });
  const kyError = await failure(api.get('x').text());
  assert.equal(
    (rootCause(kyError) as { code?: string }).code,
    'DEPTH_ZERO_SELF_SIGNED_CERT',
    String(kyError),
  );
  assert.equal(seen.length, 0);
});

test('https: the certificate is checked against the request host, not the resolved address', async (t) => {
  // The certificate covers 127.0.0.1, the address `internal.test` resolves to: a check against the address
  // would pass. The request's host name is what must match.
  const { server, port, seen } = await startHttps();
  t.after(() => close(server));
  const agent = createAgent({
    tls: { ca: cert },
    resolver: tableResolver({ 'internal.test': loopback() }).resolver,
  });
  t.after(() => agent.close());
  const error = (await failure(agent.fetch(`https://internal.test:${port}/`))) as { code?: string };
  assert.equal(error.code, 'ERR_TLS_CERT_ALTNAME_INVALID', String(error));
  assert.equal(seen.length, 0);
});

test('https: rejectUnauthorized false accepts the self-signed certificate without a CA', async (t) => {
  const { server, port } = await startHttps();
  t.after(() => close(server));
  const agent = createAgent({ tls: { rejectUnauthorized: false }, resolver: localhost().resolver });
  t.after(() => agent.close());
  const response = await agent.fetch(`https://localhost:${port}/`);
  assert.equal(response.status, 200);
  await response.text();
});

test('https: sequential requests reuse one TLS connection, the host resolved once', async (t) => {
  const { server, port, seen, handshakes, tcp } = await startHttps();
  t.after(() => close(server));
  const { resolver, calls } = localhost();
  const agent = createAgent({ tls: { ca: cert }, resolver });
  t.after(() => agent.close());
  const api = ky.create({ prefix: `https://localhost:${port}`, ...agent.kyOptions });
  for (let i = 0; i < 6; i++) {
    if (i % 2 === 0) assert.equal((await api.get(`r${i}`).json<{ url: string }>()).url, `/r${i}`);
    else assert.equal((await api.post(`r${i}`, { body: `b${i}` }).json<{ body: string }>()).body, `b${i}`);
  }
  assert.equal(seen.length, 6);
  assert.equal(handshakes(), 1);
  assert.equal(tcp(), 1);
  assert.deepEqual(calls, ['localhost']);
  assert.equal(agent.stats().origins[`https://localhost:${port}`]?.connected, 1);
});

test('https: the SSRF guard refuses the resolved loopback address before any TLS connection', async (t) => {
  const { server, port, tcp } = await startHttps();
  t.after(() => close(server));
  const agent = createAgent({
    tls: { ca: cert },
    denyPrivateAddresses: true,
    resolver: tableResolver({ 'internal.test': loopback(), localhost: loopback() }).resolver,
  });
  t.after(() => agent.close());
  for (const host of ['internal.test', 'localhost']) {
    const error = await failure(agent.fetch(`https://${host}:${port}/`));
    assert.ok(isBlockedAddressError(error), String(error));
    assert.equal(error.address, '127.0.0.1');
  }
  const api = ky.create({ prefix: `https://localhost:${port}`, retry: 0, ...agent.kyOptions });
  const kyError = await failure(api.get('x').text());
  assert.ok(isBlockedAddressError(rootCause(kyError)), String(kyError));
  assert.equal(tcp(), 0);
});

test('h2: allowH2 speaks HTTP/2 to an h2-only server; concurrent requests share one session', async (t) => {
  const { server, port, seen, sessions, handshakes } = await startH2(false);
  t.after(() => close(server));
  const agent = createAgent({ allowH2: true, tls: { ca: cert }, resolver: localhost().resolver });
  t.after(() => agent.close());

  const first = await agent.fetch(`https://localhost:${port}/one`, { headers: { 'x-test': 'h2' } });
  assert.equal(first.status, 200);
  assert.equal(first.headers.get('x-echo'), 'yes');
  assert.equal(first.headers.get('content-type'), 'application/json');
  assert.deepEqual(await first.json(), { method: 'GET', url: '/one', body: '', httpVersion: '2.0' });
  assert.equal(seen[0]!.httpVersion, '2.0');
  assert.equal(seen[0]!.headers['x-test'], 'h2');
  assert.equal(seen[0]!.headers[':authority'], `localhost:${port}`);

  // Concurrent GETs are multiplexed on the one session.
  const api = ky.create({ prefix: `https://localhost:${port}`, ...agent.kyOptions });
  const results = await Promise.all(
    Array.from({ length: 8 }, (_, i) => api.get(`g${i}`).json<{ url: string; httpVersion: string }>()),
  );
  results.forEach((r, i) => {
    assert.equal(r.url, `/g${i}`);
    assert.equal(r.httpVersion, '2.0');
  });
  assert.equal(seen.length, 9);
  assert.ok(seen.every((s) => s.httpVersion === '2.0'));
  assert.equal(sessions(), 1);
  assert.equal(handshakes(), 1);

  // A POST alone reuses the session; its JSON body arrives whole.
  const posted = await api.post('p', { json: { n: 1 } }).json<{ body: string; httpVersion: string }>();
  assert.deepEqual(posted, { method: 'POST', url: '/p', body: '{"n":1}', httpVersion: '2.0' });
  assert.equal(seen.at(-1)!.headers['content-type'], 'application/json');
  assert.equal(sessions(), 1);
  assert.equal(agent.stats().inFlight, 0);
});

test('h2: a streamed request body and a 204 over HTTP/2', async (t) => {
  const { server, port, seen } = await startH2(false);
  t.after(() => close(server));
  const agent = createAgent({ allowH2: true, tls: { ca: cert }, resolver: localhost().resolver });
  t.after(() => agent.close());
  const body = new ReadableStream<Uint8Array>({
    start(controller) {
      controller.enqueue(new TextEncoder().encode('part1-'));
      controller.enqueue(new TextEncoder().encode('part2'));
      controller.close();
    },
  });
  const response = await agent.fetch(`https://localhost:${port}/stream`, {
    method: 'PUT',
    body,
    duplex: 'half',
  } as RequestInit);
  assert.equal(response.status, 200);
  assert.equal(((await response.json()) as { body: string }).body, 'part1-part2');
  assert.equal(seen[0]!.method, 'PUT');
  assert.equal(seen[0]!.httpVersion, '2.0');

  const empty = await agent.fetch(`https://localhost:${port}/empty`, { method: 'DELETE' });
  assert.equal(empty.status, 204);
  assert.equal(empty.body, null);
  assert.equal(await empty.text(), '');
  assert.equal(seen[1]!.method, 'DELETE');
  assert.equal(agent.stats().inFlight, 0);
});

test('h2: without allowH2 the agent speaks HTTP/1.1 to a server that offers both', async (t) => {
  const { server, port, seen, sessions } = await startH2(true);
  t.after(() => close(server));
  const agent = createAgent({ tls: { ca: cert }, resolver: localhost().resolver });
  t.after(() => agent.close());
  const api = ky.create({ prefix: `https://localhost:${port}`, ...agent.kyOptions });
  assert.equal((await api.get('a').json<{ httpVersion: string }>()).httpVersion, '1.1');
  assert.equal((await api.post('b', { body: 'x' }).json<{ body: string }>()).body, 'x');
  assert.ok(seen.every((s) => s.httpVersion === '1.1'));
  assert.equal(sessions(), 0);
});

test('h2: allowH2 against a server that offers both negotiates HTTP/2', async (t) => {
  const { server, port, seen } = await startH2(true);
  t.after(() => close(server));
  const agent = createAgent({ allowH2: true, tls: { ca: cert }, resolver: localhost().resolver });
  t.after(() => agent.close());
  const response = await agent.fetch(`https://localhost:${port}/`);
  await response.arrayBuffer();
  assert.equal(seen[0]!.httpVersion, '2.0');
});
