import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isQueueFullError, isQueueTimeoutError } from '@ky-resilience/host-limiter';
import { getRetryDecision } from '@ky-resilience/retry';
import { hangingListener, startUpstream } from '@ky-resilience/testing';
import { isAttemptTimeoutError, isConnectTimeoutError, isHeadersTimeoutError } from '@ky-resilience/timeout';
import { isHTTPError } from 'ky';
import {
  type AttemptEvent,
  createClient,
  type LimiterRejectedEvent,
  type RetryEvent,
  type TimeoutEvent,
} from '../src/index.ts';

test('a plain GET goes through every tier and reports one attempt', async (t) => {
  const upstream = await startUpstream();
  t.after(() => upstream.close());
  const client = createClient({ name: 'plain' });
  t.after(() => client.close());
  const attempts: AttemptEvent[] = [];
  client.on('attempt', (event) => attempts.push(event));

  const body = await client.get(`${upstream.url}/hello`).json<{ ok: boolean; route: string }>();

  assert.deepEqual(body, { ok: true, route: '/hello', n: 0 });
  assert.equal(upstream.counters('/hello').requests, 1);
  assert.equal(attempts.length, 1);
  const [attempt] = attempts;
  assert.equal(attempt?.client, 'plain');
  assert.equal(attempt?.status, 200);
  assert.equal(attempt?.method, 'GET');
  assert.equal(attempt?.attempt, 1);
  assert.equal(attempt?.host, new URL(upstream.url).host);
  assert.equal(attempt?.url, `${upstream.url}/hello`);
  assert.ok(typeof attempt?.durationMs === 'number' && attempt.durationMs >= 0);
  const stats = client.stats();
  assert.equal(stats.inFlight, 0);
  assert.equal(stats.agent?.origins[upstream.origin]?.connected, 1);
  assert.deepEqual(stats.limiter, { active: 0, queued: 0, hosts: 1, evictedBusy: 0 });
});

test('503s are retried with the jittered backoff; the delays asked for are reported', async (t) => {
  const upstream = await startUpstream({
    routes: { '/flaky': { steps: [{ status: 503 }, { status: 503 }, { status: 200 }] } },
  });
  t.after(() => upstream.close());
  const client = createClient({
    retry: { backoff: { strategy: 'full', base: 8, factor: 2 }, random: () => 0.5 },
  });
  t.after(() => client.close());
  const retries: RetryEvent[] = [];
  const statuses: (number | undefined)[] = [];
  client.on('retry', (event) => retries.push(event));
  client.on('attempt', (event) => statuses.push(event.status));

  const body = await client.get(`${upstream.url}/flaky`).json<{ n: number }>();

  assert.equal(body.n, 2);
  assert.equal(upstream.counters('/flaky').requests, 3);
  assert.deepEqual(statuses, [503, 503, 200]);
  assert.deepEqual(
    retries.map(({ attempt, delay, reason, delaySource }) => ({ attempt, delay, reason, delaySource })),
    [
      { attempt: 2, delay: 4, reason: 'status 503', delaySource: 'backoff' },
      { attempt: 3, delay: 8, reason: 'status 503', delaySource: 'backoff' },
    ],
  );
});

test('the preset retries 3 times by default, then gives up with the HTTP error', async (t) => {
  const upstream = await startUpstream({ routes: { '/down': { steps: [{ status: 503 }] } } });
  t.after(() => upstream.close());
  const client = createClient({ retry: { backoff: { base: 1 }, budget: false } });
  t.after(() => client.close());
  const giveUps: unknown[] = [];
  client.on('giveUp', (event) => giveUps.push(event));

  const error = await client.get(`${upstream.url}/down`).catch((e: unknown) => e);

  assert.ok(isHTTPError(error));
  assert.equal(error.response.status, 503);
  assert.equal(upstream.counters('/down').requests, 4);
  assert.equal(getRetryDecision(error)?.reason, 'limit-reached');
  assert.equal(giveUps.length, 1);
  assert.deepEqual(
    { ...(giveUps[0] as object), error: undefined },
    {
      client: client.name,
      host: new URL(upstream.url).host,
      attempts: 4,
      reason: 'limit-reached',
      error: undefined,
    },
  );
});

test('attempt and headers timeouts are typed, retried, and reported as timeout events', async (t) => {
  const upstream = await startUpstream({
    routes: { '/late': { steps: [{ delayHeadersMs: 2_000 }, { delayHeadersMs: 2_000 }, {}] } },
  });
  t.after(() => upstream.close());
  const client = createClient({
    timeout: { attempt: 150 },
    retry: { limit: 1, backoff: { base: 1 }, budget: false },
  });
  t.after(() => client.close());
  const timeouts: TimeoutEvent[] = [];
  client.on('timeout', (event) => timeouts.push(event));

  const error = await client.get(`${upstream.url}/late`).catch((e: unknown) => e);
  assert.ok(isAttemptTimeoutError(error), String(error));
  assert.equal(error.limit, 150);
  assert.equal(upstream.counters('/late').requests, 2);
  assert.deepEqual(
    timeouts.map(({ phase, attempt, limit }) => ({ phase, attempt, limit })),
    [
      { phase: 'attempt', attempt: 1, limit: 150 },
      { phase: 'attempt', attempt: 2, limit: 150 },
    ],
  );

  upstream.route('/late', { steps: [{ delayHeadersMs: 2_000 }] });
  const headers = await client
    .get(`${upstream.url}/late`, {
      context: { '@ky-resilience/timeout': { headers: 100 }, '@ky-resilience/retry': { limit: 0 } },
    })
    .catch((e: unknown) => e);
  assert.ok(isHeadersTimeoutError(headers), String(headers));
  assert.equal(timeouts.at(-1)?.phase, 'headers');
});

