import assert from 'node:assert/strict';
import { test } from 'node:test';
import { startUpstream } from '@ky-resilience/testing';
import { isHTTPError } from 'ky';
import { getRetryDecision } from '../src/index.ts';
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
