import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { startUpstream, type Upstream } from '@ky-resilience/testing';
import ky from 'ky';
import { type GiveUpEvent, getRetryDecision, type RetryEvent, retryPlugin } from '../src/index.ts';
import { activeTimers, rejection, retrying, until } from './helpers.ts';

/** A full garbage collection (`--expose-gc` turned on at run time). */
function collectGarbage(): void {
  setFlagsFromString('--expose-gc');
  (runInNewContext('gc') as () => void)();
}

describe("a caller's abort", () => {
  let upstream: Upstream;
  let baseline: number;
  before(async () => {
    upstream = await startUpstream();
    baseline = activeTimers();
  });
  after(async () => {
    await upstream.close();
  });

  test('during an attempt: no further attempt, the reason propagates, no timer left', async () => {
    upstream.route('/abort-attempt', { steps: [{ delayHeadersMs: 600_000 }] });
    const { api, events } = retrying();
    const controller = new AbortController();
    const reason = new Error('the caller gave up');
    const call = rejection(api.get(`${upstream.url}/abort-attempt`, { signal: controller.signal }));
    await until(() => upstream.counters('/abort-attempt').requests === 1);
    controller.abort(reason);
    assert.equal(await call, reason);
    await until(() => upstream.counters('/abort-attempt').inFlight === 0);
    assert.equal(upstream.counters('/abort-attempt').requests, 1);
    assert.equal(events.retries.length, 0);
    assert.equal(getRetryDecision(reason)?.reason, 'aborted');
    assert.equal(events.giveUps[0]?.attempts, 1);
    await until(() => activeTimers() <= baseline);
  });

  test('during the backoff sleep: no further attempt, the reason propagates, the sleep timer is cleared', async () => {
    upstream.route('/abort-sleep', { steps: [{ status: 503 }, {}] });
    const controller = new AbortController();
    const reason = new Error('stop waiting');
    // A 10-minute backoff: a sleep timer left behind would keep the process alive.
    const { api, events } = retrying({
      backoff: { strategy: 'none', base: 600_000, cap: 600_000 },
      onRetry: () => {
        setTimeout(() => controller.abort(reason), 20).unref();
      },
    });
    const before = activeTimers();
    const error = await rejection(api.get(`${upstream.url}/abort-sleep`, { signal: controller.signal }));
    assert.equal(error, reason);
    assert.deepEqual(
      events.retries.map((event) => event.delay),
      [600_000],
    );
    assert.equal(upstream.counters('/abort-sleep').requests, 1);
    assert.equal(getRetryDecision(reason)?.reason, 'aborted');
    await until(() => activeTimers() <= before);
  });

  test('while queued inside the attempt (a limiter-style wait): no further attempt, the reason propagates', async () => {
    upstream.route('/abort-queued', { steps: [{ status: 503 }, {}] });
    let waiting = 0;
    // The first attempt goes straight through; every later one waits in a queue that only the
    // signal can end, as a host limiter's queue does.
    const queued = async (input: string | URL | Request, init?: RequestInit): Promise<Response> => {
      const request = input as Request;
      if (request.headers.get('x-retry-attempt') === '1') return globalThis.fetch(request, init);
      waiting += 1;
      const signal = init?.signal ?? request.signal;
      return new Promise<Response>((_, reject) => {
        signal.addEventListener('abort', () => reject(signal.reason), { once: true });
      });
    };
    const retries: RetryEvent[] = [];
    const giveUps: GiveUpEvent[] = [];
    const api = ky.create({ fetch: queued, timeout: false }).extend(
      retryPlugin({
        attemptHeader: 'X-Retry-Attempt',
        backoff: { strategy: 'none', base: 1 },
        budget: false,
        onRetry: (event) => retries.push(event),
        onGiveUp: (event) => giveUps.push(event),
      }),
    );
    const controller = new AbortController();
    const reason = new Error('no longer needed');
    const before = activeTimers();
    const call = rejection(api.get(`${upstream.url}/abort-queued`, { signal: controller.signal }));
    await until(() => waiting === 1);
    controller.abort(reason);
    assert.equal(await call, reason);
    assert.equal(upstream.counters('/abort-queued').requests, 1);
    assert.equal(retries.length, 1);
    assert.equal(giveUps[0]?.attempts, 2);
    assert.equal(giveUps[0]?.decision.reason, 'aborted');
    assert.equal(waiting, 1);
    await until(() => activeTimers() <= before);
  });

  test('during a retried attempt, after a garbage collection: the abort still reaches the attempt', async () => {
    // ky's retry request is a clone of a clone; a clone's signal follows its source only weakly.
    upstream.route('/abort-after-gc', { steps: [{ status: 503 }, { delayHeadersMs: 600_000 }] });
    const { api, events } = retrying({}, { timeout: false });
    const controller = new AbortController();
    const reason = new Error('abort after gc');
    const call = rejection(api.get(`${upstream.url}/abort-after-gc`, { signal: controller.signal }));
    await until(() => upstream.counters('/abort-after-gc').requests === 2);
    collectGarbage();
    await sleep(10);
    collectGarbage();
    controller.abort(reason);
    assert.equal(await call, reason);
    await until(() => upstream.counters('/abort-after-gc').inFlight === 0);
    assert.equal(upstream.counters('/abort-after-gc').requests, 2);
    assert.equal(events.giveUps[0]?.decision.reason, 'aborted');
  });

  test('an already aborted signal makes no attempt at all', async () => {
    upstream.route('/pre-aborted', { steps: [{}] });
    const { api } = retrying();
    const reason = new Error('before the start');
    const error = await rejection(
      api.get(`${upstream.url}/pre-aborted`, { signal: AbortSignal.abort(reason) }),
    );
    assert.equal(error, reason);
    assert.equal(upstream.counters('/pre-aborted').requests, 0);
  });
});
