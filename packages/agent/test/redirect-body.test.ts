import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createAgent } from '../src/index.ts';
import { eventually, startServer } from './http-server.ts';

/** `/r` answers 302 to `/final` with a body that never ends; `/final` answers 200 "done". */
async function stalledRedirect() {
  return startServer((request, response) => {
    if (request.url === '/r') {
      response.writeHead(302, { location: '/final', 'content-length': '100' });
      response.write('ab');
      return;
    }
    response.end('done');
  });
}

test("Node's fetch follows a redirect whose body never ends (control)", async (t) => {
  const server = await stalledRedirect();
  t.after(() => server.close());
  const response = await fetch(`${server.url}/r`);
  assert.equal(await response.text(), 'done');
});

test('a redirect whose body never ends does not block the next hop (limitPerHost 1)', async (t) => {
  const server = await stalledRedirect();
  const agent = createAgent({ limit: 4, limitPerHost: 1 });
  t.after(async () => {
    await agent.destroy();
    await server.close();
  });
  let settled = false;
  const call = agent.fetch(`${server.url}/r`).then(async (r) => {
    settled = true;
    return r.text();
  });
  call.catch(() => undefined);
  const ok = await eventually(() => settled, 200);
  assert.equal(ok, true, `the call hangs: stats ${JSON.stringify(agent.stats())}`);
  assert.equal(await call, 'done');
});

test('a followed redirect whose body never ends gives its slot back once the call is answered', async (t) => {
  const server = await stalledRedirect();
  const agent = createAgent({ limit: 4, limitPerHost: 4 });
  t.after(async () => {
    await agent.destroy();
    await server.close();
  });
  const response = await agent.fetch(`${server.url}/r`);
  assert.equal(await response.text(), 'done');
  const idle = await eventually(() => agent.stats().inFlight === 0, 200);
  assert.equal(idle, true, `a slot stays held by the discarded redirect: ${JSON.stringify(agent.stats())}`);
});

test("redirect: 'error' with a body that never ends gives its slot back", async (t) => {
  const server = await stalledRedirect();
  const agent = createAgent({ limit: 4, limitPerHost: 4 });
  t.after(async () => {
    await agent.destroy();
    await server.close();
  });
  await assert.rejects(agent.fetch(`${server.url}/r`, { redirect: 'error' }), TypeError);
  const idle = await eventually(() => agent.stats().inFlight === 0, 200);
  assert.equal(idle, true, `a slot stays held: ${JSON.stringify(agent.stats())}`);
});
