import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createAgent } from '@ky-resilience/agent';
import { hangingListener, startUpstream } from '@ky-resilience/testing';
import { createClient, isClientOptionsError } from '../src/index.ts';

const retryKey = '@ky-resilience/retry';
const timeoutKey = '@ky-resilience/timeout';

/** What a call throws or rejects with (ky runs `init` hooks when the call is made). */
async function failureOf(call: () => Promise<unknown>): Promise<unknown> {
  try {
    await call();
  } catch (error) {
    return error;
  }
  return undefined;
}

test('an override of a switched-off tier set by an init hook given under `ky` is refused, and nothing is sent', async (t) => {
  const upstream = await startUpstream({ routes: { '/down': { steps: [{ status: 503 }] } } });
  t.after(() => upstream.close());
  const client = createClient({
    retry: false,
    ky: {
      hooks: {
        init: [
          (options) => {
            options.context = { ...options.context, [retryKey]: { limit: 2 } };
          },
        ],
      },
    },
  });
  t.after(() => client.close());
  const error = await failureOf(() => client.get(`${upstream.url}/down`));
  assert.ok(isClientOptionsError(error), `expected a ClientOptionsError, got ${String(error)}`);
  assert.equal(error.option, `context['${retryKey}']`);
  assert.deepEqual(error.value, { limit: 2 });
  assert.equal(upstream.counters('/down').requests, 0);
});

test('a per-request timeout `connect` other than the agent’s connect timeout is refused, not silently ignored', async (t) => {
  const listener = await hangingListener();
  t.after(() => listener.close());
  const client = createClient({ retry: false, agent: { connectTimeout: 400 }, timeout: { attempt: 5_000 } });
  t.after(() => client.close({ timeout: 0 }).catch(() => {}));

  for (const connect of [100, false, 0]) {
    const error = await failureOf(() => client.get(listener.url, { context: { [timeoutKey]: { connect } } }));
    assert.ok(isClientOptionsError(error), `connect ${String(connect)}: got ${String(error)}`);
    assert.equal(error.option, `context['${timeoutKey}'].connect`);
    assert.equal(error.value, connect);
    assert.match(error.message, /400 ms/);
  }
  // The agent's own value is accepted: the connect times out at the agent's timer.
  const timedOut = await failureOf(() =>
    client.get(listener.url, { context: { [timeoutKey]: { connect: 400 } } }),
  );
  assert.equal((timedOut as { name?: string }).name, 'ConnectTimeoutError');
});

test('a timeout `connect` under ky.context is checked at creation; with agent: false only `false` is allowed', async (t) => {
  let caught: unknown;
  try {
    createClient({ ky: { context: { [timeoutKey]: { connect: 200 } } } });
  } catch (error) {
    caught = error;
  }
  assert.ok(isClientOptionsError(caught));
  assert.equal(caught.option, `ky.context['${timeoutKey}'].connect`);
  assert.equal(caught.value, 200);

  const withoutAgent = createClient({ agent: false });
  t.after(() => withoutAgent.close());
  const error = await failureOf(() =>
    withoutAgent.get('http://127.0.0.1:9/', { context: { [timeoutKey]: { connect: 200 } } }),
  );
  assert.ok(isClientOptionsError(error));
  assert.equal(error.option, `context['${timeoutKey}'].connect`);

  // A shared agent without a connect timer: `false` matches it, a number does not.
  const agent = createAgent({ connectTimeout: 0 });
  t.after(() => agent.close());
  const shared = createClient({ agent, ky: { context: { [timeoutKey]: { connect: false } } } });
  t.after(() => shared.close());
  const refused = await failureOf(() =>
    shared.get('http://127.0.0.1:9/', { context: { [timeoutKey]: { connect: 1_000 } } }),
  );
  assert.ok(isClientOptionsError(refused));
  assert.match(refused.message, /off/);
});

test('the derived connect timeout is half the attempt limit: a hanging connect is a ConnectTimeoutError and a POST is retried; one set equal to the attempt loses to it, and the POST is still retried as not sent', async (t) => {
  const listener = await hangingListener();
  t.after(() => listener.close());
  const outcome = async (timeout: { attempt: number; total: number; connect?: number }) => {
    const client = createClient({ timeout, retry: { limit: 1, budget: false } });
    const errors: string[] = [];
    client.on('attempt', (event) => errors.push(String((event.error as Error | undefined)?.name)));
    const error = await failureOf(() => client.post(listener.url, { body: 'x' }));
    await client.close({ timeout: 0 }).catch(() => {});
    return { connect: client.agent?.options.connectTimeout, error: (error as Error).name, errors };
  };
  // Derived: half of `attempt`, so the connect timer fires first and nothing was sent.
  assert.deepEqual(await outcome({ attempt: 400, total: 3_000 }), {
    connect: 200,
    error: 'ConnectTimeoutError',
    errors: ['ConnectTimeoutError', 'ConnectTimeoutError'],
  });
  // Set equal to `attempt`: the attempt timer starts first and wins; the agent reports that the request
  // was still waiting for its connection (`sent: false`), so the POST is retried all the same.
  assert.deepEqual(await outcome({ attempt: 300, total: 3_000, connect: 300 }), {
    connect: 300,
    error: 'AttemptTimeoutError',
    errors: ['AttemptTimeoutError', 'AttemptTimeoutError'],
  });
});

test('ky’s per-request `timeout` and `totalTimeout` lower the attempt and total limits; they never raise them', async (t) => {
  const upstream = await startUpstream({ routes: { '/slow': { steps: [{ delayHeadersMs: 60_000 }] } } });
  t.after(() => upstream.close());
  const client = createClient({ retry: { limit: 0 }, timeout: { total: 5_000, attempt: 4_000 } });
  t.after(() => client.close({ timeout: 0 }).catch(() => {}));
  const limitOf = async (options: { timeout?: number; totalTimeout?: number }) => {
    const error = (await failureOf(() => client.get(`${upstream.url}/slow`, options))) as Error & {
      limit?: number;
    };
    return `${error.name} ${error.limit}`;
  };
  assert.equal(await limitOf({ timeout: 100 }), 'AttemptTimeoutError 100');
  assert.equal(await limitOf({ totalTimeout: 150 }), 'TotalTimeoutError 150');
  const bounded = createClient({ retry: { limit: 0 }, timeout: { total: 5_000, attempt: 100 } });
  t.after(() => bounded.close({ timeout: 0 }).catch(() => {}));
  const error = (await failureOf(() => bounded.get(`${upstream.url}/slow`, { timeout: 4_000 }))) as Error & {
    limit?: number;
  };
  assert.equal(`${error.name} ${error.limit}`, 'AttemptTimeoutError 100');
});
