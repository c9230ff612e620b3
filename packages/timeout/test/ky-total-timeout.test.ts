import assert from 'node:assert/strict';
import { test } from 'node:test';
import { blackholeServer } from '@ky-resilience/testing';
import ky from 'ky';
import { isTimeoutOptionsError, TotalTimeoutError, timeoutPlugin } from '../src/index.ts';
import { closeAfter, rejection } from './helpers.ts';

// ky's own `totalTimeout`, given for a call, is the caller's deadline: it lowers the plugin's
// `total` (it used to be overwritten by the plugin's `total`, and the call ran on for 30 s).
// The blackhole never answers; `attempt: 2_000` ends a call that ignored the deadline early.

function expectTotal(error: unknown, limit: number): void {
  assert.ok(error instanceof TotalTimeoutError, `got ${(error as Error).name}: ${(error as Error).message}`);
  assert.equal(error.phase, 'total');
  assert.equal(error.limit, limit);
}

test('a per-request totalTimeout lowers the total', async (t) => {
  const hole = closeAfter(t, await blackholeServer());
  const api = ky.create({ retry: 0 }).extend(timeoutPlugin({ total: 30_000, attempt: 2_000 }));
  expectTotal(await rejection(api.get(`${hole.url}/a`, { totalTimeout: 100 })), 100);
});

test('a totalTimeout of an instance extended after the plugin lowers the total', async (t) => {
  const hole = closeAfter(t, await blackholeServer());
  const api = ky
    .create({ retry: 0 })
    .extend(timeoutPlugin({ total: 30_000, attempt: 2_000 }))
    .extend({ totalTimeout: 100 });
  expectTotal(await rejection(api.get(`${hole.url}/b`)), 100);
});

test('with total off, a per-request totalTimeout still bounds the call', async (t) => {
  const hole = closeAfter(t, await blackholeServer());
  const api = ky.create({ retry: 0 }).extend(timeoutPlugin({ total: false, attempt: 2_000 }));
  expectTotal(await rejection(api.get(`${hole.url}/c`, { totalTimeout: 100 })), 100);
});

test('a larger totalTimeout does not raise the total; the context does', async (t) => {
  const hole = closeAfter(t, await blackholeServer());
  const api = ky.create({ retry: 0 }).extend(timeoutPlugin({ total: 100, attempt: false }));
  expectTotal(await rejection(api.get(`${hole.url}/d`, { totalTimeout: 20_000 })), 100);
  const raised = await rejection(
    api.get(`${hole.url}/e`, {
      totalTimeout: 150,
      context: { '@ky-resilience/timeout': { total: 20_000, attempt: 2_000 } },
    }),
  );
  expectTotal(raised, 150);
});

test('the lowered total survives a later plugin that copies the context', async (t) => {
  const hole = closeAfter(t, await blackholeServer());
  const api = ky
    .create({ retry: 0 })
    .extend(timeoutPlugin({ total: 30_000, attempt: 2_000 }))
    .extend({
      hooks: {
        init: [
          (options) => {
            options.context = { ...options.context, later: true };
          },
        ],
      },
    });
  expectTotal(await rejection(api.get(`${hole.url}/f`, { totalTimeout: 100 })), 100);
});

test('a bad totalTimeout throws a TimeoutOptionsError from the ky call, nothing is sent', async (t) => {
  const hole = closeAfter(t, await blackholeServer());
  const api = ky.create({ retry: 0 }).extend(timeoutPlugin());
  for (const value of [-1, Number.NaN, Number.POSITIVE_INFINITY, 2 ** 31, '100']) {
    const error = await rejection(
      (async () => api.get(`${hole.url}/g`, { totalTimeout: value as number }))(),
    );
    assert.ok(isTimeoutOptionsError(error), `${String(value)}: got ${(error as Error).message}`);
    assert.equal(error.option, 'totalTimeout');
    assert.ok(Object.is(error.value, value));
  }
  assert.equal(hole.connections, 0);
});
