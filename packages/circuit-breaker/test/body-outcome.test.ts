import assert from 'node:assert/strict';
import { test } from 'node:test';
import { retryPlugin } from '@ky-resilience/retry';
import { startUpstream } from '@ky-resilience/testing';
import { isAttemptTimeoutError, timeoutPlugin } from '@ky-resilience/timeout';
import ky from 'ky';
import { circuitBreakerPlugin, isCircuitOpenError } from '../src/index.ts';
import { closeAfter, fakeClock, observedBreakers, rejection, until } from './helpers.ts';

// The order of DESIGN §2 and the READMEs: the timeout tiers innermost, then the breaker, then the
// retry tier, whose fetch wrapper is the outer one and reads each body inside the attempt (on
// Node's own fetch, so the body really is read from the socket after the head).
function stack(breakers: ReturnType<typeof circuitBreakerPlugin>, retry: Parameters<typeof retryPlugin>[0]) {
  return ky
    .extend(timeoutPlugin({ attempt: 2_000 }))
    .extend(breakers.kyOptions)
    .extend(retryPlugin({ random: () => 0, budget: false, ...retry }));
}

test('a connection reset while the body arrives counts as a failure when the retry tier reads the body', async (t) => {
  const upstream = closeAfter(
    t,
    await startUpstream({ routes: { '*': { steps: [{ reset: 'mid-body', bodyPrefix: '{"a":' }] } } }),
  );
  const breakers = circuitBreakerPlugin({ policy: { kind: 'consecutive', failures: 2 } });
  const api = stack(breakers, { limit: 1, backoff: { strategy: 'full', base: 1 } });
  // Two attempts, two heads of 200 whose bodies are cut: the second failure opens the circuit.
  const first = await rejection(api.get(upstream.url).text());
  assert.ok(!isCircuitOpenError(first), 'the first call fails with the reset itself');
  assert.equal(upstream.counters().requests, 2);
  assert.equal(breakers.state(upstream.origin), 'open');
  const second = await rejection(api.get(upstream.url).text());
  assert.ok(isCircuitOpenError(second));
  assert.equal(upstream.counters().requests, 2, 'the open circuit sent nothing');
});

test('an attempt timeout while the body stalls counts as a failure', async (t) => {
  const upstream = closeAfter(
    t,
    await startUpstream({ routes: { '*': { steps: [{ stallBody: true, bodyPrefix: '[' }] } } }),
  );
  const breakers = circuitBreakerPlugin({ policy: { kind: 'consecutive', failures: 1 } });
  const api = ky
    .extend(timeoutPlugin({ attempt: 300 }))
    .extend(breakers.kyOptions)
    .extend(retryPlugin({ limit: 0, budget: false }));
  const error = await rejection(api.get(upstream.url).text());
  assert.ok(isAttemptTimeoutError(error), String(error));
  assert.equal(breakers.state(upstream.origin), 'open');
});

test('a body read to its end is a success: it resets the consecutive count between two failures', async (t) => {
  const upstream = closeAfter(
    t,
    await startUpstream({
      routes: {
        '*': {
          steps: [
            { reset: 'mid-body', bodyPrefix: '{' },
            { status: 200 },
            { reset: 'mid-body', bodyPrefix: '{' },
            { status: 200 },
          ],
        },
      },
    }),
  );
  const breakers = circuitBreakerPlugin({ policy: { kind: 'consecutive', failures: 2 } });
  const api = stack(breakers, { limit: 0 });
  await rejection(api.get(upstream.url).text());
  assert.equal(await api.get(upstream.url).text(), '{"ok":true,"route":"/","n":1}');
  await rejection(api.get(upstream.url).text());
  assert.equal(breakers.state(upstream.origin), 'closed', 'failure, success, failure: never two in a row');
});

