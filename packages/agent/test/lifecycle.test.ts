import assert from 'node:assert/strict';
import { test } from 'node:test';
import { startUpstream } from '@ky-resilience/testing';
import { createAgent, type ResilientAgent, type ResolvedAddress } from '../src/index.ts';

const turn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/** Settles as { ok, value | error } so a test can inspect a promise without an unhandled rejection. */
function settle<T>(p: Promise<T>): {
  state: () => 'pending' | 'fulfilled' | 'rejected';
  error: () => unknown;
} {
  let state: 'pending' | 'fulfilled' | 'rejected' = 'pending';
  let error: unknown;
  p.then(
    () => {
      state = 'fulfilled';
    },
    (e) => {
      state = 'rejected';
      error = e;
    },
  );
  return { state: () => state, error: () => error };
}

test('close() then destroy() while busy: the close() promise does not reject with an undici internal error', async (t) => {
  const upstream = await startUpstream({
    routes: { '/hold': { steps: [{ stallBody: true, bodyPrefix: 'x' }] } },
  });
  t.after(() => upstream.close());
  const agent = createAgent({ limit: 2, limitPerHost: 2 });
  const response = await agent.fetch(`${upstream.url}/hold`);
  const closing = settle(agent.close());
  await turn();
  assert.equal(closing.state(), 'pending');
  await agent.destroy();
  for (let i = 0; i < 100 && closing.state() === 'pending'; i++) await turn();
  await response.text().catch(() => undefined);
  for (let i = 0; i < 100 && closing.state() === 'pending'; i++) await turn();
  assert.notEqual(closing.state(), 'pending', 'close() settles once destroy() has ended everything');
  assert.equal(closing.state(), 'fulfilled', `close() rejected with ${String(closing.error())}`);
});

test('dispatcher.close() and agent.close() while busy: both promises settle', async (t) => {
  const upstream = await startUpstream({ routes: { '/slow': { steps: [{ delayHeadersMs: 30 }] } } });
  t.after(() => upstream.close());
  const agent = createAgent({ limit: 2, limitPerHost: 2 });
  const busy = agent.fetch(`${upstream.url}/slow`);
  await turn();
  const first = settle(agent.dispatcher.close());
  const second = settle(agent.close());
  await (await busy).text();
  for (let i = 0; i < 200 && (first.state() === 'pending' || second.state() === 'pending'); i++) {
    await new Promise((r) => setTimeout(r, 5));
  }
  assert.equal(second.state(), 'fulfilled');
  assert.equal(first.state(), 'fulfilled', 'the first close() promise never settles');
});

test('an abort while the connection is being opened frees the slot of limit at once', async (t) => {
  const upstream = await startUpstream();
  t.after(() => upstream.close());
  let answer: ((a: ResolvedAddress[]) => void) | undefined;
  const resolver = (host: string): Promise<ResolvedAddress[]> =>
    host === 'slow.test'
      ? new Promise((resolve) => {
          answer = resolve;
        })
      : Promise.resolve([{ address: '127.0.0.1', family: 4 }]);
  const agent = createAgent({ limit: 1, limitPerHost: 1, resolver, connectTimeout: 60_000 });
  t.after(async () => {
    answer?.([{ address: '127.0.0.1', family: 4 }]);
    await agent.destroy();
  });
  const controller = new AbortController();
  const reason = new Error('caller gave up');
  const slow = agent.fetch(`http://slow.test:${upstream.port}/a`, { signal: controller.signal });
  for (let i = 0; i < 20 && answer === undefined; i++) await turn();
  assert.ok(answer !== undefined, 'the lookup started');
  controller.abort(reason);
  await assert.rejects(slow, (e) => e === reason);
  await turn();
  // Expected: the aborted request holds nothing; another origin can use the global slot.
  assert.equal(agent.stats().inFlight, 0, 'the aborted request still holds its slot of limit');
  const other = settle(agent.fetch(`http://fast.test:${upstream.port}/b`).then((r) => r.text()));
  for (let i = 0; i < 200 && other.state() === 'pending'; i++) await new Promise((r) => setTimeout(r, 5));
  assert.equal(
    other.state(),
    'fulfilled',
    'a request to another origin is blocked behind the aborted connect',
  );
});

test('destroy() fails a request whose start was deferred one turn with AgentClosedError, not an undici error', async (t) => {
  const upstream = await startUpstream();
  t.after(() => upstream.close());
  const agent = createAgent();
  const first = await agent.fetch(`${upstream.url}/a`);
  await first.text();
  // A response of the origin ended in this turn: the next request is sent one turn later.
  const next = agent.fetch(`${upstream.url}/b`);
  assert.equal(agent.stats().inFlight, 1);
  const destroying = agent.destroy();
  const cause = await next.then(
    () => undefined,
    (e: { cause?: { name?: string } }) => e.cause?.name,
  );
  await destroying;
  assert.equal(cause, 'AgentClosedError');
});

for (const [how, destroy] of [
  ['destroy()', (agent: ResilientAgent) => agent.destroy()],
  ['dispatcher.destroy()', (agent: ResilientAgent) => agent.dispatcher.destroy()],
] as const) {
  test(`${how} also stops a request in a pool undici dropped when the origin lost its last connection`, async (t) => {
    const upstream = await startUpstream({
      routes: { '/hold': { steps: [{ stallBody: true, bodyPrefix: 'x' }] } },
    });
    t.after(() => upstream.close());
    let lookups = 0;
    let answer: (() => void) | undefined;
    // TTL 0: each connect looks the name up again; the second lookup waits, so that connect stays under way.
    const resolver = async (): Promise<ResolvedAddress[]> => {
      lookups++;
      if (lookups === 2) await new Promise<void>((resolve) => (answer = resolve));
      return [{ address: '127.0.0.1', family: 4, ttl: 0 }];
    };
    const agent = createAgent({ limit: 4, limitPerHost: 2, resolver, connectTimeout: 60_000 });
    t.after(async () => {
      answer?.();
      await agent.destroy();
    });
    const url = (path: string): string => `http://a.test:${upstream.port}${path}`;
    const holder = new AbortController();
    const held = await agent.fetch(url('/hold'), { signal: holder.signal });
    // A second request of the origin opens a second connection of its pool.
    const second = settle(agent.fetch(url('/second')).then((r) => r.text()));
    for (let i = 0; i < 200 && answer === undefined; i++) await turn();
    assert.ok(answer !== undefined, 'the second connect is under way');
    // The origin's only connection closes: undici's Agent forgets the pool, which keeps the second request.
    holder.abort();
    await held.text().catch(() => undefined);
    for (let i = 0; i < 200 && Object.keys(agent.stats().origins).length > 0; i++) await turn();
    assert.deepEqual(Object.keys(agent.stats().origins), [], 'undici dropped the pool');

    await destroy(agent);
    answer();
    for (let i = 0; i < 200 && second.state() === 'pending'; i++) await new Promise((r) => setTimeout(r, 5));
    assert.equal(second.state(), 'rejected', 'the request is aborted by destroy()');
    assert.equal(upstream.counters('/second').requests, 0, 'nothing is sent after destroy()');
  });
}
