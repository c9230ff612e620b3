import assert from 'node:assert/strict';
import { test } from 'node:test';
import { blackholeServer } from '@ky-resilience/testing';
import ky, { type Options } from 'ky';
import { isTotalTimeoutError, timeoutPlugin } from '../src/index.ts';
import { closeAfter, rejection } from './helpers.ts';

/** A fetch wrapper outside the tiers' (an init hook that runs after theirs): what each attempt rejects with. */
function observer(): { options: Options; errors: unknown[] } {
  const errors: unknown[] = [];
  const options: Options = {
    hooks: {
      init: [
        (callOptions) => {
          const inner = callOptions.fetch as NonNullable<Options['fetch']>;
          callOptions.fetch = (input, init) =>
            inner(input, init).catch((error: unknown) => {
              errors.push(error);
              throw error;
            });
        },
      ],
    },
  };
  return { options, errors };
}

test('an attempt cut by the total timeout fails with the TotalTimeoutError, not a bare AbortError', async (t) => {
  const hole = closeAfter(t, await blackholeServer());
  const seen = observer();
  const api = ky
    .create({ retry: 0 })
    .extend(timeoutPlugin({ total: 150, attempt: false }))
    .extend(seen.options);
  const error = await rejection(api.get(`${hole.url}/a`));
  assert.ok(isTotalTimeoutError(error));
  while (seen.errors.length === 0) await new Promise((resolve) => setTimeout(resolve, 5));
  const attempt = seen.errors[0];
  assert.ok(isTotalTimeoutError(attempt), `the attempt failed with ${(attempt as Error).name}`);
  assert.equal(attempt.limit, 150);
  assert.equal(attempt.attempt, 1);
});

test("a caller's abort before the total still fails the attempt with the caller's reason", async (t) => {
  const hole = closeAfter(t, await blackholeServer());
  const seen = observer();
  const api = ky
    .create({ retry: 0 })
    .extend(timeoutPlugin({ total: 10_000, attempt: false }))
    .extend(seen.options);
  const controller = new AbortController();
  const call = rejection(api.get(`${hole.url}/b`, { signal: controller.signal }));
  while (hole.connections === 0) await new Promise((resolve) => setTimeout(resolve, 5));
  const reason = new Error('caller gave up');
  controller.abort(reason);
  assert.equal(await call, reason);
  while (seen.errors.length === 0) await new Promise((resolve) => setTimeout(resolve, 5));
  assert.equal(seen.errors[0], reason);
});
