import assert from 'node:assert/strict';
import { test } from 'node:test';
import { blackholeServer } from '@ky-resilience/testing';
import { timeoutPlugin } from '@ky-resilience/timeout';
import ky from 'ky';
import { getRetryDecision, retryPlugin } from '../src/index.ts';
import { rejection } from './helpers.ts';

// A caller's abort is never retried and its reason propagates unchanged, also when it is a caller's
// deadline: AbortSignal.timeout()'s reason is a DOMException named 'TimeoutError', as ky's is.
test('in the README stack, a caller’s AbortSignal.timeout() reason propagates unchanged', async () => {
  const hole = await blackholeServer();
  try {
    const api = ky
      .extend(timeoutPlugin({ total: 30_000, attempt: 20_000 }))
      .extend(retryPlugin({ budget: false }));
    const signal = AbortSignal.timeout(100);
    const error = await rejection(api.get(`${hole.url}/z`, { signal }));
    assert.equal(getRetryDecision(error)?.reason, 'aborted');
    assert.equal(error, signal.reason, `got ${(error as Error).name}: ${(error as Error).message}`);
  } finally {
    await hole.close();
  }
});
