import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createAgent, isConnectTimeoutError as isAgentConnectTimeoutError } from '@ky-resilience/agent';
import { closedPort, hangingListener, startUpstream } from '@ky-resilience/testing';
import ky, { isNetworkError } from 'ky';
import { isConnectTimeoutError, isResilienceTimeoutError, timeoutPlugin } from '../src/index.ts';
import { closeAfter, recordingTimers, rejection } from './helpers.ts';

test('a connect that never completes: the agent’s connect timeout becomes ConnectTimeoutError', async (t) => {
  const hang = closeAfter(t, await hangingListener());
  const agent = closeAfter(t, createAgent({ connectTimeout: 100 }));
  const rec = recordingTimers();
  const api = ky
    .create({ retry: 0, ...agent.kyOptions })
    .extend(timeoutPlugin({ connect: 100, attempt: 5_000, timers: rec.timers }));
  const error = await rejection(api.get(`${hang.url}/x`));
  assert.ok(isConnectTimeoutError(error), String(error));
  assert.equal(error.name, 'ConnectTimeoutError');
  assert.equal(error.phase, 'connect');
  assert.equal(error.host, `127.0.0.1:${hang.port}`);
  assert.equal(error.attempt, 1);
  assert.equal(error.limit, 100);
  assert.equal(error.sent, false);
  assert.ok(isAgentConnectTimeoutError(error.cause), 'the agent’s error is the cause');
  assert.equal(rec.pending, 0);
});

test('the limit comes from the agent’s error when the plugin’s `connect` is not set', async (t) => {
  const hang = closeAfter(t, await hangingListener());
  const agent = closeAfter(t, createAgent({ connectTimeout: 80 }));
  const api = ky.create({ retry: 0, ...agent.kyOptions }).extend(timeoutPlugin());
  const error = await rejection(api.get(hang.url));
  assert.ok(isConnectTimeoutError(error), String(error));
  assert.equal(error.limit, 80);
});

test('the attempt tier still bounds a connect when the agent’s connect timeout is longer', async (t) => {
  const hang = closeAfter(t, await hangingListener());
  const agent = closeAfter(t, createAgent({ connectTimeout: 1_000 }));
  const api = ky.create({ retry: 0, ...agent.kyOptions }).extend(timeoutPlugin({ attempt: 100 }));
  const error = await rejection(api.get(hang.url));
  assert.ok(isResilienceTimeoutError(error));
  assert.equal(error.phase, 'attempt');
});

test('other connect failures are not timeouts: a refused connection stays ky’s NetworkError', async (t) => {
  const port = await closedPort();
  const agent = closeAfter(t, createAgent({ connectTimeout: 1_000 }));
  const api = ky.create({ retry: 0, ...agent.kyOptions }).extend(timeoutPlugin());
  const error = await rejection(api.get(`http://127.0.0.1:${port}/`));
  assert.ok(isNetworkError(error), String(error));
  assert.ok(!isResilienceTimeoutError(error));
});

test('the agent’s fetch works under the tiers (keep-alive pool, body intact)', async (t) => {
  const upstream = closeAfter(t, await startUpstream({ routes: { '/ok': { steps: [{ body: 'pooled' }] } } }));
  const agent = closeAfter(t, createAgent());
  const rec = recordingTimers();
  const api = ky.create({ retry: 0, ...agent.kyOptions }).extend(timeoutPlugin({ timers: rec.timers }));
  for (let i = 0; i < 3; i += 1) {
    assert.equal(await api.get(`${upstream.url}/ok`).text(), 'pooled');
  }
  assert.equal(upstream.counters('/ok').requests, 3);
  assert.equal(upstream.connections, 1, 'one keep-alive connection reused');
  assert.equal(rec.pending, 0);
});

test('an attempt timeout while the connect is pending says the request was not sent (sent: false)', async (t) => {
  const hang = closeAfter(t, await hangingListener());
  const agent = closeAfter(t, createAgent({ connectTimeout: 60_000 }));
  const api = ky.create({ retry: 0, ...agent.kyOptions }).extend(timeoutPlugin({ attempt: 60, headers: 40 }));
  const error = await rejection(api.get(`${hang.url}/x`));
  assert.ok(isResilienceTimeoutError(error), String(error));
  assert.equal(error.phase, 'headers');
  assert.equal(error.sent, false);
  assert.match(error.message, /the request was not sent/);
});

test('a timeout after the agent wrote the request says it was sent; a fetch that does not tell leaves it unknown', async (t) => {
  const upstream = closeAfter(
    t,
    await startUpstream({ routes: { '/slow': { steps: [{ delayHeadersMs: 60_000 }] } } }),
  );
  const agent = closeAfter(t, createAgent());
  const onAgent = ky.create({ retry: 0, ...agent.kyOptions }).extend(timeoutPlugin({ attempt: 60 }));
  const sent = await rejection(onAgent.get(`${upstream.url}/slow`));
  assert.ok(isResilienceTimeoutError(sent), String(sent));
  assert.equal(sent.phase, 'attempt');
  assert.equal(sent.sent, true);
  assert.doesNotMatch(sent.message, /not sent/);
  const onNodeFetch = ky.create({ retry: 0 }).extend(timeoutPlugin({ attempt: 60 }));
  const unknown = await rejection(onNodeFetch.get(`${upstream.url}/slow`));
  assert.ok(isResilienceTimeoutError(unknown), String(unknown));
  assert.equal(unknown.sent, undefined);
});
