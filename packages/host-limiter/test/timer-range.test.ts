import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createHostLimiter, maxTimeoutMs, type Timers } from '../src/index.ts';

// Real timers that record the delays asked for; a frozen injected clock. Node fires a delay above
// 2^31−1 ms after 1 ms (TimeoutOverflowWarning): a wake timer asked for one would find the key still
// paused (or the token still not due) and re-arm, a 1 ms loop for as long as the pause lasts.
function recordingTimers(): { timers: Timers; asked: number[] } {
  const asked: number[] = [];
  const handles = new Set<ReturnType<typeof setTimeout>>();
  return {
    asked,
    timers: {
      setTimeout(fn, ms) {
        asked.push(ms);
        const h = setTimeout(() => {
          handles.delete(h);
          fn();
        }, ms);
        handles.add(h);
        return h;
      },
      clearTimeout(h) {
        handles.delete(h as ReturnType<typeof setTimeout>);
        clearTimeout(h as ReturnType<typeof setTimeout>);
      },
    },
  };
}

async function settle(asked: number[]): Promise<void> {
  for (let i = 0; i < 40 && asked.length < 20; i += 1) {
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

test('limiter.pause(key, until) a month ahead arms one wake timer, not a 1 ms loop', async () => {
  const now = 1_700_000_000_000;
  const { timers, asked } = recordingTimers();
  const limiter = createHostLimiter({ concurrency: 1, queueTimeout: false, clock: () => now, timers });
  const key = 'https://paused.example';
  limiter.pause(key, now + 30 * 24 * 3_600_000);
  const controller = new AbortController();
  const pending = limiter
    .wrap(async () => new Response(null, { status: 204 }))(key, { signal: controller.signal })
    .catch(() => {});
  await settle(asked);
  const count = asked.length;
  const tooLong = asked.filter((ms) => ms > maxTimeoutMs).length;
  controller.abort();
  await pending;
  assert.equal(tooLong, 0, `no delay above ${maxTimeoutMs} ms (asked: ${asked.slice(0, 3).join(', ')}, ...)`);
  assert.ok(count <= 1, `one wake timer while the pause lasts (timers started: ${count})`);
});

test('a rate below one token per 24.8 days arms one token timer, not a 1 ms loop', async () => {
  const now = 1_700_000_000_000;
  const { timers, asked } = recordingTimers();
  const limiter = createHostLimiter({ rate: 1e-7, queueTimeout: false, clock: () => now, timers });
  const f = limiter.wrap(async () => new Response(null, { status: 204 }));
  const key = 'https://slow-rate.example';
  await f(key); // takes the only token
  const controller = new AbortController();
  const pending = f(key, { signal: controller.signal }).catch(() => {});
  await settle(asked);
  const count = asked.length;
  controller.abort();
  await pending;
  assert.ok(count <= 1, `one token timer (timers started: ${count}, first delay ${asked[0]} ms)`);
});