test('the host limiter caps what the upstream sees in flight; a full queue is reported', async (t) => {
  const upstream = await startUpstream({ routes: { '/slow': { steps: [{ delayHeadersMs: 30 }] } } });
  t.after(() => upstream.close());
  const client = createClient({ hostLimiter: { concurrency: 2, maxQueue: 5 }, retry: { limit: 0 } });
  t.after(() => client.close());
  const rejected: unknown[] = [];
  client.on('limiterRejected', (event) => rejected.push(event));

  const results = await Promise.allSettled(
    Array.from({ length: 10 }, () => client.get(`${upstream.url}/slow`).json()),
  );

  const fulfilled = results.filter((r) => r.status === 'fulfilled').length;
  const full = results.filter((r) => r.status === 'rejected' && isQueueFullError(r.reason)).length;
  assert.equal(fulfilled, 7);
  assert.equal(full, 3);
  assert.equal(upstream.counters('/slow').requests, 7);
  assert.equal(upstream.counters('/slow').peakInFlight, 2);
  assert.equal(rejected.length, 3);
  assert.deepEqual(rejected[0], {
    client: client.name,
    host: new URL(upstream.url).host,
    key: upstream.origin,
    reason: 'queue-full',
  });
  assert.equal(client.stats().limiter?.active, 0);
});

test('a wait longer than the queue timeout is a QueueTimeoutError, reported as queue-timeout', async (t) => {
  const upstream = await startUpstream({ routes: { '/hold': { steps: [{ delayHeadersMs: 500 }] } } });
  t.after(() => upstream.close());
  const client = createClient({ hostLimiter: { concurrency: 1, queueTimeout: 50 }, retry: { limit: 0 } });
  t.after(() => client.close());
  const rejected: LimiterRejectedEvent[] = [];
  client.on('limiterRejected', (event) => rejected.push(event));

  const hold = client.get(`${upstream.url}/hold`).text();
  const queued = await client.get(`${upstream.url}/hold`).catch((e: unknown) => e);
  await hold;

  assert.ok(isQueueTimeoutError(queued), String(queued));
  assert.deepEqual(
    rejected.map(({ reason, key }) => ({ reason, key })),
    [{ reason: 'queue-timeout', key: upstream.origin }],
  );
  assert.equal(upstream.counters('/hold').requests, 1);
});

test('a connect that never completes is the agent’s connect timeout, typed and reported', async (t) => {
  const listener = await hangingListener();
  t.after(() => listener.close());
  const client = createClient({ agent: { connectTimeout: 100 }, retry: { limit: 0 } });
  t.after(() => client.close());
  const timeouts: TimeoutEvent[] = [];
  client.on('timeout', (event) => timeouts.push(event));

  const error = await client.get(listener.url).catch((e: unknown) => e);

  assert.ok(isConnectTimeoutError(error), String(error));
  assert.equal(error.limit, 100);
  assert.deepEqual(
    timeouts.map(({ phase, limit, attempt, sent }) => ({ phase, limit, attempt, sent })),
    [{ phase: 'connect', limit: 100, attempt: 1, sent: false }],
  );
});

test('a timeout event says whether the request had been sent', async (t) => {
  const listener = await hangingListener();
  t.after(() => listener.close());
  const upstream = await startUpstream({ routes: { '/slow': { steps: [{ delayHeadersMs: 60_000 }] } } });
  t.after(() => upstream.close());
  const client = createClient({
    // Equal limits: the attempt timer starts first and wins while the connect is pending.
    agent: { connectTimeout: 100 },
    timeout: { attempt: 100 },
    retry: { limit: 0 },
  });
  t.after(() => client.close({ timeout: 0 }).catch(() => {}));
  const timeouts: TimeoutEvent[] = [];
  client.on('timeout', (event) => timeouts.push(event));

  const waiting = await client.get(listener.url).catch((e: unknown) => e);
  const written = await client.get(`${upstream.url}/slow`).catch((e: unknown) => e);

  assert.match(String(waiting), /the request was not sent/);
  assert.doesNotMatch(String(written), /not sent/);
  assert.deepEqual(
    timeouts.map(({ phase, sent }) => ({ phase, sent })),
    [
      { phase: 'attempt', sent: false },
      { phase: 'attempt', sent: true },
    ],
  );
});

test('attempt durations run on the injected clock', async (t) => {
  const upstream = await startUpstream({
    routes: { '/flaky': { steps: [{ status: 500 }, { status: 200 }] } },
  });
  t.after(() => upstream.close());
  let now = 0;
  const client = createClient({ clock: () => (now += 7), retry: { backoff: { base: 1 } } });
  t.after(() => client.close());
  const durations: number[] = [];
  client.on('attempt', (event) => durations.push(event.durationMs));

  await client.get(`${upstream.url}/flaky`).text();

  // One reading when the attempt starts, one when it settles.
  assert.deepEqual(durations, [7, 7]);
});
