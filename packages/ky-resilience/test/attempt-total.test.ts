import assert from 'node:assert/strict';
import { test } from 'node:test';
import { blackholeServer } from '@ky-resilience/testing';
import { isTotalTimeoutError } from '@ky-resilience/timeout';
import { type AttemptEvent, createClient } from '../src/index.ts';

test('the attempt event of an attempt cut by the total timeout carries the TotalTimeoutError', async (t) => {
  const hole = await blackholeServer();
  t.after(() => hole.close());
  const client = createClient({ timeout: { total: 200, attempt: false }, retry: false });
  t.after(() => client.close({ timeout: 0 }).catch(() => {}));
  const attempts: AttemptEvent[] = [];
  client.on('attempt', (event) => attempts.push(event));
  const error = await client.get(hole.url).then(
    () => assert.fail('the blackhole never answers'),
    (e: unknown) => e,
  );
  assert.ok(isTotalTimeoutError(error));
  while (attempts.length === 0) await new Promise((resolve) => setTimeout(resolve, 5));
  const [event] = attempts;
  assert.ok(isTotalTimeoutError(event?.error), `the attempt event carries ${String(event?.error)}`);
  assert.equal(event?.attempt, 1);
});
