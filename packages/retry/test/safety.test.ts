import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { AgentQueueFullError, ConnectTimeoutError } from '@ky-resilience/agent';
import { closedPort, startUpstream, type Upstream } from '@ky-resilience/testing';
import { isHTTPError, isNetworkError } from 'ky';
import { getRetryDecision, isRetryOptionsError } from '../src/index.ts';
import { activeTimers, rejection, retrying, until } from './helpers.ts';

describe('which requests may be sent again', () => {
  let upstream: Upstream;
  before(async () => {
    upstream = await startUpstream();
  });
  after(async () => {
    await upstream.close();
  });

  test('a POST that reached the server and got a 503 is not repeated', async () => {
    upstream.route('/post-503', { steps: [{ status: 503 }, {}] });
    const { api, events } = retrying();
    const error = await rejection(api.post(`${upstream.url}/post-503`, { json: { order: 1 } }));
    assert.ok(isHTTPError(error));
    assert.deepEqual(upstream.counters('/post-503').bodies, ['{"order":1}']);
    assert.equal(events.retries.length, 0);
    assert.deepEqual(getRetryDecision(error), {
      retry: false,
      reason: 'not-idempotent',
      failure: 'status 503',
      attempts: 1,
    });
    assert.equal(events.giveUps[0]?.decision.reason, 'not-idempotent');
  });

  test('a POST whose connection was reset before the response is not repeated', async () => {
    upstream.route('/post-reset', { steps: [{ reset: 'before-headers' }, {}] });
    const { api } = retrying();
    const error = await rejection(api.post(`${upstream.url}/post-reset`, { body: 'payload' }));
    assert.ok(isNetworkError(error));
    assert.deepEqual(upstream.counters('/post-reset').bodies, ['payload']);
    assert.equal(getRetryDecision(error)?.reason, 'not-idempotent');
    assert.equal(getRetryDecision(error)?.failure, 'ECONNRESET');
  });

  test('a PATCH is treated like a POST; PUT and DELETE are retried', async () => {
    upstream.route('/patch', { steps: [{ status: 502 }, {}] });
    upstream.route('/put', { steps: [{ status: 502 }, {}] });
    upstream.route('/delete', { steps: [{ status: 502 }, {}] });
    const { api } = retrying();
    await rejection(api.patch(`${upstream.url}/patch`, { json: { a: 1 } }));
    assert.equal(upstream.counters('/patch').requests, 1);
    await api.put(`${upstream.url}/put`, { json: { a: 1 } }).text();
    assert.deepEqual(upstream.counters('/put').bodies, ['{"a":1}', '{"a":1}']);
    await api.delete(`${upstream.url}/delete`).text();
    assert.equal(upstream.counters('/delete').requests, 2);
  });

  test('a GET reset before the response is retried', async () => {
    upstream.route('/get-reset', { steps: [{ reset: 'before-headers' }, {}] });
    const { api, events } = retrying();
    await api.get(`${upstream.url}/get-reset`).text();
    assert.equal(upstream.counters('/get-reset').requests, 2);
    assert.equal(events.retries[0]?.reason, 'ECONNRESET');
  });

  test('a POST with an Idempotency-Key is retried with the same key and body', async () => {
    upstream.route('/post-key', { steps: [{ status: 503 }, { reset: 'before-headers' }, {}] });
    const { api, events } = retrying();
    await api
      .post(`${upstream.url}/post-key`, { json: { order: 2 }, headers: { 'Idempotency-Key': 'k-123' } })
      .text();
    const seen = upstream.counters('/post-key');
    assert.deepEqual(
      seen.headers.map((headers) => headers['idempotency-key']),
      ['k-123', 'k-123', 'k-123'],
    );
    assert.deepEqual(seen.bodies, ['{"order":2}', '{"order":2}', '{"order":2}']);
    assert.equal(events.retries.length, 2);
  });

  test('generateIdempotencyKey gives each call one key, the same for every attempt', async () => {
    upstream.route('/post-generated', { steps: [{ status: 503 }, {}] });
    let n = 0;
    const { api } = retrying({ generateIdempotencyKey: () => `generated-${++n}` });
    await api.post(`${upstream.url}/post-generated`, { json: { order: 3 } }).text();
    upstream.route('/post-generated', { steps: [{ status: 503 }, {}] });
    await api.post(`${upstream.url}/post-generated`, { json: { order: 4 } }).text();
    assert.deepEqual(
      upstream.counters('/post-generated').headers.map((headers) => headers['idempotency-key']),
      ['generated-1', 'generated-1', 'generated-2', 'generated-2'],
    );
  });

  test('a generated key that is no header value fails the call before anything is sent, leaving no timer', async () => {
    const before = activeTimers();
    const { api, events } = retrying({ generateIdempotencyKey: () => 'bad\nkey' });
    const error = await rejection(api.post(`${upstream.url}/bad-key`, { body: 'x' }));
    assert.ok(isRetryOptionsError(error));
    assert.equal(upstream.counters('/bad-key').requests, 0);
    assert.equal(getRetryDecision(error)?.reason, 'error-not-retryable');
    assert.equal(events.giveUps.length, 1);
    // ky's attempt timer (the 5 s `timeout` of these tests) is cleared once the attempt rejects.
    await until(() => activeTimers() <= before);
  });

  test('generateIdempotencyKey: true uses random UUIDs and leaves GET alone', async () => {
    upstream.route('/uuid', { steps: [{ status: 503 }, {}] });
    upstream.route('/uuid-get', { steps: [{ status: 503 }, {}] });
    const { api } = retrying({ generateIdempotencyKey: true });
    await api.post(`${upstream.url}/uuid`, { body: 'x' }).text();
    const keys = upstream.counters('/uuid').headers.map((headers) => headers['idempotency-key']);
    assert.equal(keys.length, 2);
    assert.match(String(keys[0]), /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    assert.equal(keys[0], keys[1]);
    await api.get(`${upstream.url}/uuid-get`).text();
    assert.deepEqual(
      upstream.counters('/uuid-get').headers.map((headers) => headers['idempotency-key']),
      [undefined, undefined],
    );
  });

  test('a custom idempotency header name is honoured', async () => {
    upstream.route('/custom-key', { steps: [{ status: 503 }, {}] });
    const { api } = retrying({ idempotencyHeader: 'X-Request-Id' });
    await api.post(`${upstream.url}/custom-key`, { body: 'x', headers: { 'x-request-id': 'r1' } }).text();
    assert.equal(upstream.counters('/custom-key').requests, 2);
  });

  test('a POST to a refused port is retried: it was never sent', async () => {
    const port = await closedPort();
    const { api, events } = retrying();
    const error = await rejection(api.post(`http://127.0.0.1:${port}/`, { json: { order: 5 } }));
    assert.ok(isNetworkError(error));
    assert.deepEqual(
      events.retries.map((event) => event.reason),
      ['ECONNREFUSED', 'ECONNREFUSED'],
    );
    assert.equal(events.giveUps[0]?.attempts, 3);
    assert.equal(getRetryDecision(error)?.reason, 'limit-reached');
  });

  test('the agent’s queue-full refusal is not retried by default; when retried, a POST is too (never sent)', async () => {
    const refused = (): Promise<Response> =>
      Promise.reject(
        new TypeError('fetch failed', { cause: new AgentQueueFullError('http://api.test', 10) }),
      );
    let calls = 0;
    const counting = async (): Promise<Response> => {
      calls += 1;
      return refused();
    };
    const byDefault = retrying({}, { fetch: counting });
    const error = await rejection(byDefault.api.get('http://api.test/items'));
    assert.ok(isNetworkError(error));
    assert.equal(calls, 1);
    assert.equal(getRetryDecision(error)?.reason, 'error-not-retryable');

    calls = 0;
    const optedIn = retrying({ limit: 1, errorCodes: ['ERR_KYR_AGENT_QUEUE_FULL'] }, { fetch: counting });
    await rejection(optedIn.api.post('http://api.test/orders', { json: {} }));
    assert.equal(calls, 2, 'a POST the agent never sent may be sent again');
    assert.equal(optedIn.events.retries[0]?.reason, 'ERR_KYR_AGENT_QUEUE_FULL');
  });

  test('a POST whose connect timed out (the agent error) is retried', async () => {
    let calls = 0;
    const { api, events } = retrying(
      { limit: 1 },
      {
        fetch: async () => {
          calls += 1;
          throw new TypeError('fetch failed', {
            cause: new ConnectTimeoutError('api.test', 100, '127.0.0.1'),
          });
        },
      },
    );
    const error = await rejection(api.post('http://api.test/orders', { json: {} }));
    assert.ok(isNetworkError(error));
    assert.equal(calls, 2);
    assert.equal(events.retries[0]?.reason, 'UND_ERR_CONNECT_TIMEOUT');
    assert.equal(events.retries[0]?.host, 'api.test');
  });

  test('a one-shot stream body is never retried, and the error says why', async () => {
    upstream.route('/stream', { steps: [{ status: 503 }, {}] });
    const { api, events } = retrying();
    const body = new ReadableStream<Uint8Array>({
      start(controller) {
        controller.enqueue(new TextEncoder().encode('streamed'));
        controller.close();
      },
    });
    const error = await rejection(
      api.put(`${upstream.url}/stream`, { body, headers: { 'Idempotency-Key': 'k' } }),
    );
    assert.ok(isHTTPError(error));
    assert.deepEqual(upstream.counters('/stream').bodies, ['streamed']);
    assert.equal(events.retries.length, 0);
    assert.deepEqual(getRetryDecision(error), {
      retry: false,
      reason: 'stream-body',
      failure: 'status 503',
      attempts: 1,
    });
    assert.deepEqual(Object.keys(error).includes('retryDecision'), true);
  });

  test('ENOTFOUND is not retried', async () => {
    let calls = 0;
    const { api } = retrying(
      {},
      {
        fetch: async () => {
          calls += 1;
          throw new TypeError('fetch failed', {
            cause: Object.assign(new Error('getaddrinfo ENOTFOUND nowhere.test'), { code: 'ENOTFOUND' }),
          });
        },
      },
    );
    const error = await rejection(api.get('http://nowhere.test/'));
    assert.equal(calls, 1);
    assert.equal(getRetryDecision(error)?.reason, 'error-not-retryable');
    assert.equal(getRetryDecision(error)?.failure, 'ENOTFOUND');
  });

  test('an error thrown by a custom fetch without a code is not retried', async () => {
    let calls = 0;
    const { api } = retrying(
      {},
      {
        fetch: async () => {
          calls += 1;
          throw new Error('bug');
        },
      },
    );
    const error = await rejection(api.get('http://bug.test/'));
    assert.equal((error as Error).message, 'bug');
    assert.equal(calls, 1);
    assert.equal(getRetryDecision(error)?.reason, 'error-not-retryable');
  });
});
