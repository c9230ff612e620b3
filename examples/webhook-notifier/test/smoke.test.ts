import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import type { ResolvedAddress } from '@ky-resilience/agent';
import { startUpstream } from '@ky-resilience/testing';
import ky from 'ky';
import { type Delivery, startNotifierApp } from '../src/app.ts';
import { createNotifierClient } from '../src/client.ts';
import { idempotencyKey, NotificationService, type TaskUpdate } from '../src/notification-service.ts';
import { runScenario } from '../src/scenario.ts';

/** Every host name resolves to 127.0.0.1, which the client allows. */
const loopback = async (): Promise<ResolvedAddress[]> => [{ address: '127.0.0.1', family: 4, ttl: 60 }];
const update: TaskUpdate = { taskId: 't1', version: 1, userId: 1, title: 'x' };

test('one subscriber down, one behind the SSRF guard: the others get every notification exactly once', async () => {
  const updates = 6;
  const report = await runScenario({ updates });
  assert.equal(report.updates.length, updates);
  for (const update of report.updates) {
    const byName = Object.fromEntries(update.deliveries.map((d) => [d.name, d.delivered]));
    assert.deepEqual(
      byName,
      { alpha: true, beta: true, down: false, internal: false },
      `${update.taskId} v${update.version}`,
    );
  }
  const { alpha, beta } = report.received;
  // alpha: one request per notification, each with its own key.
  assert.equal(alpha.requests, updates);
  assert.equal(new Set(alpha.keys).size, updates);
  // beta: the first notification was processed, its answer lost (reset), and retried with the same key.
  assert.equal(beta.requests, updates + 1);
  assert.equal(new Set(beta.keys).size, updates);
  assert.equal(beta.keys[0], beta.keys[1]);
  assert.equal(beta.bodies[0], beta.bodies[1], 'the retry sent the same bytes');
  // ::1 listens, but the client allows only 127.0.0.1: no connection reached it, and the refusal was logged.
  assert.deepEqual(report.internal, { requests: 0, connections: 0 });
  assert.ok(report.log.some((line) => line.includes('internal.hooks.test') && line.includes('SSRF guard')));
  // down: refused connections until 5 failed in a row, then its circuit opened and nothing more was sent.
  assert.ok(report.log.some((line) => line.includes('down.hooks.test') && line.includes('ECONNREFUSED')));
  assert.ok(report.log.some((line) => line.includes('down.hooks.test') && line.includes('CircuitOpenError')));
  const sent = report.downAttempts.filter((a) => a === 'sent').length;
  const firstRefusal = report.downAttempts.indexOf('circuit-open');
  assert.equal(sent, 5, report.downAttempts.join(' '));
  assert.ok(firstRefusal > 0, report.downAttempts.join(' '));
  assert.equal(report.downAttempts.lastIndexOf('sent') < firstRefusal, true, report.downAttempts.join(' '));
  assert.ok(report.downAttempts.length - sent >= updates - 2, report.downAttempts.join(' '));
  assert.equal(report.clientClosed, true, 'the shutdown closed the shared client');
});

test('the Idempotency-Key is stable per task version, content and subscriber', () => {
  const update = { taskId: 't1', version: 3, userId: 1, title: 'x' };
  assert.equal(idempotencyKey(update, 'http://a.test/h'), idempotencyKey({ ...update }, 'http://a.test/h'));
  assert.match(idempotencyKey(update, 'http://a.test/h'), /^task-t1-v3-[0-9a-f]{16}$/);
  // The same version with other content (after a restart, versions start over): another key.
  assert.notEqual(
    idempotencyKey(update, 'http://a.test/h'),
    idempotencyKey({ ...update, title: 'y' }, 'http://a.test/h'),
  );
  assert.notEqual(idempotencyKey(update, 'http://a.test/h'), idempotencyKey(update, 'http://b.test/h'));
  assert.notEqual(
    idempotencyKey(update, 'http://a.test/h'),
    idempotencyKey({ ...update, version: 4 }, 'http://a.test/h'),
  );
});

test('a 2xx with a large or dripping body is delivered: the body is discarded unread', async () => {
  const upstream = await startUpstream({
    routes: {
      '/hooks/large': { steps: [{ body: 'x'.repeat(16 * 1024 * 1024) }] },
      // 60 chunks, 100 ms apart: far longer than the 3 s attempt timeout if the body were read.
      '/hooks/dripping': { steps: [{ drip: { chunks: 60, intervalMs: 100 } }] },
    },
  });
  const client = createNotifierClient({ resolver: loopback, allowAddresses: ['127.0.0.1'] });
  const log: string[] = [];
  try {
    const service = new NotificationService(client, { error: (line) => log.push(line) });
    const [large, dripping] = await Promise.all([
      service.sendTaskNotification(`http://large.hooks.test:${upstream.port}/hooks/large`, update),
      service.sendTaskNotification(`http://dripping.hooks.test:${upstream.port}/hooks/dripping`, update),
    ]);
    assert.deepEqual({ large, dripping }, { large: true, dripping: true }, log.join('\n'));
    assert.equal(upstream.counters('/hooks/large').requests, 1);
    assert.equal(upstream.counters('/hooks/dripping').requests, 1);
  } finally {
    await client.close();
    await upstream.close();
  }
});

