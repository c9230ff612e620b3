import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createAgent } from '../src/index.ts';
import { withDefaultHeaders } from '../src/request-headers.ts';
import { headerObject, type SeenRequest, startServer } from './http-server.ts';

/** True when a response came from the lean fetch (a subclass of Response), not from Node's fetch. */
const lean = (response: Response): boolean => Object.getPrototypeOf(response) !== Response.prototype;

type Case = {
  name: string;
  call: (url: string) => [string | URL | Request, RequestInit?];
  /** The body is a stream: Node's fetch sends it chunked, the lean fetch with its length once read. */
  stream?: boolean;
};

const file = new Blob(['file-content'], { type: 'text/plain' });
const form = (): FormData => {
  const data = new FormData();
  data.append('field', 'value');
  data.append('file', file, 'a.txt');
  return data;
};
const bytes = (): Uint8Array => new Uint8Array([0, 1, 2, 3, 4, 5, 6, 7]).subarray(2, 6);
const syncStream = (): ReadableStream<Uint8Array> =>
  new ReadableStream({
    start(controller) {
      controller.enqueue(new TextEncoder().encode('stream-'));
      controller.enqueue(new TextEncoder().encode('body'));
      controller.close();
    },
  });

const cases: Case[] = [
  { name: 'GET', call: (u) => [`${u}/a?b=1`] },
  { name: 'GET by URL object', call: (u) => [new URL(`${u}/url-object#frag`)] },
  { name: 'GET with a trailing ?', call: (u) => [`${u}/q?`] },
  {
    name: 'GET, init with nothing defined',
    call: (u) => [`${u}/a`, { headers: undefined, body: undefined } as unknown as RequestInit],
  },
  {
    name: 'headers as an object',
    call: (u) => [u, { headers: { 'X-A': ' padded ', Accept: 'application/json' } }],
  },
  {
    name: 'headers as Headers with a repeated name',
    call: (u) =>
      [
        u,
        {
          headers: new Headers([
            ['x-d', '1'],
            ['X-D', '2'],
          ]),
        },
      ] as [string, RequestInit],
  },
  {
    name: 'headers as pairs',
    call: (u) => [
      u,
      {
        headers: [
          ['x-p', 'a'],
          ['x-q', 'b'],
        ],
      },
    ],
  },
  {
    name: 'caller defaults win',
    call: (u) => [
      u,
      { headers: { 'user-agent': 'me', 'accept-encoding': 'br', 'accept-language': 'fr', accept: 'text/x' } },
    ],
  },
  { name: 'Range adds identity', call: (u) => [u, { headers: { range: 'bytes=0-1' } }] },
  {
    name: 'Range with an Accept-Encoding',
    call: (u) => [u, { headers: { range: 'bytes=0-1', 'accept-encoding': 'gzip' } }],
  },
  { name: 'a conditional request', call: (u) => [u, { headers: { 'if-none-match': '"x"' } }] },
  {
    name: 'a conditional request with Cache-Control',
    call: (u) => [
      u,
      { headers: { 'if-modified-since': 'Thu, 01 Jan 1970 00:00:00 GMT', 'cache-control': 'max-age=1' } },
    ],
  },
  {
    name: 'Host dropped, Sec-Fetch-Mode replaced',
    call: (u) => [u, { headers: { host: 'example.com', 'sec-fetch-mode': 'navigate' } }],
  },
  { name: 'POST a string', call: (u) => [u, { method: 'POST', body: 'héllo' }] },
  {
    name: 'POST a string with a content type',
    call: (u) => [u, { method: 'POST', body: '{"a":1}', headers: { 'content-type': 'application/json' } }],
  },
  { name: 'post (lower case)', call: (u) => [u, { method: 'post', body: 'x' }] },
  {
    name: 'PUT URLSearchParams',
    call: (u) => [u, { method: 'PUT', body: new URLSearchParams({ a: '1', b: 'é' }) }],
  },
  {
    name: 'PATCH an ArrayBuffer',
    call: (u) => [u, { method: 'PATCH', body: new Uint8Array([9, 8, 7]).buffer }],
  },
  { name: 'POST a typed array view', call: (u) => [u, { method: 'POST', body: bytes() }] },
  {
    name: 'POST a DataView',
    call: (u) => [u, { method: 'POST', body: new DataView(bytes().slice().buffer) }],
  },
  { name: 'POST a Blob with a type', call: (u) => [u, { method: 'POST', body: file }] },
  { name: 'POST a Blob without a type', call: (u) => [u, { method: 'POST', body: new Blob(['raw']) }] },
  { name: 'POST FormData', call: (u) => [u, { method: 'POST', body: form() }] },
  { name: 'POST an empty string', call: (u) => [u, { method: 'POST', body: '' }] },
  { name: 'POST without a body', call: (u) => [u, { method: 'POST' }] },
  { name: 'PUT without a body', call: (u) => [u, { method: 'PUT' }] },
  { name: 'DELETE', call: (u) => [u, { method: 'DELETE' }] },
  { name: 'OPTIONS', call: (u) => [u, { method: 'OPTIONS' }] },
  { name: 'an extension method', call: (u) => [u, { method: 'PROPFIND' }] },
  {
    name: 'a Request with a string body',
    call: (u) => [new Request(`${u}/r`, { method: 'POST', body: 'req-body', headers: { 'x-r': '1' } })],
  },
  { name: 'a Request with FormData', call: (u) => [new Request(u, { method: 'POST', body: form() })] },
  { name: 'a Request with a Blob', call: (u) => [new Request(u, { method: 'PUT', body: file })] },
  {
    name: 'a Request and an init',
    call: (u) => [new Request(u, { headers: { 'x-a': '1' } }), { headers: { 'x-b': '2' } }],
  },
  {
    name: 'a Request and a signal (a wrapper’s init)',
    call: (u) => [new Request(u, { method: 'PUT', body: 'b' }), { signal: new AbortController().signal }],
  },
  {
    name: 'a stream body',
    call: (u) => [u, { method: 'POST', body: syncStream(), duplex: 'half' } as RequestInit],
    stream: true,
  },
  {
    name: 'a Request with a stream body',
    call: (u) => [new Request(u, { method: 'POST', body: syncStream(), duplex: 'half' } as RequestInit)],
    stream: true,
  },
];

