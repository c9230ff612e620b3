import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { blackholeServer, startUpstream, type Upstream } from '@ky-resilience/testing';
import { isBodyIdleTimeoutError, isHeadersTimeoutError, timeoutPlugin } from '@ky-resilience/timeout';
import ky, { isNetworkError, isTimeoutError } from 'ky';
import { type GiveUpEvent, getRetryDecision, type RetryEvent, retryPlugin } from '../src/index.ts';
import { rejection, retrying } from './helpers.ts';

const LONG_BODY = JSON.stringify({
  items: Array.from({ length: 200 }, (_, i) => ({ id: i, name: `item-${i}` })),
});

describe('the body tier', () => {
  let upstream: Upstream;
  before(async () => {
    upstream = await startUpstream();
  });
  after(async () => {
    await upstream.close();
  });

  test('a GET reset mid-body is a failed attempt, retried; the caller gets the whole body', async () => {
    upstream.route('/get-mid', { steps: [{ reset: 'mid-body', body: LONG_BODY }, { body: LONG_BODY }] });
    const { api, events } = retrying();
    const text = await api.get(`${upstream.url}/get-mid`).text();
    assert.equal(text, LONG_BODY);
    assert.equal(upstream.counters('/get-mid').requests, 2);
    assert.equal(events.retries.length, 1);
    assert.match(events.retries[0]?.reason ?? '', /^(ECONNRESET|UND_ERR_SOCKET)$/);
  });

  test('a POST reset mid-body is not retried; the truncated body never reaches the caller', async () => {
    upstream.route('/post-mid', { steps: [{ reset: 'mid-body', body: LONG_BODY }, { body: LONG_BODY }] });
    const { api } = retrying();
    const error = await rejection(api.post(`${upstream.url}/post-mid`, { json: { a: 1 } }).text());
    assert.ok(isNetworkError(error));
    assert.equal(upstream.counters('/post-mid').requests, 1);
    assert.equal(getRetryDecision(error)?.reason, 'not-idempotent');
  });

  test('without bufferBody a reset mid-body reaches the caller as a successful response', async () => {
    upstream.route('/unbuffered', { steps: [{ reset: 'mid-body', body: LONG_BODY }, { body: LONG_BODY }] });
    const { api } = retrying({ bufferBody: false });
    const response = await api.get(`${upstream.url}/unbuffered`);
    assert.equal(response.status, 200);
    await assert.rejects(response.text(), /terminated/);
    assert.equal(upstream.counters('/unbuffered').requests, 1);
  });

  test('a body whose Content-Length is over maxBufferSize passes through untouched', async () => {
    upstream.route('/large', { steps: [{ reset: 'mid-body', body: LONG_BODY }, { body: LONG_BODY }] });
    const { api } = retrying({ maxBufferSize: 100 });
    const response = await api.get(`${upstream.url}/large`);
    assert.equal(response.status, 200);
    await assert.rejects(response.text(), /terminated/);
    assert.equal(upstream.counters('/large').requests, 1);
  });

  test('a chunked body that grows over maxBufferSize is streamed on, nothing lost', async () => {
    upstream.route('/chunked', { steps: [{ drip: { chunks: 5, intervalMs: 5, chunk: 'abcd' } }] });
    const { api } = retrying({ maxBufferSize: 6 });
    const text = await api.get(`${upstream.url}/chunked`).text();
    assert.equal(text, 'abcd'.repeat(5));
  });

  test('an event stream is never buffered: the response arrives while the body is still open', async () => {
    upstream.route('/events', {
      steps: [
        { stallBody: true, bodyPrefix: 'data: 1\n\n', headers: { 'content-type': 'text/event-stream' } },
      ],
    });
    const { api } = retrying();
    const response = await api.get(`${upstream.url}/events`);
    const reader = response.body!.getReader();
    const first = await reader.read();
    assert.equal(new TextDecoder().decode(first.value), 'data: 1\n\n');
    await reader.cancel();
  });

  test('a buffered response keeps its url, status and headers', async () => {
    upstream.route('/kept', { steps: [{ status: 200, body: 'hello', headers: { 'x-kept': 'yes' } }] });
    const { api } = retrying();
    const response = await api.get(`${upstream.url}/kept`);
    assert.equal(response.url, `${upstream.url}/kept`);
    assert.equal(response.headers.get('x-kept'), 'yes');
    assert.equal(await response.text(), 'hello');
  });
});

