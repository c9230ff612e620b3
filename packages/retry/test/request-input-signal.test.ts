import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { startUpstream, type Upstream } from '@ky-resilience/testing';
import { getRetryDecision } from '../src/index.ts';
import { rejection, retrying, until } from './helpers.ts';

/** A full garbage collection (`--expose-gc` turned on at run time). */
function collectGarbage(): void {
  setFlagsFromString('--expose-gc');
  (runInNewContext('gc') as () => void)();
}

// A `Request` given to ky as its input carries the caller's signal; ky's options (all the plugin's
// init hook sees) then carry none.
describe("a caller's abort through the signal of a Request input", () => {
  let upstream: Upstream;
  before(async () => {
    upstream = await startUpstream();
  });
  after(async () => {
    await upstream.close();
  });

  test('during a retried attempt, after a garbage collection: the abort still reaches the attempt', async () => {
    upstream.route('/req-abort-gc', { steps: [{ status: 503 }, { delayHeadersMs: 600_000 }] });
    const { api, events } = retrying({}, { timeout: false });
    const controller = new AbortController();
    const reason = new Error('abort after gc');
    const call = rejection(api(new Request(`${upstream.url}/req-abort-gc`, { signal: controller.signal })));
    await until(() => upstream.counters('/req-abort-gc').requests === 2);
    collectGarbage();
    await sleep(10);
    collectGarbage();
    controller.abort(reason);
    const pending = new Promise((resolve) => setTimeout(resolve, 5_000, 'still pending after 5 s').unref());
    const outcome = await Promise.race([call, pending]);
    assert.equal(outcome, reason);
    await until(() => upstream.counters('/req-abort-gc').inFlight === 0);
    assert.equal(upstream.counters('/req-abort-gc').requests, 2);
    assert.equal(events.giveUps[0]?.decision.reason, 'aborted');
  });

  test('during the backoff sleep: the decision says aborted', async () => {
    upstream.route('/req-abort-sleep', { steps: [{ status: 503 }, {}] });
    const controller = new AbortController();
    const reason = new Error('stop waiting');
    const { api, events } = retrying({
      backoff: { strategy: 'none', base: 600_000, cap: 600_000 },
      onRetry: () => {
        setTimeout(() => controller.abort(reason), 20).unref();
      },
    });
    const error = await rejection(
      api(new Request(`${upstream.url}/req-abort-sleep`, { signal: controller.signal })),
    );
    assert.equal(error, reason);
    assert.equal(upstream.counters('/req-abort-sleep').requests, 1);
    assert.equal(getRetryDecision(reason)?.reason, 'aborted');
    assert.equal(events.giveUps[0]?.decision.reason, 'aborted');
  });

  test('an AbortSignal.timeout() deadline during an attempt is no timeout to retry: no retry event', async () => {
    upstream.route('/req-deadline', { steps: [{ delayHeadersMs: 600_000 }] });
    const { api, events } = retrying({}, { timeout: false });
    const signal = AbortSignal.timeout(50);
    const error = await rejection(api(new Request(`${upstream.url}/req-deadline`, { signal })));
    assert.equal(error, signal.reason);
    assert.equal((error as Error).name, 'TimeoutError');
    assert.equal(events.retries.length, 0);
    assert.equal(events.giveUps[0]?.decision.reason, 'aborted');
    assert.equal(upstream.counters('/req-deadline').requests, 1);
  });

  test("ky's own timeout still counts as the attempt's timeout and is retried", async () => {
    upstream.route('/req-ky-timeout', { steps: [{ delayHeadersMs: 600_000 }, {}] });
    const { api, events } = retrying({}, { timeout: 100 });
    const controller = new AbortController();
    const response = await api(new Request(`${upstream.url}/req-ky-timeout`, { signal: controller.signal }));
    assert.equal(response.status, 200);
    assert.deepEqual(
      events.retries.map((event) => event.reason),
      ['timeout:attempt'],
    );
  });
});
