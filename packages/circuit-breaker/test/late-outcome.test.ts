import assert from 'node:assert/strict';
import { test } from 'node:test';
import { startUpstream } from '@ky-resilience/testing';
import ky from 'ky';
import { type BreakerPolicy, circuitBreakerPlugin } from '../src/index.ts';
import { closeAfter, fakeClock, recordChanges, rejection, until } from './helpers.ts';

/**
 * A call admitted while the circuit was closed, whose failure arrives after the circuit went
 * half-open, is not a probe: only a probe decides a half-open circuit, under every trip policy.
 */
for (const policy of [
  { kind: 'consecutive', failures: 2 },
  { kind: 'count', threshold: 0.5, size: 4, minimumCalls: 2 },
  { kind: 'window', threshold: 0.5, windowMs: 60_000, minimumCalls: 2 },
] as const satisfies readonly BreakerPolicy[]) {
  test(`${policy.kind}: a late failure of a closed-phase call does not re-open a half-open circuit`, async (t) => {
    const upstream = closeAfter(
      t,
      await startUpstream({
        routes: {
          '/late': { steps: [{ status: 503 }] },
          '/fail': { steps: [{ status: 503 }] },
          '/hang': { steps: [{ status: 200, delayHeadersMs: 10_000 }] },
        },
      }),
    );
    const time = fakeClock();
    const changes = recordChanges();
    const breakers = circuitBreakerPlugin({ policy, clock: time.clock, onStateChange: changes.listener });
    // The /late response is held back (after it arrived) until `release` is called.
    let release: () => void = () => {};
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    const gated = async (input: Request | string | URL, init?: RequestInit): Promise<Response> => {
      const response = await fetch(input, init);
      if (new URL(input instanceof Request ? input.url : String(input)).pathname === '/late') await gate;
      return response;
    };
    const api = ky.create({ retry: 0, fetch: gated }).extend(breakers.kyOptions);

    const late = rejection(api.get(`${upstream.url}/late`)); // admitted while closed
    await until(() => upstream.counters('/late').statuses['503'] === 1);
    await rejection(api.get(`${upstream.url}/fail`));
    await rejection(api.get(`${upstream.url}/fail`));
    assert.equal(breakers.state(upstream.origin), 'open');

    time.advance(5_000);
    const controller = new AbortController();
    const probe = rejection(api.get(`${upstream.url}/hang`, { signal: controller.signal }));
    await until(() => upstream.counters('/hang').inFlight === 1);
    assert.equal(breakers.state(upstream.origin), 'half-open');

    release();
    await late;
    const afterLate = breakers.state(upstream.origin);
    controller.abort();
    await probe;
    assert.equal(
      afterLate,
      'half-open',
      `the closed-phase failure re-opened the half-open circuit: ${changes.list.join(', ')}`,
    );
  });
}
