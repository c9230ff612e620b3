import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createAgent, isAgentOptionsError } from '@ky-resilience/agent';
import { isHostLimiterOptionsError } from '@ky-resilience/host-limiter';
import { isRetryOptionsError } from '@ky-resilience/retry';
import { isTimeoutOptionsError } from '@ky-resilience/timeout';
import { type ClientOptions, ClientOptionsError, createClient, isClientOptionsError } from '../src/index.ts';

// A function compares equal only to itself: the value check of a listener uses this sentinel.
const refusesValue = (): void => {};

/** Asserts that `createClient(options)` throws a ClientOptionsError naming `option` and `value`. */
function refuses(options: unknown, option: string, value: unknown): ClientOptionsError {
  let caught: unknown;
  try {
    const client = createClient(options as ClientOptions);
    void client.close();
  } catch (error) {
    caught = error;
  }
  assert.ok(
    isClientOptionsError(caught),
    `expected a ClientOptionsError for ${option}, got ${String(caught)}`,
  );
  assert.ok(caught instanceof ClientOptionsError);
  assert.ok(caught instanceof TypeError);
  assert.equal(caught.code, 'ERR_KYR_CLIENT_OPTIONS');
  assert.equal(caught.option, option);
  assert.deepEqual(caught.value, value);
  assert.match(caught.message, new RegExp(option.replace(/[.[\]'()]/g, '\\$&')));
  return caught;
}

test('unknown keys are errors, at the top level and inside each tier', () => {
  refuses({ retries: 3 }, 'retries', 3);
  refuses({ timeout: { atempt: 5 } }, 'timeout.atempt', 5);
  refuses({ retry: { limt: 1 } }, 'retry.limt', 1);
  refuses({ hostLimiter: { concurency: 1 } }, 'hostLimiter.concurency', 1);
  refuses({ agent: { keepalive: 1 } }, 'agent.keepalive', 1);
  refuses({ events: { attempts: refusesValue } }, 'events.attempts', refusesValue);
  refuses('fast', 'options', 'fast');
});

test('a plugin’s own refusal is reported under the tier’s path, with the plugin error as cause', () => {
  const timeout = refuses({ timeout: { attempt: -1 } }, 'timeout.attempt', -1);
  assert.ok(isTimeoutOptionsError(timeout.cause));
  const retry = refuses({ retry: { limit: 1.5 } }, 'retry.limit', 1.5);
  assert.ok(isRetryOptionsError(retry.cause));
  const limiter = refuses({ hostLimiter: { maxQueue: -1 } }, 'hostLimiter.maxQueue', -1);
  assert.ok(isHostLimiterOptionsError(limiter.cause));
  refuses({ retry: { backoff: { strategy: 'wild' } } }, 'retry.backoff.strategy', 'wild');
  refuses({ agent: { limit: -1 } }, 'agent.limit', -1);
  refuses({ timeout: 30_000 }, 'timeout', 30_000);
  refuses({ name: '' }, 'name', '');
  refuses({ clock: 5 }, 'clock', 5);
});

test('an agent limitPerHost above its limit is reported as the agent option, not as the limiter cap derived from it', () => {
  const explicit = refuses({ agent: { limit: 5, limitPerHost: 6 } }, 'agent.limitPerHost', 6);
  assert.ok(isAgentOptionsError(explicit.cause));
  // The agent's default limit (100) is the bound when only limitPerHost is given.
  refuses({ agent: { limitPerHost: 200 } }, 'agent.limitPerHost', 200);
  // A bad agent value is the agent's to name, even when the limiter would derive its caps from it.
  refuses({ agent: { limit: Number.NaN, limitPerHost: 200 } }, 'agent.limit', Number.NaN);
  refuses({ agent: { limit: 10, limitPerHost: -1 } }, 'agent.limitPerHost', -1);
});

test('cross-tier rules: attempt within total, connect within attempt, limiter within the agent', () => {
  refuses({ timeout: { total: 5_000, attempt: 6_000 } }, 'timeout.attempt', 6_000);
  refuses({ timeout: { attempt: 2_000 }, agent: { connectTimeout: 3_000 } }, 'agent.connectTimeout', 3_000);
  refuses(
    { timeout: { attempt: 5_000, headers: 1_000 }, agent: { connectTimeout: 2_000 } },
    'agent.connectTimeout',
    2_000,
  );
  refuses({ timeout: { connect: 1_000 }, agent: { connectTimeout: 2_000 } }, 'timeout.connect', 1_000);
  // With the attempt limit off, the total bounds the connect and headers phases.
  refuses(
    { timeout: { total: 5_000, attempt: false }, agent: { connectTimeout: 6_000 } },
    'agent.connectTimeout',
    6_000,
  );
  refuses({ timeout: { total: 5_000, attempt: false, headers: 6_000 } }, 'timeout.headers', 6_000);
  refuses({ agent: { limitPerHost: 4 }, hostLimiter: { concurrency: 5 } }, 'hostLimiter.concurrency', 5);
  refuses(
    { agent: { limit: 50 }, hostLimiter: { globalConcurrency: 60 } },
    'hostLimiter.globalConcurrency',
    60,
  );
});

test('an option for a tier that is switched off is an error', () => {
  refuses({ agent: false, timeout: { connect: 1_000 } }, 'timeout.connect', 1_000);
  refuses({ retry: false, events: { retry: refusesValue } }, 'events.retry', refusesValue);
  refuses({ retry: false, events: { giveUp: refusesValue } }, 'events.giveUp', refusesValue);
  refuses(
    { hostLimiter: false, events: { limiterRejected: refusesValue } },
    'events.limiterRejected',
    refusesValue,
  );
  refuses({ timeout: false, events: { timeout: refusesValue } }, 'events.timeout', refusesValue);
  refuses(
    { retry: false, ky: { context: { '@ky-resilience/retry': { limit: 1 } } } },
    "ky.context['@ky-resilience/retry']",
    { limit: 1 },
  );
});

test('ky options owned by a tier are errors under `ky`', () => {
  refuses({ ky: { retry: 2 } }, 'ky.retry', 2);
  refuses({ ky: { timeout: 1_000 } }, 'ky.timeout', 1_000);
  refuses({ ky: { totalTimeout: 1_000 } }, 'ky.totalTimeout', 1_000);
  refuses({ ky: { fetch: refusesValue } }, 'ky.fetch', refusesValue);
  refuses({ ky: 'https://x' }, 'ky', 'https://x');
});

test('defaults that depend on another tier shrink to fit instead of failing', async (t) => {
  // The defaults: the agent's connect timeout is half the attempt timeout (10 s), so it fires first.
  const defaults = createClient();
  t.after(() => defaults.close());
  assert.equal(defaults.agent?.options.connectTimeout, 5_000);
  // attempt 2 s: the agent's connect timeout defaults to 1 s, not 5 s.
  const short = createClient({ timeout: { attempt: 2_000 } });
  t.after(() => short.close());
  assert.equal(short.agent?.options.connectTimeout, 1_000);
  // attempt off, total 3 s: half the total.
  const noAttempt = createClient({ timeout: { total: 3_000, attempt: false } });
  t.after(() => noAttempt.close());
  assert.equal(noAttempt.agent?.options.connectTimeout, 1_500);
  // no timeout tier: the agent's own 10 s.
  const noTimeout = createClient({ timeout: false });
  t.after(() => noTimeout.close());
  assert.equal(noTimeout.agent?.options.connectTimeout, 10_000);
  // the limiter's caps default to the agent's.
  const narrow = createClient({ agent: { limit: 8, limitPerHost: 3 } });
  t.after(() => narrow.close());
  const upstream = await import('@ky-resilience/testing').then((m) => m.startUpstream());
  t.after(() => upstream.close());
  await narrow.get(upstream.url).text();
  assert.equal(narrow.limiter?.stats(upstream.origin)?.limit, 3);
});

test('an agent without a cap (limit or limitPerHost 0) gives the limiter no cap of its own there', async (t) => {
  const { startUpstream } = await import('@ky-resilience/testing');
  const upstream = await startUpstream({ routes: { '*': { steps: [{ delayHeadersMs: 50 }] } } });
  t.after(() => upstream.close());
  /** The upstream's peak of requests in flight for 24 parallel calls to one host. */
  const peak = async (agent: { limit?: number; limitPerHost?: number }): Promise<number> => {
    const client = createClient({ agent, retry: false });
    upstream.reset();
    await Promise.all(Array.from({ length: 24 }, () => client.get(`${upstream.url}/x`).text()));
    await client.close();
    return upstream.counters().peakInFlight;
  };
  // No per-host cap: the global cap (20) is the only bound, as in the agent.
  assert.equal(await peak({ limit: 20, limitPerHost: 0 }), 20);
  // No cap at all: every call is in flight at once.
  assert.equal(await peak({ limit: 0, limitPerHost: 0 }), 24);
  // No global cap: the per-host cap still holds.
  assert.equal(await peak({ limit: 0, limitPerHost: 3 }), 3);
  const open = createClient({ agent: { limit: 0 } });
  t.after(() => open.close());
  assert.equal(open.stats().limiter?.active, 0);
});

test('a shared agent with a connect timeout that differs from timeout.connect is refused', async (t) => {
  const agent = createAgent({ connectTimeout: 3_000 });
  t.after(() => agent.close());
  refuses({ agent, timeout: { connect: 1_000 } }, 'timeout.connect', 1_000);
  refuses({ agent, hostLimiter: { concurrency: 11 } }, 'hostLimiter.concurrency', 11);
  const client = createClient({ agent, timeout: { connect: 3_000 } });
  assert.equal(client.agent, agent);
  await client.close();
  assert.equal(agent.closed, false);
});

test('a bad option leaves no agent behind and throws before anything is created', () => {
  // The agent would be created last: a bad retry option must fail first.
  refuses({ agent: { limit: 5 }, retry: { limit: -1 } }, 'retry.limit', -1);
});

test('on() refuses unknown events, events of a switched-off tier, and non-functions', async (t) => {
  const client = createClient({ retry: false });
  t.after(() => client.close());
  assert.throws(
    () => client.on('nope' as 'attempt', () => {}),
    (e: unknown) => isClientOptionsError(e) && e.option === 'event',
  );
  assert.throws(
    () => client.on('retry', () => {}),
    (e: unknown) => isClientOptionsError(e) && e.option === "on('retry')",
  );
  assert.throws(
    () => client.on('attempt', 5 as unknown as () => void),
    (e: unknown) => isClientOptionsError(e) && e.option === "on('attempt')",
  );
});
