import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import ky from 'ky';
import { startNotifierApp } from '../src/app.ts';
import { createNotifierClient } from '../src/client.ts';
import { idempotencyKey } from '../src/notification-service.ts';
import { runScenario } from '../src/scenario.ts';

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
  // The private address was never contacted, and the refusal was logged.
  assert.equal(report.internalRequests, 0);
  assert.ok(report.log.some((line) => line.includes('internal.hooks.test') && line.includes('SSRF guard')));
  assert.ok(report.log.some((line) => line.includes('down.hooks.test') && line.includes('ECONNREFUSED')));
  assert.equal(report.clientClosed, true, 'the shutdown closed the shared client');
});

test('the Idempotency-Key is stable per task version and subscriber', () => {
  const update = { taskId: 't1', version: 3, userId: 1, title: 'x' };
  assert.equal(
    idempotencyKey(update, 'http://a.test/h'),
    idempotencyKey({ ...update, title: 'y' }, 'http://a.test/h'),
  );
  assert.notEqual(idempotencyKey(update, 'http://a.test/h'), idempotencyKey(update, 'http://b.test/h'));
  assert.notEqual(
    idempotencyKey(update, 'http://a.test/h'),
    idempotencyKey({ ...update, version: 4 }, 'http://a.test/h'),
  );
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
  assert.match(stdout, /received 0 requests/);
});
