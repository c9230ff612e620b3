import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { startUpstream, type Upstream } from '@ky-resilience/testing';
import { getRetryDecision } from '../src/index.ts';
import { rejection, retrying } from './helpers.ts';

// An empty `Idempotency-Key:` header is no key (a generated key must be non-empty too): the server
// would have nothing to deduplicate a repeated POST by.
describe('an empty Idempotency-Key header', () => {
  let upstream: Upstream;
  before(async () => {
    upstream = await startUpstream();
  });
  after(async () => {
    await upstream.close();
  });

  test('does not make a POST that reached the server (503) retryable', async () => {
    upstream.route('/empty-key', { steps: [{ status: 503 }, {}] });
    const { api } = retrying();
    const outcome = await api
      .post(`${upstream.url}/empty-key`, { body: 'order', headers: { 'Idempotency-Key': '' } })
      .text()
      .then(
        () => 'succeeded after a retry',
        (error: unknown) => getRetryDecision(error)?.reason,
      );
    assert.deepEqual(upstream.counters('/empty-key').bodies, ['order'], `outcome: ${outcome}`);
  });

  test('with generateIdempotencyKey, an empty header is replaced by a generated key', async () => {
    upstream.route('/empty-key-gen', { steps: [{ status: 503 }, {}] });
    const { api } = retrying({ generateIdempotencyKey: () => 'generated-1' });
    await rejection(
      api.post(`${upstream.url}/empty-key-gen`, { body: 'order', headers: { 'Idempotency-Key': '' } }).text(),
    ).catch(() => undefined);
    const sent = upstream.counters('/empty-key-gen').headers.map((h) => h['idempotency-key']);
    assert.ok(
      sent.every((key) => key === 'generated-1'),
      `keys sent: ${JSON.stringify(sent)}`,
    );
  });
});
