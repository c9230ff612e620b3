import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createAgent } from '../src/index.ts';
import { startServer } from './http-server.ts';

test('close() during a redirect chain lets the call finish (it was running when close() was called)', async (t) => {
  const server = await startServer((request, response) => {
    if (request.url === '/r') {
      setTimeout(() => {
        response.writeHead(302, { location: '/final' });
        response.end();
      }, 20);
      return;
    }
    response.end('done');
  });
  t.after(() => server.close());
  const agent = createAgent();
  // A URL call is dispatched at once: it holds its slot when close() is called.
  const call = agent.fetch(`${server.url}/r`).then((r) => r.text());
  assert.equal(agent.stats().inFlight, 1);
  const closing = agent.close();
  const outcome = await call.then(
    (text) => text,
    (error: Error & { cause?: Error }) => `rejected: ${error.message} (cause ${error.cause?.name})`,
  );
  await closing;
  assert.equal(outcome, 'done');
});

test('close() right after fetch(Request with a body) lets that call finish', async (t) => {
  const server = await startServer((_request, response) => response.end('ok'));
  t.after(() => server.close());
  const agent = createAgent();
  // What ky does: a Request whose body the lean fetch reads before sending.
  const call = agent
    .fetch(new Request(`${server.url}/post`, { method: 'POST', body: '{"a":1}' }))
    .then((r) => r.text());
  const closing = agent.close();
  const outcome = await call.then(
    (text) => text,
    (error: Error & { cause?: Error }) => `rejected: ${error.message} (cause ${error.cause?.name})`,
  );
  await closing;
  assert.equal(outcome, 'ok');
});