test('a body the retry tier hands out unread (bufferBody: false) is a success at its head', async (t) => {
  const upstream = closeAfter(
    t,
    await startUpstream({
      routes: { '*': { steps: [{ status: 503 }, { status: 200 }, { status: 503 }, { status: 200 }] } },
    }),
  );
  const breakers = circuitBreakerPlugin({ policy: { kind: 'consecutive', failures: 2 } });
  const api = stack(breakers, { limit: 0, bufferBody: false });
  await rejection(api.get(upstream.url));
  // The body of this 200 is never read: its success is recorded all the same.
  const unread = await api.get(upstream.url);
  assert.equal(unread.status, 200);
  await rejection(api.get(upstream.url));
  assert.equal(breakers.state(upstream.origin), 'closed', 'the unread 200 reset the count');
  await unread.body?.cancel();
});

test('a half-open probe whose body is cut re-opens the circuit; one read to its end closes it', async (t) => {
  const upstream = closeAfter(
    t,
    await startUpstream({
      routes: {
        '*': {
          steps: [{ status: 503 }, { status: 503 }, { reset: 'mid-body', bodyPrefix: '{' }, { status: 200 }],
        },
      },
    }),
  );
  const time = fakeClock();
  const breakers = circuitBreakerPlugin({
    policy: { kind: 'consecutive', failures: 2 },
    halfOpenAfter: 1_000,
    clock: time.clock,
  });
  const api = stack(breakers, { limit: 0 });
  await rejection(api.get(upstream.url));
  await rejection(api.get(upstream.url));
  assert.equal(breakers.state(upstream.origin), 'open');
  time.advance(1_000);
  // The probe's head is a 200, its body is cut: the probe failed.
  await rejection(api.get(upstream.url).text());
  assert.equal(breakers.state(upstream.origin), 'open', 'the cut body re-opened the circuit');
  assert.equal(upstream.counters().requests, 3);
  assert.ok(isCircuitOpenError(await rejection(api.get(upstream.url))));
  time.advance(60_000);
  assert.equal(await api.get(upstream.url).text(), '{"ok":true,"route":"/","n":3}');
  assert.equal(breakers.state(upstream.origin), 'closed');
});

test('while a half-open probe reads its body, other calls are turned away as half-open', async (t) => {
  const upstream = closeAfter(
    t,
    await startUpstream({
      routes: { '*': { steps: [{ status: 503 }, { stallBody: true, bodyPrefix: '[' }, { status: 200 }] } },
    }),
  );
  const time = fakeClock();
  const breakers = circuitBreakerPlugin({
    policy: { kind: 'consecutive', failures: 1 },
    halfOpenAfter: 1_000,
    clock: time.clock,
  });
  const api = ky
    .extend(timeoutPlugin({ attempt: 400 }))
    .extend(breakers.kyOptions)
    .extend(retryPlugin({ limit: 0, budget: false }));
  await rejection(api.get(upstream.url));
  time.advance(1_000);
  const probe = rejection(api.get(upstream.url).text());
  while (upstream.counters().requests < 2) await new Promise((resolve) => setTimeout(resolve, 5));
  const turnedAway = await rejection(api.get(upstream.url));
  assert.ok(isCircuitOpenError(turnedAway));
  assert.equal(turnedAway.state, 'half-open');
  assert.ok(isAttemptTimeoutError(await probe));
  assert.equal(breakers.state(upstream.origin), 'open', 'the stalled probe failed');
  assert.equal(upstream.counters().requests, 2);
});

