import assert from 'node:assert/strict';
import { test } from 'node:test';
import { startUpstream } from '@ky-resilience/testing';
import { isTotalTimeoutError, timeoutPlugin } from '@ky-resilience/timeout';
import ky, { isHTTPError } from 'ky';
import { getRetryDecision, retryPlugin } from '../src/index.ts';
import { rejection, retrying } from './helpers.ts';

test('a beforeRequest hook that answers 503 is reported as not-attempted; nothing is sent or retried', async (t) => {
  const upstream = await startUpstream();
  t.after(() => upstream.close());
  const { api, events } = retrying({ limit: 2 });
  const cached = api.extend({ hooks: { beforeRequest: [() => new Response('down', { status: 503 })] } });
  const error = await rejection(cached.get(`${upstream.url}/a`));
  assert.ok(isHTTPError(error), String(error));
  assert.deepEqual(getRetryDecision(error), {
    retry: false,
    reason: 'not-attempted',
    failure: 'status 503',
    attempts: 0,
  });
  assert.equal(events.retries.length, 0);
  assert.deepEqual(
    events.giveUps.map((e) => [e.attempts, e.decision.reason]),
    [[0, 'not-attempted']],
  );
  assert.equal(upstream.counters('/a').requests, 0);
});

test('a beforeRequest hook that throws is reported as not-attempted', async (t) => {
  const upstream = await startUpstream();
  t.after(() => upstream.close());
  const { api, events } = retrying({ limit: 2 });
  const failing = api.extend({
    hooks: {
      beforeRequest: [
        () => {
          throw new Error('no token');
        },
      ],
    },
  });
  const error = await rejection(failing.get(`${upstream.url}/b`));
  assert.match(String(error), /no token/);
  assert.equal(getRetryDecision(error)?.reason, 'not-attempted');
  assert.equal(events.giveUps.length, 1);
  assert.equal(upstream.counters('/b').requests, 0);
});

test('before any attempt, the total timeout and the caller’s abort keep their own reasons', async () => {
  const slowHook = ky
    .extend(timeoutPlugin({ total: 50, attempt: 50 }))
    .extend(retryPlugin({ budget: false }))
    .extend({ hooks: { beforeRequest: [() => new Promise<void>((resolve) => setTimeout(resolve, 300))] } });
  const timedOut = await rejection(slowHook.get('http://127.0.0.1:9/never'));
  assert.ok(isTotalTimeoutError(timedOut), String(timedOut));
  assert.equal(getRetryDecision(timedOut)?.reason, 'total-timeout');
  const { api } = retrying({ limit: 2 });
  const caller = new AbortController();
  const aborting = api.extend({
    hooks: {
      beforeRequest: [
        () => {
          caller.abort(new Error('caller gave up'));
          caller.signal.throwIfAborted();
        },
      ],
    },
  });
  const aborted = await rejection(aborting.get('http://127.0.0.1:9/never', { signal: caller.signal }));
  assert.match(String(aborted), /caller gave up/);
  assert.equal(getRetryDecision(aborted)?.reason, 'aborted');
});

test('a body the plugin did not buffer, timed out while the caller reads it, is reported as after-response', async (t) => {
  const upstream = await startUpstream({ routes: { '/stall': { steps: [{ stallBody: true }] } } });
  t.after(() => upstream.close());
  const { api, events } = retrying({ limit: 2, bufferBody: false });
  // ky's own per-attempt timeout bounds its body read; ky gives the error to beforeError, not to shouldRetry.
  const error = await rejection(api.get(`${upstream.url}/stall`, { timeout: 200 }).text());
  assert.equal((error as Error).name, 'TimeoutError');
  const decision = getRetryDecision(error);
  assert.equal(decision?.reason, 'after-response');
  assert.equal(decision?.attempts, 1);
  assert.equal(events.retries.length, 0);
  assert.equal(upstream.counters('/stall').requests, 1, 'ky does not retry a body read');
});
