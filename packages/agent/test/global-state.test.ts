import assert from 'node:assert/strict';
import { test } from 'node:test';

// This file runs in its own process (node --test): nothing has touched undici or fetch before this point.
// Even reading globals such as fetch's descriptors can load Node's embedded undici, so only keys are read here.
const dispatcherKeys = [Symbol.for('undici.globalDispatcher.1'), Symbol.for('undici.globalDispatcher.2')];
const g = globalThis as unknown as Record<PropertyKey, unknown>;
const before = {
  keys: Reflect.ownKeys(globalThis),
  dispatchers: dispatcherKeys.map((k) => g[k]),
};

test('importing the agent leaves globalThis and the global dispatcher untouched', async (t) => {
  const agentModule = await import('../src/index.ts');
  const added = Reflect.ownKeys(globalThis).filter((k) => !before.keys.includes(k));
  assert.deepEqual(added, [], `keys added: ${added.map(String).join(', ')}`);
  assert.deepEqual(
    dispatcherKeys.map((k) => g[k]),
    before.dispatchers,
  );
  const nodeFetch = globalThis.fetch;

  // Using an agent does not install it (or npm undici) as the global dispatcher either.
  const { startUpstream } = await import('@ky-resilience/testing');
  const upstream = await startUpstream();
  t.after(() => upstream.close());
  const agent = agentModule.createAgent();
  t.after(() => agent.close());
  await (await agent.fetch(upstream.url)).text();
  for (const key of dispatcherKeys) assert.notEqual(g[key], agent.dispatcher);
  // Node's own fetch, used without a dispatcher, still goes through Node's embedded undici.
  await (await fetch(upstream.url)).text();
  const current = g[dispatcherKeys[0]!] as { constructor: { name: string } } | undefined;
  if (current !== undefined) {
    assert.notEqual(current, agent.dispatcher);
    assert.ok(['Agent', 'Dispatcher1Wrapper'].includes(current.constructor.name), current.constructor.name);
  }
  assert.equal(globalThis.fetch, nodeFetch);
});