/** A request as compared: host, connection and framing headers aside, multipart boundary normalised. */
function comparable(seen: SeenRequest, stream: boolean): unknown {
  let body = seen.body.toString('latin1');
  const skip = new Set(['host', 'connection', ...(stream ? ['content-length', 'transfer-encoding'] : [])]);
  let headers = seen.headers.filter(([name]) => !skip.has(name));
  const boundary = /boundary=(\S+)/.exec(headerObject(seen)['content-type'] ?? '')?.[1];
  if (boundary !== undefined) {
    body = body.split(boundary).join('BOUNDARY');
    headers = headers.map(([n, v]) => [n, v.split(boundary).join('BOUNDARY')]);
  }
  // Node 22's fetch drops a trailing `?` (Node 24 and 26 keep it, as the lean fetch does).
  return {
    method: seen.method,
    url: seen.url.replace(/\?$/, ''),
    headers: headers.map((h) => h.join(': ')).sort(),
    body,
  };
}

test('requests reach the server as Node’s fetch sends them: methods, headers, defaults and bodies', async (t) => {
  const server = await startServer((_req, res) => res.end('ok'));
  t.after(() => server.close());
  const agent = createAgent();
  t.after(() => agent.close());
  for (const c of cases) {
    const [nodeInput, nodeInit] = c.call(server.url);
    await (await fetch(nodeInput, nodeInit)).text();
    const expected = server.seen.at(-1)!;
    const [input, init] = c.call(server.url);
    const response = await agent.fetch(input, init);
    assert.equal(await response.text(), 'ok', c.name);
    assert.ok(lean(response), `${c.name}: served by the lean fetch`);
    const actual = server.seen.at(-1)!;
    assert.notEqual(actual, expected, c.name);
    assert.deepEqual(comparable(actual, c.stream === true), comparable(expected, c.stream === true), c.name);
    if (c.name === 'GET with a trailing ?') assert.equal(actual.url, '/q?');
    if (c.stream) {
      // Read at once into memory: sent with its length.
      assert.equal(actual.chunked, false, c.name);
      assert.equal(headerObject(actual)['content-length'], String(actual.body.length), c.name);
    }
  }
  assert.equal(agent.stats().inFlight, 0);
});

test('a stream body that pauses goes out chunked, the bytes intact', async (t) => {
  const server = await startServer((_req, res) => res.end('ok'));
  t.after(() => server.close());
  const agent = createAgent();
  t.after(() => agent.close());
  let step = 0;
  const body = new ReadableStream<Uint8Array>({
    async pull(controller) {
      step++;
      if (step === 1) controller.enqueue(new TextEncoder().encode('first,'));
      else if (step === 2) {
        // A live source: the next chunk takes longer than the lean fetch waits before it starts sending.
        await new Promise((resolve) => setTimeout(resolve, 150));
        controller.enqueue(new TextEncoder().encode('second'));
      } else controller.close();
    },
  });
  const response = await agent.fetch(server.url, { method: 'POST', body, duplex: 'half' } as RequestInit);
  await response.text();
  const seen = server.seen.at(-1)!;
  assert.equal(seen.body.toString(), 'first,second');
  assert.equal(seen.chunked, true);
});

