import assert from 'node:assert/strict';
import { Agent } from 'node:http';
import { test } from 'node:test';
import { startUpstream } from '../src/index.ts';
import { send } from './helpers.ts';

test('steps give a status sequence per route, then the last step repeats', async (t) => {
  const upstream = await startUpstream({
    routes: {
      '/a': { steps: [{ status: 503 }, { status: 500 }, { status: 200 }] },
      '/b': { steps: [{ status: 429 }] },
    },
  });
  t.after(() => upstream.close());
  const statuses: number[] = [];
  for (let i = 0; i < 5; i += 1) statuses.push((await send(`${upstream.url}/a`)).status);
  assert.deepEqual(statuses, [503, 500, 200, 200, 200]);
  assert.equal((await send(`${upstream.url}/b`)).status, 429);
  assert.equal((await send(`${upstream.url}/b`)).status, 429);
  assert.equal((await send(`${upstream.url}/other`)).status, 200);
});

test('`then` is used after the steps', async (t) => {
  const upstream = await startUpstream({
    routes: {
      // biome-ignore lint/suspicious/noThenProperty: `then` is RouteSpec's step after the list (an object, never callable)
      '/a': { steps: [{ status: 502 }, { status: 504 }], then: { status: 201 } },
    },
  });
  t.after(() => upstream.close());
  const statuses: number[] = [];
  for (let i = 0; i < 4; i += 1) statuses.push((await send(`${upstream.url}/a`)).status);
  assert.deepEqual(statuses, [502, 504, 201, 201]);
});

test("'*' programs every other path and numbers requests across them", async (t) => {
  const upstream = await startUpstream({
    routes: { '*': { steps: [{ status: 503 }, { status: 200 }] }, '/fixed': { steps: [{ status: 418 }] } },
  });
  t.after(() => upstream.close());
  assert.equal((await send(`${upstream.url}/x`)).status, 503);
  assert.equal((await send(`${upstream.url}/fixed`)).status, 418);
  assert.equal((await send(`${upstream.url}/y?q=1`)).status, 200);
  assert.equal(upstream.counters('*').requests, 2);
  assert.equal(upstream.counters('/x').requests, 1);
  assert.equal(upstream.counters('/y').requests, 1);
});

test('a doubled leading slash is part of the path: //other/x is not routed or counted as /x', async (t) => {
  const upstream = await startUpstream({
    routes: { '/x': { steps: [{ status: 418 }] }, '//x': { steps: [{ status: 202 }] } },
  });
  t.after(() => upstream.close());
  const response = await send(`${upstream.url}//other/x?q=1`);
  assert.equal(response.status, 200);
  assert.deepEqual(JSON.parse(response.body), { ok: true, route: '//other/x', n: 0 });
  assert.equal((await send(`${upstream.url}//x`)).status, 202);
  assert.equal(upstream.counters('/x').requests, 0);
  assert.equal(upstream.counters('//other/x').requests, 1);
  assert.equal(upstream.counters('//x').requests, 1);
  assert.equal(upstream.counters('*').requests, 1);
});

test('the default body is JSON with the route and the request number; custom bodies and headers are sent', async (t) => {
  const upstream = await startUpstream({
    routes: {
      '/json': {},
      '/fail': { steps: [{ status: 500 }] },
      '/custom': {
        steps: [{ body: 'hello', headers: { 'X-Custom': 'yes', 'content-type': 'text/x-test' } }],
      },
    },
  });
  t.after(() => upstream.close());
  const first = await send(`${upstream.url}/json`);
  const second = await send(`${upstream.url}/json`);
  assert.equal(first.headers['content-type'], 'application/json');
  assert.deepEqual(JSON.parse(first.body), { ok: true, route: '/json', n: 0 });
  assert.deepEqual(JSON.parse(second.body), { ok: true, route: '/json', n: 1 });
  assert.deepEqual(JSON.parse((await send(`${upstream.url}/fail`)).body), {
    ok: false,
    route: '/fail',
    n: 0,
  });
  const custom = await send(`${upstream.url}/custom`);
  assert.equal(custom.body, 'hello');
  assert.equal(custom.headers['x-custom'], 'yes');
  assert.equal(custom.headers['content-type'], 'text/x-test');
  assert.equal(custom.headers['content-length'], '5');
});