test('a caller taking over the slot of an aborted probe is decided when its body has been read', async (t) => {
  const upstream = closeAfter(
    t,
    await startUpstream({
      routes: {
        '*': {
          steps: [
            { status: 503 },
            { delayHeadersMs: 3_000 },
            { reset: 'mid-body', bodyPrefix: '{' },
            { status: 200 },
          ],
        },
      },
    }),
  );
  const time = fakeClock();
  const breakers = circuitBreakerPlugin({
    policy: { kind: 'consecutive', failures: 1 },
    halfOpenAfter: 1_000,
    clock: time.clock,
  });
  const api = stack(breakers, { limit: 0 });
  await rejection(api.get(upstream.url));
  time.advance(1_000);
  // The probe's caller goes away before its head: the probe decides nothing, its slot is free.
  const controller = new AbortController();
  const aborted = rejection(api.get(upstream.url, { signal: controller.signal }).text());
  await until(() => upstream.counters().requests === 2);
  controller.abort();
  await aborted;
  assert.equal(breakers.state(upstream.origin), 'half-open');
  // The next caller takes the slot over: a head of 200 whose body is cut is a failed probe.
  const cut = await rejection(api.get(upstream.url).text());
  assert.ok(!isCircuitOpenError(cut), String(cut));
  assert.equal(breakers.state(upstream.origin), 'open', 'the cut body re-opened the circuit');
  time.advance(60_000);
  assert.equal(await api.get(upstream.url).text(), '{"ok":true,"route":"/","n":3}');
  assert.equal(breakers.state(upstream.origin), 'closed');
});

test('a body failure of a call started before the circuit opened is not counted after it closed again', async (t) => {
  const upstream = closeAfter(
    t,
    await startUpstream({
      routes: {
        '/stall': { steps: [{ stallBody: true, bodyPrefix: '[' }] },
        '/fail': { steps: [{ status: 503 }] },
        '/ok': { steps: [{ status: 200 }] },
      },
    }),
  );
  const { time, changes, breakers } = observedBreakers({
    policy: { kind: 'consecutive', failures: 1 },
    halfOpenAfter: 1_000,
  });
  const api = ky
    .extend(timeoutPlugin({ attempt: 600 }))
    .extend(breakers.kyOptions)
    .extend(retryPlugin({ limit: 0, budget: false }));
  // Admitted while closed; its body stalls until the attempt timeout.
  const stalled = rejection(api.get(`${upstream.origin}/stall`).text());
  await until(() => upstream.counters().requests === 1);
  await rejection(api.get(`${upstream.origin}/fail`));
  time.advance(1_000);
  await api.get(`${upstream.origin}/ok`).text();
  assert.equal(breakers.state(upstream.origin), 'closed', 'the probe closed the circuit');
  assert.ok(isAttemptTimeoutError(await stalled));
  await new Promise((resolve) => setTimeout(resolve, 20));
  assert.equal(breakers.state(upstream.origin), 'closed', 'the stale failure did not re-open it');
  assert.deepEqual(changes.list, [
    'closed>open:failures',
    'open>half-open:probe-due',
    'half-open>closed:probes-succeeded',
  ]);
});

test('with the retry tier reading the body, slowCallMs times the whole call, head and body', async (t) => {
  const upstream = closeAfter(t, await startUpstream());
  const { time, changes, breakers } = observedBreakers({
    policy: { kind: 'consecutive', failures: 2 },
    slowCallMs: 1_000,
  });
  // The head comes at once on the fake clock; reading the body takes 1 000 ms of it.
  const slowBody = async (input: Request | string | URL, init?: RequestInit): Promise<Response> => {
    const response = await fetch(input, init);
    const bytes = new Uint8Array(await response.arrayBuffer());
    const body = new ReadableStream<Uint8Array>(
      {
        pull(controller) {
          time.advance(1_000);
          controller.enqueue(bytes);
          controller.close();
        },
      },
      { highWaterMark: 0 },
    );
    return new Response(body, { status: response.status, headers: { 'content-type': 'application/json' } });
  };
  const api = ky
    .create({ fetch: slowBody })
    .extend(breakers.kyOptions)
    .extend(retryPlugin({ limit: 0, budget: false }));
  assert.equal(
    (await api.get(upstream.url).json<{ ok: boolean }>()).ok,
    true,
    'the caller still gets the body',
  );
  await api.get(upstream.url).text();
  assert.equal(breakers.state(upstream.origin), 'open');
  assert.deepEqual(changes.events[0]?.lastFailure, { kind: 'slow', status: 200, durationMs: 1_000 });
});
