import assert from 'node:assert/strict';
import { test } from 'node:test';
import { blackholeServer } from '@ky-resilience/testing';
import ky from 'ky';
import { isResilienceTimeoutError, timeoutPlugin } from '../src/index.ts';
import { closeAfter, rejection } from './helpers.ts';

// A caller's abort is never a timeout of the tiers: the call rejects with the caller's own reason. The
// most common caller deadline is `AbortSignal.timeout(ms)`, whose reason is a DOMException named
// 'TimeoutError', the name ky's own guard matches: only ky's TimeoutError becomes a TotalTimeoutError.
test('a caller’s AbortSignal.timeout() rejects with the caller’s own reason, not a TotalTimeoutError', async (t) => {
  const hole = closeAfter(t, await blackholeServer());
  const api = ky.create({ retry: 0 }).extend(timeoutPlugin({ total: 30_000, attempt: 20_000 }));
  const signal = AbortSignal.timeout(100);
  const error = await rejection(api.get(`${hole.url}/x`, { signal }));
  assert.ok(!isResilienceTimeoutError(error), `got ${(error as Error).name}: ${(error as Error).message}`);
  assert.equal(error, signal.reason);
});

test('the same with a reason the caller built: DOMException("...", "TimeoutError")', async (t) => {
  const hole = closeAfter(t, await blackholeServer());
  const api = ky.create({ retry: 0 }).extend(timeoutPlugin({ total: 30_000, attempt: 20_000 }));
  const controller = new AbortController();
  const reason = new DOMException('the caller’s own deadline', 'TimeoutError');
  setTimeout(() => controller.abort(reason), 50).unref();
  const error = await rejection(api.get(`${hole.url}/y`, { signal: controller.signal }));
  assert.equal(error, reason, `got ${(error as Error).name}: ${(error as Error).message}`);
});
