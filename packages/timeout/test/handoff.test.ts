import assert from 'node:assert/strict';
import { test } from 'node:test';
import { startUpstream } from '@ky-resilience/testing';
import ky, { type Options } from 'ky';
import {
  type BodyConsumer,
  type BodyHandoff,
  type BodyWatcher,
  bodyHandoffKey,
  setHandoff,
} from '../src/body-handoff.ts';
import { isBodyIdleTimeoutError, timeoutPlugin } from '../src/index.ts';
import { closeAfter, recordingTimers, until } from './helpers.ts';

type FetchFunction = (input: Request | string | URL, init?: RequestInit) => Promise<Response>;

/** A consumer that records the watchers registered with it and the failures reported. */
function consumer(): BodyConsumer & {
  watched: { response: Response; watcher: BodyWatcher }[];
  failures: unknown[];
} {
  const watched: { response: Response; watcher: BodyWatcher }[] = [];
  const failures: unknown[] = [];
  return {
    watched,
    failures,
    watch(response, watcher) {
      watched.push({ response, watcher });
      return {
        fail(error) {
          failures.push(error);
        },
      };
    },
  };
}

/** An outer wrapper (applied after the plugin) that hands the body off to `taker`, addressed to `to(inner)`. */
function handingOff(taker: BodyConsumer, to: (inner: FetchFunction) => FetchFunction): Options {
  return {
    hooks: {
      init: [
        (options) => {
          const inner = options.fetch as FetchFunction;
          options.fetch = (input, init) => inner(input, setHandoff({ ...init }, taker, to(inner)));
        },
      ],
    },
  };
}

test('a hand-off addressed to the attempt: the response as is, the body timers as the watcher', async (t) => {
  const upstream = closeAfter(
    t,
    await startUpstream({ routes: { '/stall': { steps: [{ stallBody: true, bodyPrefix: '[' }] } } }),
  );
  const rec = recordingTimers();
  const taker = consumer();
  const seen: (RequestInit | undefined)[] = [];
  const api = ky
    .create({
      retry: 0,
      fetch: (input, init) => {
        seen.push(init);
        return globalThis.fetch(input, init);
      },
    })
    .extend(timeoutPlugin({ attempt: 10_000, bodyIdle: 60, timers: rec.timers }))
    .extend(handingOff(taker, (inner) => inner));
  const response = await api.get(`${upstream.url}/stall`);
  assert.equal(taker.watched.length, 1);
  assert.equal(taker.watched[0]?.response.body, response.body, 'no wrapper of its own');
  const forwarded = (seen[0] as Record<symbol, BodyHandoff>)[bodyHandoffKey];
  assert.equal(forwarded?.consumer, taker, 'the hand-off goes on to the fetch below');
  assert.ok(seen[0]?.signal instanceof AbortSignal, 'with the attempt’s signal');
  const watcher = taker.watched[0]!.watcher;
  assert.equal(rec.pending, 1, 'the attempt timer');
  watcher.readStart?.();
  assert.deepEqual(rec.asked, [10_000, 60]);
  await until(() => taker.failures.length === 1);
  assert.ok(isBodyIdleTimeoutError(taker.failures[0]), String(taker.failures[0]));
  assert.equal(rec.pending, 0, 'the idle timeout ended the attempt');
  await assert.rejects(
    response.text(),
    'the fetch was aborted (Node 22’s fetch errors the body with an AbortError)',
  );
});

test('the watcher’s end clears the attempt timer; reads clear their idle timer', async (t) => {
  const upstream = closeAfter(t, await startUpstream());
  const rec = recordingTimers();
  const taker = consumer();
  const api = ky
    .create({ retry: 0 })
    .extend(timeoutPlugin({ bodyIdle: 5_000, timers: rec.timers }))
    .extend(handingOff(taker, (inner) => inner));
  const response = await api.get(upstream.url);
  const watcher = taker.watched[0]!.watcher;
  watcher.readStart?.();
  assert.equal(rec.pending, 2);
  watcher.readEnd?.();
  assert.equal(rec.pending, 1);
  watcher.end();
  watcher.end();
  assert.equal(rec.pending, 0);
  assert.match(await response.text(), /"ok":true/);
  assert.equal(taker.failures.length, 0);
});

test('a hand-off addressed to another function is ignored: the attempt wraps the body itself', async (t) => {
  const upstream = closeAfter(t, await startUpstream());
  const rec = recordingTimers();
  const taker = consumer();
  const elsewhere: FetchFunction = (input, init) => globalThis.fetch(input, init);
  const seen: (RequestInit | undefined)[] = [];
  const api = ky
    .create({
      retry: 0,
      fetch: (input, init) => {
        seen.push(init);
        return globalThis.fetch(input, init);
      },
    })
    .extend(timeoutPlugin({ timers: rec.timers }))
    .extend(handingOff(taker, () => elsewhere));
  const response = await api.get(upstream.url);
  assert.equal(taker.watched.length, 0);
  assert.equal(
    (seen[0] as Record<symbol, BodyHandoff>)[bodyHandoffKey]?.to,
    elsewhere,
    'passed on as it came, never readdressed',
  );
  assert.equal(rec.pending, 1);
  assert.match(await response.text(), /"ok":true/);
  assert.equal(rec.pending, 0);
});
