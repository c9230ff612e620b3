import assert from 'node:assert/strict';
import { test } from 'node:test';
import { startUpstream } from '@ky-resilience/testing';
import { isTotalTimeoutError } from '@ky-resilience/timeout';
import type { BeforeErrorHook } from 'ky';
import { createClient, type RetryEvent } from '../src/index.ts';

test('client.extend() keeps every tier: retries, events and the limiter', async (t) => {
  const upstream = await startUpstream({
    routes: { '/flaky': { steps: [{ status: 503 }, { status: 503 }, { status: 200 }] } },
  });
  t.after(() => upstream.close());
  const client = createClient({ retry: { backoff: { strategy: 'none', base: 1 }, budget: false } });
  try {
    const retries: RetryEvent[] = [];
    client.on('retry', (e) => retries.push(e));
    const child = client.extend({ headers: { 'x-child': '1' } });
    const body = await child.get(`${upstream.url}/flaky`).json<{ n: number }>();
    assert.equal(body.n, 2);
    assert.equal(retries.length, 2);
    assert.equal(upstream.counters('/flaky').headers[0]?.['x-child'], '1');
    assert.equal(client.limiter?.globalStats().active, 0);
  } finally {
    await client.close();
  }
});

test('a beforeError hook given under `ky` runs after the tiers: it sees the error the call rejects with', async (t) => {
  const upstream = await startUpstream({ routes: { '/slow': { steps: [{ delayHeadersMs: 3_000 }] } } });
  t.after(() => upstream.close());
  const seen: { where: string; error: unknown }[] = [];
  const hook =
    (where: string): BeforeErrorHook =>
    ({ error }) => {
      seen.push({ where, error });
      return error;
    };
  const client = createClient({
    retry: false,
    timeout: { total: 100, attempt: 100 },
    ky: { hooks: { beforeError: [hook('ky option')] } },
  });
  try {
    const child = client.extend({ hooks: { beforeError: [hook('extend')] } });
    const error = await child.get(`${upstream.url}/slow`).catch((e: unknown) => e);
    assert.ok(isTotalTimeoutError(error), `the call rejects with ${String(error)}`);
    assert.deepEqual(
      seen.map((s) => s.where),
      ['ky option', 'extend'],
    );
    for (const s of seen) assert.equal(s.error, error, `the ${s.where} hook saw ${String(s.error)}`);
  } finally {
    await client.close({ timeout: 0 }).catch(() => {});
  }
});

test('a hook list given as undefined under `ky` leaves the tiers’ hooks in place', async (t) => {
  const upstream = await startUpstream({ routes: { '/slow': { steps: [{ delayHeadersMs: 3_000 }] } } });
  t.after(() => upstream.close());
  const client = createClient({
    retry: false,
    timeout: { total: 100, attempt: 100 },
    // ky's types refuse `undefined` for a hook list under exactOptionalPropertyTypes; JavaScript callers pass it.
    ky: { hooks: { beforeError: undefined, afterResponse: [] } as never },
  });
  try {
    const error = await client.get(`${upstream.url}/slow`).catch((e: unknown) => e);
    assert.ok(isTotalTimeoutError(error), `the call rejects with ${String(error)}`);
  } finally {
    await client.close({ timeout: 0 }).catch(() => {});
  }
});
