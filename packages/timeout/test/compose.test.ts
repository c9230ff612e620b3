import assert from 'node:assert/strict';
import { test } from 'node:test';
import { blackholeServer, startUpstream } from '@ky-resilience/testing';
import ky, { type Options } from 'ky';
import {
  contextKey,
  isAttemptTimeoutError,
  isHeadersTimeoutError,
  isResilienceTimeoutError,
  isTimeoutOptionsError,
  isTotalTimeoutError,
  timeoutPlugin,
} from '../src/index.ts';
import { closeAfter, recordingTimers, rejection, sleep } from './helpers.ts';

test('a request overrides the instance’s limits through context', async (t) => {
  const upstream = closeAfter(
    t,
    await startUpstream({ routes: { '/late': { steps: [{ delayHeadersMs: 600 }] } } }),
  );
  const rec = recordingTimers();
  const api = ky.create({ retry: 0 }).extend(timeoutPlugin({ headers: 200, timers: rec.timers }));
  const error = await rejection(api.get(`${upstream.url}/late`));
  assert.ok(isHeadersTimeoutError(error));
  assert.equal(error.limit, 200);
  const text = await api
    .get(`${upstream.url}/late`, { context: { [contextKey]: { headers: false } } })
    .text();
  assert.match(text, /"ok":true/);
  assert.equal(upstream.counters('/late').requests, 2);
  assert.deepEqual(rec.asked.slice(0, 2), [200, 10_000]);
  assert.equal(rec.asked[2], 10_000, 'the override turned the headers tier off for that request only');
  assert.equal(rec.pending, 0);
});

test('an override keeps the other instance limits and applies to the total too', async (t) => {
  const upstream = closeAfter(t, await startUpstream({ routes: { '/down': { steps: [{ status: 503 }] } } }));
  const api = ky
    .create({ retry: { limit: 1_000, delay: () => 20, jitter: false } })
    .extend(timeoutPlugin({ total: 20_000, attempt: 1_000 }));
  const error = await rejection(
    api.get(`${upstream.url}/down`, { context: { [contextKey]: { total: 150 } } }),
  );
  assert.ok(isTotalTimeoutError(error), String(error));
  assert.equal(error.limit, 150);
});

test('a bad override throws a TimeoutOptionsError naming the context key and the option', async (t) => {
  const upstream = closeAfter(t, await startUpstream());
  const api = ky.create({ retry: 0 }).extend(timeoutPlugin({ total: 1_000 }));
  const bad = await rejection(
    (async () => api.get(upstream.url, { context: { [contextKey]: { attempt: 5_000 } } }))(),
  );
  assert.ok(isTimeoutOptionsError(bad), String(bad));
  assert.equal(bad.option, `context['${contextKey}'].attempt`);
  assert.equal(bad.value, 5_000);
  const unknown = await rejection(
    (async () => api.get(upstream.url, { context: { [contextKey]: { connct: 1 } } }))(),
  );
  assert.ok(isTimeoutOptionsError(unknown));
  assert.equal(unknown.option, `context['${contextKey}'].connct`);
  const notObject = await rejection((async () => api.get(upstream.url, { context: { [contextKey]: 5 } }))());
  assert.ok(isTimeoutOptionsError(notObject));
  assert.equal(notObject.option, `context['${contextKey}']`);
  assert.equal(upstream.counters().requests, 0);
});

test('with ky’s retry: a timed-out attempt is retried when shouldRetry says so, attempts are numbered', async (t) => {
  const upstream = closeAfter(
    t,
    await startUpstream({
      routes: {
        '/flaky': { steps: [{ delayHeadersMs: 5_000 }, { delayHeadersMs: 5_000 }, { body: 'third time' }] },
      },
    }),
  );
  const seen: unknown[] = [];
  const api = ky
    .create({
      retry: {
        limit: 3,
        delay: () => 1,
        shouldRetry: ({ error }) => {
          seen.push(error);
          return isAttemptTimeoutError(error) ? true : undefined;
        },
      },
    })
    .extend(timeoutPlugin({ attempt: 300 }));
  assert.equal(await api.get(`${upstream.url}/flaky`).text(), 'third time');
  assert.equal(upstream.counters('/flaky').requests, 3);
  assert.deepEqual(
    seen.map((error) => (isResilienceTimeoutError(error) ? [error.phase, error.attempt] : error)),
    [
      ['attempt', 1],
      ['attempt', 2],
    ],
  );
});

test('with ky’s retry alone, a timeout is not retried (the retry plugin decides)', async (t) => {
  const hole = closeAfter(t, await blackholeServer());
  const api = ky.create({ retry: { limit: 3, delay: () => 1 } }).extend(timeoutPlugin({ headers: 50 }));
  const error = await rejection(api.get(hole.url));
  assert.ok(isHeadersTimeoutError(error));
  assert.equal(hole.connections, 1);
});

/** A queue-like wrapper applied after the plugin (so it wraps outside it): waits, then calls on. */
function queueing(waitMs: number, waited: number[]): Options {
  return {
    hooks: {
      init: [
        (options) => {
          const inner = options.fetch ?? globalThis.fetch;
          options.fetch = async (input, init) => {
            await sleep(waitMs);
            waited.push(waitMs);
            return inner(input, init);
          };
        },
      ],
    },
  };
}

test('time spent in a queue outside the plugin does not count against the attempt', async (t) => {
  const upstream = closeAfter(t, await startUpstream({ routes: { '/ok': { steps: [{ body: 'served' }] } } }));
  const waited: number[] = [];
  const api = ky
    .create({ retry: 0 })
    .extend(timeoutPlugin({ attempt: 300, total: 5_000 }))
    .extend(queueing(600, waited));
  assert.equal(await api.get(`${upstream.url}/ok`).text(), 'served');
  assert.deepEqual(waited, [600]);
});

test('ky’s own per-attempt timeout counts the same queue time (the reason it is replaced)', async (t) => {
  const upstream = closeAfter(t, await startUpstream({ routes: { '/ok': { steps: [{ body: 'served' }] } } }));
  const waited: number[] = [];
  const api = ky.create({ retry: 0, timeout: 100 }).extend(queueing(300, waited));
  const error = await rejection(api.get(`${upstream.url}/ok`));
  assert.equal((error as Error).name, 'TimeoutError');
  assert.equal(upstream.counters('/ok').requests, 0);
});

test('the fragment works with ky.extend’s function form and sets ky’s timeouts', () => {
  const fragment = timeoutPlugin({ total: 4_000, attempt: 1_000 });
  assert.equal(fragment.timeout, false);
  assert.equal(fragment.totalTimeout, 4_000);
  const api = ky.create({ retry: 0 }).extend((parent) => ({ ...fragment, headers: parent.headers ?? {} }));
  assert.equal(typeof api, 'function');
});