describe('with the timeout plugin', () => {
  let upstream: Upstream;
  before(async () => {
    upstream = await startUpstream();
  });
  after(async () => {
    await upstream.close();
  });

  const stack = (
    limits: Parameters<typeof timeoutPlugin>[0],
  ): { api: typeof ky; retries: RetryEvent[]; giveUps: GiveUpEvent[] } => {
    const retries: RetryEvent[] = [];
    const giveUps: GiveUpEvent[] = [];
    const api = ky.extend(timeoutPlugin(limits)).extend(
      retryPlugin({
        backoff: { strategy: 'none', base: 1 },
        budget: false,
        onRetry: (event) => retries.push(event),
        onGiveUp: (event) => giveUps.push(event),
      }),
    );
    return { api, retries, giveUps };
  };

  test('a stalled body is caught by bodyIdle inside the attempt and retried', async () => {
    upstream.route('/stall', { steps: [{ stallBody: true, bodyPrefix: '{"items":[' }, { body: LONG_BODY }] });
    const { api, retries } = stack({ bodyIdle: 100, attempt: 5_000, total: 20_000 });
    const text = await api.get(`${upstream.url}/stall`).text();
    assert.equal(text, LONG_BODY);
    assert.equal(upstream.counters('/stall').requests, 2);
    assert.deepEqual(
      retries.map((event) => event.reason),
      ['timeout:bodyIdle'],
    );
  });

  test('a body that stalls on every attempt fails with BodyIdleTimeoutError after the limit', async () => {
    upstream.route('/stall-always', { steps: [{ stallBody: true, bodyPrefix: '[' }] });
    const { api, giveUps } = stack({ bodyIdle: 50, attempt: 5_000, total: 20_000 });
    const error = await rejection(api.get(`${upstream.url}/stall-always`));
    assert.ok(isBodyIdleTimeoutError(error));
    assert.equal(upstream.counters('/stall-always').requests, 3);
    assert.equal(giveUps[0]?.attempts, 3);
    assert.equal(getRetryDecision(error)?.reason, 'limit-reached');
  });

  test('a slow but steady body is not caught', async () => {
    upstream.route('/steady', { steps: [{ drip: { chunks: 6, intervalMs: 40, chunk: 'x' } }] });
    const { api, retries } = stack({ bodyIdle: 400, attempt: 10_000, total: 20_000 });
    const text = await api.get(`${upstream.url}/steady`).text();
    assert.equal(text, 'xxxxxx');
    assert.equal(upstream.counters('/steady').requests, 1);
    assert.equal(retries.length, 0);
  });

  test('headers that never come: each attempt times out (headers tier) and is retried up to the limit', async () => {
    upstream.route('/no-headers', { steps: [{ delayHeadersMs: 600_000 }] });
    const { api, retries } = stack({ headers: 80, attempt: 5_000, total: 20_000 });
    const error = await rejection(api.get(`${upstream.url}/no-headers`));
    assert.ok(isHeadersTimeoutError(error));
    assert.equal(upstream.counters('/no-headers').requests, 3);
    assert.deepEqual(
      retries.map((event) => event.reason),
      ['timeout:headers', 'timeout:headers'],
    );
  });

  test('timeoutPhases decides which tiers are retried', async () => {
    upstream.route('/no-headers-once', { steps: [{ delayHeadersMs: 600_000 }] });
    const { api } = stack({ headers: 50, attempt: 5_000, total: 20_000 });
    const error = await rejection(
      api.get(`${upstream.url}/no-headers-once`, {
        context: { '@ky-resilience/retry': { timeoutPhases: ['connect'] } },
      }),
    );
    assert.ok(isHeadersTimeoutError(error));
    assert.equal(upstream.counters('/no-headers-once').requests, 1);
    assert.equal(getRetryDecision(error)?.reason, 'error-not-retryable');
  });
});

test("headers that never come under ky's own timeout: TimeoutError counts as the attempt phase", async () => {
  // A listener that accepts and never answers (its connection count is no request count: undici
  // may open a spare connection after an aborted request, so only the attempts are asserted).
  const hole = await blackholeServer();
  try {
    const { api, events } = retrying({}, { timeout: 80 });
    const error = await rejection(api.get(`${hole.url}/`));
    assert.ok(isTimeoutError(error));
    assert.equal(events.giveUps[0]?.attempts, 3);
    assert.ok(hole.connections >= 3);
    assert.deepEqual(
      events.retries.map((event) => event.reason),
      ['timeout:attempt', 'timeout:attempt'],
    );
  } finally {
    await hole.close();
  }
});
