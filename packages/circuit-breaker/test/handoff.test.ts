import assert from 'node:assert/strict';
import { test } from 'node:test';
import { type BodyConsumer, type BodyHandoff, bodyHandoffKey, setHandoff } from '../src/body-handoff.ts';
import { CircuitBreakerRegistry, type FetchFunction } from '../src/index.ts';

const taker: BodyConsumer = {
  watch() {
    return { fail() {} };
  },
};

test('a body hand-off addressed to the breaker goes on to the fetch it calls; the response comes back as is', async () => {
  const registry = new CircuitBreakerRegistry();
  const raw = new Response('x');
  const seen: (RequestInit | undefined)[] = [];
  const inner: FetchFunction = async (_input, init) => {
    seen.push(init);
    return raw;
  };
  const guarded = registry.wrapFetch(inner);
  const response = await guarded('http://h.test/a', setHandoff({}, taker, guarded));
  assert.equal(response, raw);
  const forwarded = (seen[0] as Record<symbol, BodyHandoff>)[bodyHandoffKey];
  assert.equal(forwarded?.consumer, taker);
  assert.equal(forwarded?.to, inner);
});

test('a hand-off addressed elsewhere, or none, leaves the init untouched', async () => {
  const registry = new CircuitBreakerRegistry();
  const seen: (RequestInit | undefined)[] = [];
  const guarded = registry.wrapFetch(async (_input, init) => {
    seen.push(init);
    return new Response('x');
  });
  const elsewhere: FetchFunction = async () => new Response('y');
  const init = setHandoff({}, taker, elsewhere);
  await guarded('http://h.test/a', init);
  await guarded('http://h.test/a');
  assert.equal(seen[0], init);
  assert.equal(seen[1], undefined);
});