test('an upload larger than the buffer limit goes out as a stream (chunked), intact', async (t) => {
  const server = await startServer((_req, res) => res.end('ok'));
  t.after(() => server.close());
  const agent = createAgent();
  t.after(() => agent.close());
  const chunk = new Uint8Array(1024 * 1024).fill(97);
  let sent = 0;
  const total = 20;
  const body = new ReadableStream<Uint8Array>({
    pull(controller) {
      if (sent === total) controller.close();
      else {
        sent++;
        controller.enqueue(chunk);
      }
    },
  });
  await (await agent.fetch(server.url, { method: 'PUT', body, duplex: 'half' } as RequestInit)).text();
  const seen = server.seen.at(-1)!;
  assert.equal(seen.body.length, total * chunk.length);
  assert.equal(seen.chunked, true);
});

test('bad input rejects with the TypeError Node’s fetch gives; nothing is sent', async (t) => {
  const server = await startServer((_req, res) => res.end('ok'));
  t.after(() => server.close());
  const agent = createAgent();
  t.after(() => agent.close());
  const bad: [string | URL | Request, RequestInit?][] = [
    ['not a url'],
    ['/relative'],
    [`http://user:pw@127.0.0.1:${server.port}/`],
    [server.url, { method: 'GET', body: 'x' }],
    [server.url, { method: 'CONNECT' }],
    [server.url, { method: 'bad method' }],
    [server.url, { headers: { 'bad name': 'x' } }],
    [server.url, { headers: { 'x-a': 'line\nbreak' } }],
    [server.url, { redirect: 'sideways' as NonNullable<RequestInit['redirect']> }],
    [server.url, { signal: {} as AbortSignal }],
  ];
  for (const [input, init] of bad) {
    const expected = await fetch(input, init).then(
      () => assert.fail('Node’s fetch accepted it'),
      (e: Error) => e,
    );
    await assert.rejects(agent.fetch(input, init), (e: Error) => {
      assert.equal(e.name, expected.name, String(input));
      assert.equal(e.message, expected.message, String(input));
      return true;
    });
  }
  assert.equal(server.seen.length, 0);
});

test('a bad port is a network error, as in fetch', async (t) => {
  const agent = createAgent();
  t.after(() => agent.close());
  await assert.rejects(agent.fetch('http://127.0.0.1:6000/'), (e: Error & { cause?: Error }) => {
    assert.equal(e.name, 'TypeError');
    assert.equal(e.message, 'fetch failed');
    assert.equal(e.cause?.message, 'bad port');
    return true;
  });
});

test('what the lean fetch does not do goes to Node’s fetch over the same agent', async (t) => {
  const server = await startServer((_req, res) => res.end('ok'));
  t.after(() => server.close());
  const agent = createAgent();
  t.after(() => agent.close());
  // cache: 'no-store' is Node's fetch's own (Pragma and Cache-Control headers): the request went through it.
  const noStore = await agent.fetch(server.url, { cache: 'no-store' });
  assert.equal(await noStore.text(), 'ok');
  assert.equal(lean(noStore), false);
  assert.equal(headerObject(server.seen.at(-1)!).pragma, 'no-cache');
  for (const init of [
    { keepalive: true },
    { mode: 'no-cors' },
    { integrity: 'sha256-x' },
    { referrer: `${server.url}/from` },
    { dispatcher: agent.dispatcher },
  ] as RequestInit[]) {
    const response = await agent.fetch(server.url, init).catch((e: unknown) => e);
    if (response instanceof Response) {
      assert.equal(lean(response), false, JSON.stringify(Object.keys(init)));
      await response.text();
    }
  }
  const data = await agent.fetch('data:text/plain,hello');
  assert.equal(await data.text(), 'hello');
  // Every network request of the fallbacks went through the agent's pool.
  assert.deepEqual(Object.keys(agent.stats().origins), [server.origin]);
  assert.equal(agent.stats().inFlight, 0);
});

test('default headers: https asks for br too', () => {
  assert.deepEqual(withDefaultHeaders([], 'GET', true, false, null), [
    'accept',
    '*/*',
    'accept-language',
    '*',
    'sec-fetch-mode',
    'cors',
    'user-agent',
    'node',
    'accept-encoding',
    'br, gzip, deflate',
  ]);
  assert.deepEqual(withDefaultHeaders(['content-length', '3'], 'POST', false, true, 5).slice(0, 2), [
    'content-length',
    '3',
  ]);
});