test('a slow subscriber gets at most 4 deliveries at a time: the host limiter queues the rest', async () => {
  const limit = 4;
  const concurrentUpdates = 10;
  // Each answer comes 600 ms late: the first four deliveries are all in flight together.
  const upstream = await startUpstream({ routes: { '/hooks/slow': { steps: [{ delayHeadersMs: 600 }] } } });
  const client = createNotifierClient({ resolver: loopback, allowAddresses: ['127.0.0.1'] });
  const app = await startNotifierApp({ client, logger: { error: () => {} } });
  try {
    const api = ky.create({ baseUrl: app.url, retry: 0, timeout: false });
    await api.post('subscriptions', { json: { url: `http://slow.hooks.test:${upstream.port}/hooks/slow` } });
    const answers = await Promise.all(
      Array.from({ length: concurrentUpdates }, (_, i) =>
        api
          .put(`tasks/task-${i}`, { json: { userId: 1, title: `t${i}` } })
          .json<{ deliveries: Delivery[] }>(),
      ),
    );
    assert.ok(answers.every((a) => a.deliveries.length === 1 && a.deliveries[0]!.delivered));
    const counters = upstream.counters('/hooks/slow');
    assert.equal(counters.requests, concurrentUpdates);
    assert.equal(counters.peakInFlight, limit);
  } finally {
    await app.close();
    await upstream.close();
  }
});

test('shutdown lets a delivery in progress finish, then closes the client', async () => {
  const upstream = await startUpstream({ routes: { '/hooks/slow': { steps: [{ delayHeadersMs: 300 }] } } });
  const client = createNotifierClient({ resolver: loopback, allowAddresses: ['127.0.0.1'] });
  const app = await startNotifierApp({ client, logger: { error: () => {} } });
  try {
    const api = ky.create({ baseUrl: app.url, retry: 0, timeout: false });
    await api.post('subscriptions', { json: { url: `http://slow.hooks.test:${upstream.port}/hooks/slow` } });
    const answer = api
      .put('tasks/t1', { json: { userId: 1, title: 'x' } })
      .json<{ deliveries: Delivery[] }>();
    // Wait (bounded) until the subscriber holds the delivery, then shut down while it is in flight.
    for (let i = 0; i < 1_000 && upstream.counters('/hooks/slow').inFlight === 0; i++) await sleep(5);
    assert.equal(upstream.counters('/hooks/slow').inFlight, 1, 'the delivery is in progress');
    const closed = app.close();
    assert.equal(client.closed, false, 'the client stays open while a delivery is in progress');
    const { deliveries } = await answer;
    await closed;
    assert.deepEqual(
      deliveries.map((d) => d.delivered),
      [true],
    );
    assert.equal(upstream.counters('/hooks/slow').statuses['200'], 1);
    assert.equal(client.closed, true);
    await assert.rejects(api.get('subscriptions', { timeout: 2_000 }));
  } finally {
    await app.close();
    await upstream.close();
  }
});

test('the app refuses subscriber URLs that are not http(s), and closes the client on shutdown', async () => {
  const client = createNotifierClient({ allowAddresses: ['127.0.0.1'] });
  const app = await startNotifierApp({ client, logger: { error: () => {} } });
  try {
    const api = ky.create({ baseUrl: app.url, retry: 0, throwHttpErrors: false });
    assert.equal((await api.post('subscriptions', { json: { url: 'file:///etc/passwd' } })).status, 400);
    assert.equal((await api.post('subscriptions', { json: { url: 'not a url' } })).status, 400);
    assert.equal((await api.post('subscriptions', { json: { url: 'https://hooks.example/x' } })).status, 201);
    assert.deepEqual(app.subscribers(), ['https://hooks.example/x']);
  } finally {
    await app.close();
  }
  assert.equal(client.closed, true);
});

test('the example program runs and exits 0', async () => {
  const main = fileURLToPath(new URL('../src/main.ts', import.meta.url));
  const stdout = await new Promise<string>((resolve, reject) => {
    execFile(process.execPath, [main, '3'], { timeout: 60_000 }, (error, out) =>
      error ? reject(error) : resolve(out),
    );
  });
  assert.match(stdout, /alpha received 3 requests, 3 distinct Idempotency-Keys/);
  assert.match(stdout, /beta received 4 requests, 3 distinct Idempotency-Keys/);
  assert.match(stdout, /down: 5 connection attempts \(refused\), then its circuit opened/);
  assert.match(stdout, /received 0 requests on 0 connections/);
});
