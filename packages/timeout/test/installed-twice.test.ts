import assert from 'node:assert/strict';
import { test } from 'node:test';
import { startUpstream } from '@ky-resilience/testing';
import ky from 'ky';
import { timeoutPlugin } from '../src/index.ts';
import { closeAfter, recordingTimers } from './helpers.ts';

test('the same fragment installed twice on a ky chain wraps each attempt once', async (t) => {
  const upstream = closeAfter(t, await startUpstream({ routes: { '/ok': { steps: [{ body: 'ok' }] } } }));
  const rec = recordingTimers();
  const fragment = timeoutPlugin({ attempt: 4_000, headers: 3_000, timers: rec.timers });
  const base = ky.create({ retry: 0 }).extend(fragment);
  const child = base.extend(fragment);
  assert.equal(await child.get(`${upstream.url}/ok`).text(), 'ok');
  const count = (ms: number): number => rec.asked.filter((asked) => asked === ms).length;
  assert.deepEqual([count(3_000), count(4_000)], [1, 1], 'one headers timer and one attempt timer');
  // Two instances of the plugin are two plugins: each wraps the attempt.
  const other = ky
    .create({ retry: 0 })
    .extend(fragment)
    .extend(timeoutPlugin({ attempt: 4_000, timers: rec.timers }));
  rec.asked.length = 0;
  assert.equal(await other.get(`${upstream.url}/ok`).text(), 'ok');
  assert.deepEqual([count(3_000), count(4_000)], [1, 2]);
});
