import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { startUpstream, type Upstream } from '@ky-resilience/testing';
import { getRetryDecision } from '../src/index.ts';
import { rejection, retrying } from './helpers.ts';

// A POST with an Idempotency-Key is retried, also when ky gets a Request as its input: ky's options
// then carry no method, and ky checks the request's method before it asks the plugin.
describe('a POST given to ky as a Request', () => {
  let upstream: Upstream;
  before(async () => {
    upstream = await startUpstream();
  });
  after(async () => {
    await upstream.close();
  });

  test('with an Idempotency-Key, a 503 is retried with the same key (as for api.post)', async () => {
    upstream.route('/req-post-key', { steps: [{ status: 503 }, {}] });
    const { api, events } = retrying();
    const request = new Request(`${upstream.url}/req-post-key`, {
      method: 'POST',
      body: '{"order":7}',
      headers: { 'content-type': 'application/json', 'Idempotency-Key': 'k-req' },
    });
    const outcome = await api(request)
      .text()
      .then(
        () => undefined,
        (error: unknown) => error,
      );
    const decision = outcome === undefined ? undefined : getRetryDecision(outcome);
    assert.equal(
      upstream.counters('/req-post-key').requests,
      2,
      `expected a retry; got ${upstream.counters('/req-post-key').requests} request(s), decision ${JSON.stringify(decision)}`,
    );
    assert.equal(events.retries.length, 1);
  });

  test('when it is not retried, the decision does not claim the limit was reached after 1 of 3 attempts', async () => {
    upstream.route('/req-post-key2', { steps: [{ status: 503 }, {}] });
    const { api } = retrying();
    const request = new Request(`${upstream.url}/req-post-key2`, {
      method: 'POST',
      body: 'x',
      headers: { 'Idempotency-Key': 'k-req2' },
    });
    const error = await rejection(api(request).text()).catch(() => undefined);
    if (error === undefined) return; // retried and succeeded: the first test covers it
    const decision = getRetryDecision(error);
    assert.notDeepEqual(decision, {
      retry: false,
      reason: 'limit-reached',
      failure: 'status 503',
      attempts: 1,
    });
  });
});