test('Retry-After as seconds, verbatim strings, HTTP-dates (future and past) and huge values', async (t) => {
  const wallNow = Date.UTC(2030, 0, 1, 12, 0, 0);
  const upstream = await startUpstream({
    now: () => wallNow,
    routes: {
      '/r': {
        steps: [
          { status: 429, retryAfter: 3 },
          { status: 503, retryAfter: 'Wed, 01 Jan 2031 00:00:00 GMT' },
          { status: 503, retryAfter: 'soon, maybe' },
          { status: 503, retryAfter: 999_999_999 },
          { status: 503, retryAfterDate: 5_000 },
          { status: 503, retryAfterDate: -60_000 },
        ],
      },
    },
  });
  t.after(() => upstream.close());
  const values: Array<string | undefined> = [];
  for (let i = 0; i < 6; i += 1) values.push((await send(`${upstream.url}/r`)).headers['retry-after']);
  assert.deepEqual(values, [
    '3',
    'Wed, 01 Jan 2031 00:00:00 GMT',
    'soon, maybe',
    '999999999',
    'Tue, 01 Jan 2030 12:00:05 GMT',
    'Tue, 01 Jan 2030 11:59:00 GMT',
  ]);
});

test('retryAfterDate uses the real wall clock by default', async (t) => {
  const upstream = await startUpstream({
    routes: { '/r': { steps: [{ status: 503, retryAfterDate: 3_600_000 }] } },
  });
  t.after(() => upstream.close());
  const before = Date.now();
  const header = (await send(`${upstream.url}/r`)).headers['retry-after'];
  assert.ok(header !== undefined);
  const date = Date.parse(header);
  // An hour ahead, to within the second-granularity of HTTP-dates plus generous slack.
  assert.ok(date > before + 3_500_000 && date < before + 3_700_000, header);
});

test('RateLimit-Reset and X-RateLimit-Reset', async (t) => {
  const upstream = await startUpstream({
    routes: { '/l': { steps: [{ status: 429, rateLimitReset: 7, xRateLimitReset: 1_900_000_000 }] } },
  });
  t.after(() => upstream.close());
  const response = await send(`${upstream.url}/l`);
  assert.equal(response.status, 429);
  assert.equal(response.headers['ratelimit-reset'], '7');
  assert.equal(response.headers['x-ratelimit-reset'], '1900000000');
  assert.equal(response.headers['retry-after'], undefined);
});

test('numeric Retry-After, RateLimit-Reset and X-RateLimit-Reset go out as digits up to Number.MAX_SAFE_INTEGER', async (t) => {
  const max = Number.MAX_SAFE_INTEGER;
  const upstream = await startUpstream({
    routes: { '/l': { steps: [{ status: 429, retryAfter: max, rateLimitReset: max, xRateLimitReset: 0 }] } },
  });
  t.after(() => upstream.close());
  const response = await send(`${upstream.url}/l`);
  assert.equal(response.headers['retry-after'], '9007199254740991');
  assert.equal(response.headers['ratelimit-reset'], '9007199254740991');
  assert.equal(response.headers['x-ratelimit-reset'], '0');
});

test('retryAfterDate at its bound, 1e13 ms either way, still gives HTTP-dates', async (t) => {
  const wallNow = Date.UTC(2030, 0, 1, 12, 0, 0);
  const upstream = await startUpstream({
    now: () => wallNow,
    routes: {
      '/r': {
        steps: [
          { status: 503, retryAfterDate: 1e13 },
          { status: 503, retryAfterDate: -1e13 },
        ],
      },
    },
  });
  t.after(() => upstream.close());
  const later = (await send(`${upstream.url}/r`)).headers['retry-after'];
  const earlier = (await send(`${upstream.url}/r`)).headers['retry-after'];
  assert.equal(later, new Date(wallNow + 1e13).toUTCString());
  assert.equal(earlier, new Date(wallNow - 1e13).toUTCString());
  for (const value of [later, earlier]) {
    assert.match(String(value), /^[A-Z][a-z]{2}, \d{2} [A-Z][a-z]{2} \d{4} \d{2}:\d{2}:\d{2} GMT$/);
  }
});

test('204 and HEAD responses carry no body; keep-alive still works after them', async (t) => {
  const upstream = await startUpstream({ routes: { '/empty': { steps: [{ status: 204 }] } } });
  t.after(() => upstream.close());
  const agent = new Agent({ keepAlive: true });
  try {
    const empty = await send(`${upstream.url}/empty`, { agent });
    assert.equal(empty.status, 204);
    assert.equal(empty.body, '');
    const head = await send(`${upstream.url}/x`, { agent, method: 'HEAD' });
    assert.equal(head.status, 200);
    assert.equal(head.body, '');
    assert.equal((await send(`${upstream.url}/x`, { agent })).status, 200);
    assert.equal(upstream.connections, 1);
  } finally {
    agent.destroy();
  }
});

test('works with global fetch', async (t) => {
  const upstream = await startUpstream({ routes: { '/f': { steps: [{ status: 503 }, {}] } } });
  t.after(() => upstream.close());
  assert.equal((await fetch(`${upstream.url}/f`)).status, 503);
  const ok = await fetch(`${upstream.url}/f`);
  assert.equal(ok.status, 200);
  assert.deepEqual(await ok.json(), { ok: true, route: '/f', n: 1 });
});
