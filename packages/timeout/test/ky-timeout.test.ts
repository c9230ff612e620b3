import assert from 'node:assert/strict';
import { test } from 'node:test';
import { blackholeServer } from '@ky-resilience/testing';
import ky from 'ky';
import { AttemptTimeoutError, isTimeoutOptionsError, timeoutPlugin } from '../src/index.ts';
import { closeAfter, rejection } from './helpers.ts';

// ky's own per-attempt `timeout`, given for a call, is the caller's bound on each attempt: it lowers
// the plugin's `attempt` (ky's timer stays off). The blackhole never answers; `total` ends a call
// that ignored the bound.

function expectAttempt(error: unknown, limit: number): void {
  assert.ok(
    error instanceof AttemptTimeoutError,
    `got ${(error as Error).name}: ${(error as Error).message}`,
  );
  assert.equal(error.phase, 'attempt');
  assert.equal(error.limit, limit);
}

test('a per-request timeout lowers the attempt limit', async (t) => {
  const hole = closeAfter(t, await blackholeServer());
  const api = ky.create({ retry: 0 }).extend(timeoutPlugin({ total: 5_000, attempt: 4_000 }));
  expectAttempt(await rejection(api.get(`${hole.url}/a`, { timeout: 100 })), 100);
});

test('a timeout of an instance extended after the plugin lowers the attempt limit', async (t) => {
  const hole = closeAfter(t, await blackholeServer());
  const api = ky
    .create({ retry: 0 })
    .extend(timeoutPlugin({ total: 5_000, attempt: 4_000 }))
    .extend({ timeout: 100 });
  expectAttempt(await rejection(api.get(`${hole.url}/b`)), 100);
});

test('with attempt off, a per-request timeout still bounds each attempt', async (t) => {
  const hole = closeAfter(t, await blackholeServer());
  const api = ky.create({ retry: 0 }).extend(timeoutPlugin({ total: 5_000, attempt: false }));
  expectAttempt(await rejection(api.get(`${hole.url}/c`, { timeout: 100 })), 100);
});

test('a larger timeout does not raise the attempt limit; false leaves it as it is', async (t) => {
  const hole = closeAfter(t, await blackholeServer());
  const api = ky.create({ retry: 0 }).extend(timeoutPlugin({ total: 5_000, attempt: 100 }));
  expectAttempt(await rejection(api.get(`${hole.url}/d`, { timeout: 4_000 })), 100);
  expectAttempt(await rejection(api.get(`${hole.url}/e`, { timeout: false })), 100);
});

test('a bad timeout throws a TimeoutOptionsError from the ky call, nothing is sent', async (t) => {
  const hole = closeAfter(t, await blackholeServer());
  const api = ky.create({ retry: 0 }).extend(timeoutPlugin());
  for (const value of [-1, Number.NaN, Number.POSITIVE_INFINITY, 2 ** 31, '100']) {
    const error = await rejection((async () => api.get(`${hole.url}/g`, { timeout: value as number }))());
    assert.ok(isTimeoutOptionsError(error), `${String(value)}: got ${(error as Error).message}`);
    assert.equal(error.option, 'timeout');
    assert.ok(Object.is(error.value, value));
  }
  assert.equal(hole.connections, 0);
});
