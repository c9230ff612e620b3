import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createAgent } from '@ky-resilience/agent';
import { startUpstream } from '@ky-resilience/testing';
import ky from 'ky';
import { isAttemptTimeoutError, isHeadersTimeoutError, type Timers, timeoutPlugin } from '../src/index.ts';
import { rejection } from './helpers.ts';

/** Timers that never fire by themselves: `fireAll()` makes every pending one run out at once. */
function manualTimers(): { timers: Timers; readonly pending: number; fireAll(): void } {
  const pending = new Map<number, () => void>();
  let next = 0;
  const timers: Timers = {
    setTimeout(callback) {
      next += 1;
      pending.set(next, callback);
      return next as unknown as ReturnType<typeof setTimeout>;
    },
    clearTimeout(handle) {
      pending.delete(handle as unknown as number);
    },
  };
  return {
    timers,
    get pending() {
      return pending.size;
    },
    fireAll() {
      const callbacks = [...pending.values()];
      pending.clear();
      for (const callback of callbacks) callback();
    },
  };
}

/** Event-loop turns until `done()` (at most 500: the test's assertions then report what is missing). */
const turnsUntil = async (done: () => boolean): Promise<void> => {
  for (let i = 0; i < 500 && !done(); i += 1) await new Promise((resolve) => setImmediate(resolve));
};

/**
 * An upstream whose `/hold` answers a head and never ends its body (the first call keeps the origin's only
 * connection), `/ok`, and `/never` (no head for a minute); an agent with one connection per host.
 */
async function heldUpstream(t: { after: (fn: () => unknown) => void }) {
  const upstream = await startUpstream({
    routes: {
      '/hold': { steps: [{ stallBody: true, bodyPrefix: 'x' }] },
      '/ok': {},
      '/never': { steps: [{ delayHeadersMs: 60_000 }] },
    },
  });
  const agent = createAgent({ limitPerHost: 1 });
  t.after(async () => {
    await agent.destroy();
    await upstream.close();
  });
  return { upstream, agent };
}

for (const limit of ['attempt', 'headers'] as const) {
  test(`time waiting in the agent's queue is not counted in the ${limit} limit`, async (t) => {
    const { upstream, agent } = await heldUpstream(t);
    const clock = manualTimers();
    const api = ky
      .create({ ...agent.kyOptions, retry: 0 })
      .extend(
        timeoutPlugin(
          limit === 'attempt'
            ? { total: false, attempt: 1_000, bodyIdle: false, timers: clock.timers }
            : { total: false, attempt: false, headers: 1_000, bodyIdle: 1_000, timers: clock.timers },
        ),
      );
    const first = await api.get(`${upstream.url}/hold`);
    const second = api.get(`${upstream.url}/ok`).text();
    await turnsUntil(() => agent.stats().waiting === 1);
    // The second call waits in the agent's queue: its own timer is stopped, only the first call's attempt
    // timer runs (the first call's head has arrived, so its headers timer is over).
    assert.equal(upstream.counters('/ok').requests, 0);
    assert.equal(clock.pending, limit === 'attempt' ? 1 : 0);
    // Every running limit runs out. With the attempt limit the first call fails and frees the connection;
    // with the headers limit its body is cancelled by hand. The second call, queued all that time, starts
    // its own limit afresh when it leaves the queue, and succeeds.
    clock.fireAll();
    if (limit === 'attempt') {
      assert.ok(isAttemptTimeoutError(await rejection(first.text())));
    } else {
      await first.body?.cancel();
    }
    assert.equal(await second, JSON.stringify({ ok: true, route: '/ok', n: 0 }));
    assert.equal(upstream.counters('/ok').requests, 1);
    assert.equal(clock.pending, 0);
  });
}

test('a call whose head never comes after it left the queue still times out', async (t) => {
  const { upstream, agent } = await heldUpstream(t);
  const clock = manualTimers();
  const api = ky
    .create({ ...agent.kyOptions, retry: 0 })
    .extend(
      timeoutPlugin({ total: false, attempt: false, headers: 1_000, bodyIdle: false, timers: clock.timers }),
    );
  const first = await api.get(`${upstream.url}/hold`);
  const second = rejection(api.get(`${upstream.url}/never`));
  await turnsUntil(() => agent.stats().waiting === 1);
  assert.equal(clock.pending, 0);
  // The first call's body is cancelled by hand: its connection goes back and the second call is sent.
  await first.body?.cancel();
  await turnsUntil(() => clock.pending === 1);
  assert.equal(clock.pending, 1);
  clock.fireAll();
  assert.ok(isHeadersTimeoutError(await second));
});
