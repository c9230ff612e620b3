import assert from 'node:assert/strict';
import { test } from 'node:test';
import { startUpstream } from '@ky-resilience/testing';
import fc from 'fast-check';
import ky from 'ky';
import {
  createHostLimiter,
  type FetchFunction,
  isQueueFullError,
  isQueueTimeoutError,
  type QueueFullError,
} from '../src/index.ts';
import { closeAfter, manualTime, rejection, tick, until } from './helpers.ts';

const stall = { routes: { '/stall': { steps: [{ stallBody: true, bodyPrefix: 'x' }] } } };
const context = '@ky-resilience/host-limiter';

test('maxQueueTotal bounds the waiters across keys; abort, queue timeout and a released slot each free a place', async (t) => {
  const a = closeAfter(t, await startUpstream(stall));
  const b = closeAfter(t, await startUpstream(stall));
  const time = manualTime();
  const limiter = createHostLimiter({
    concurrency: 1,
    maxQueue: 2,
    maxQueueTotal: 3,
    queueTimeout: false,
    clock: time.clock,
    timers: time.timers,
  });
  const api = ky.create({ retry: 0 }).extend(limiter.kyOptions);
  const holderA = await api.get(`${a.url}/stall`);
  const holderB = await api.get(`${b.url}/stall`);

  const a1 = api.get(`${a.url}/stall`);
  const abortA2 = new AbortController();
  const a2 = rejection(api.get(`${a.url}/a2`, { signal: abortA2.signal }));
  const b1 = api.get(`${b.url}/b1`).text();
  await until(() => limiter.globalStats().queued === 3);

  // B's queue has room (1 of 2) but the limiter's does not (3 of 3).
  const global = (await rejection(api.get(`${b.url}/b2`))) as QueueFullError;
  assert.ok(isQueueFullError(global));
  assert.equal(global.bound, 'global');
  assert.equal(global.key, b.origin);
  assert.equal(global.queued, 1);
  assert.equal(global.maxQueue, 2);
  assert.equal(global.queuedTotal, 3);
  assert.equal(global.maxQueueTotal, 3);
  assert.match(global.message, /Global queue full \(3 of 3 queued across every key\)/);
  assert.match(global.message, /never sent/);
  // A's own queue is full too: the key's bound is reported first.
  const perKey = (await rejection(api.get(`${a.url}/a3`))) as QueueFullError;
  assert.equal(perKey.bound, 'key');
  assert.match(perKey.message, /^Queue full for /);

  assert.equal(limiter.stats(b.origin)?.rejected, 1);
  assert.equal(limiter.stats(b.origin)?.rejectedQueueFull, 1);
  assert.equal(limiter.stats(b.origin)?.rejectedQueueFullGlobal, 1);
  assert.equal(limiter.stats(a.origin)?.rejectedQueueFull, 1);
  assert.equal(limiter.stats(a.origin)?.rejectedQueueFullGlobal, 0);
  assert.equal(limiter.globalStats().queued, 3, 'rejections do not count as queued');

  // A caller's abort frees a place.
  abortA2.abort(new Error('caller gave up'));
  assert.match(String(await a2), /caller gave up/);
  assert.equal(limiter.globalStats().queued, 2);
  // A queue timeout frees a place.
  const b3 = rejection(api.get(`${b.url}/b3`, { context: { [context]: { queueTimeout: 1_000 } } }));
  await until(() => limiter.globalStats().queued === 3);
  time.advance(1_000);
  assert.ok(isQueueTimeoutError(await b3));
  assert.equal(limiter.globalStats().queued, 2);
  const b4 = api.get(`${b.url}/b4`).text();
  await until(() => limiter.globalStats().queued === 3);
  // A released slot hands the place of the granted waiter back.
  await holderA.body?.cancel();
  const a1Response = await a1;
  assert.equal(limiter.globalStats().queued, 2);
  const a4 = api.get(`${a.url}/a4`).text();
  await until(() => limiter.globalStats().queued === 3);
  assert.equal(limiter.stats(b.origin)?.rejectedQueueFullGlobal, 1, 'no further rejection');

  await holderB.body?.cancel();
  await a1Response.body?.cancel();
  assert.deepEqual(await Promise.all([b1, b4, a4]), [
    '{"ok":true,"route":"/b1","n":0}',
    '{"ok":true,"route":"/b4","n":1}',
    '{"ok":true,"route":"/a4","n":0}',
  ]);
  assert.equal(a.counters().requests, 3, 'A: the holder, a1 and a4; nothing rejected or aborted was sent');
  assert.equal(b.counters().requests, 3, 'B: the holder, b1 and b4');
  assert.deepEqual(
    { active: limiter.globalStats().active, queued: limiter.globalStats().queued },
    { active: 0, queued: 0 },
  );
  assert.equal(time.pending, 0);
});

test('the default maxQueueTotal grows to maxQueue when maxQueue is larger', async () => {
  const limiter = createHostLimiter({ concurrency: 1, maxQueue: 20_000, queueTimeout: false });
  const pending: Array<(response: Response) => void> = [];
  const fetch = limiter.wrap(
    () =>
      new Promise<Response>((resolve) => {
        pending.push(resolve);
      }),
  );
  const calls = Array.from({ length: 20_001 }, (_, i) => fetch(`http://a.test/${i}`));
  const error = (await rejection(fetch('http://a.test/last'))) as QueueFullError;
  assert.equal(error.bound, 'key');
  assert.equal(error.queued, 20_000);
  assert.equal(error.maxQueueTotal, 20_000);
  assert.equal(limiter.globalStats().queued, 20_000);
  // Drain: each response releases its slot (no body) and grants the next waiter.
  while (pending.length > 0) {
    pending.shift()?.(new Response(null, { status: 204 }));
    await tick();
  }
  await Promise.all(calls);
  assert.deepEqual(
    { active: limiter.globalStats().active, queued: limiter.globalStats().queued },
    { active: 0, queued: 0 },
  );
});

type Op =
  | { op: 'call'; key: number; timeout: number | undefined }
  | { op: 'release'; pick: number }
  | { op: 'abort'; pick: number }
  | { op: 'advance'; ms: number };

const op: fc.Arbitrary<Op> = fc.oneof(
  {
    weight: 6,
    arbitrary: fc.record({
      op: fc.constant('call' as const),
      key: fc.integer({ min: 0, max: 3 }),
      timeout: fc.oneof(fc.constant(undefined), fc.integer({ min: 0, max: 40 })),
    }),
  },
  fc.record({ op: fc.constant('release' as const), pick: fc.nat() }),
  fc.record({ op: fc.constant('abort' as const), pick: fc.nat() }),
  fc.record({ op: fc.constant('advance' as const), ms: fc.integer({ min: 0, max: 30 }) }),
);

test('property: the global queued count is exact after every abort, queue timeout, grant and rejection', async () => {
  let runsHittingGlobal = 0;
  await fc.assert(
    fc.asyncProperty(
      fc.record({
        concurrency: fc.integer({ min: 1, max: 2 }),
        maxQueue: fc.integer({ min: 1, max: 3 }),
        extraTotal: fc.integer({ min: 0, max: 2 }),
      }),
      fc.array(op, { minLength: 1, maxLength: 50 }),
      async (settings, ops) => {
        const time = manualTime();
        const maxQueueTotal = settings.maxQueue + settings.extraTotal;
        const limiter = createHostLimiter({
          concurrency: settings.concurrency,
          globalConcurrency: settings.concurrency + 1,
          maxQueue: settings.maxQueue,
          maxQueueTotal,
          queueTimeout: 25,
          clock: time.clock,
          timers: time.timers,
        });
        type Call = {
          started: boolean;
          settled: boolean;
          error?: unknown;
          controller: AbortController;
          finish?: () => void;
        };
        const calls: Call[] = [];
        const keys = ['http://a.test', 'http://b.test', 'http://c.test', 'http://d.test'];
        let globalSeen = 0;
        const check = (): void => {
          const waiting = calls.filter((c) => !c.started && !c.settled).length;
          assert.equal(limiter.globalStats().queued, waiting);
          assert.equal(
            keys.reduce((sum, key) => sum + (limiter.stats(key)?.queued ?? 0), 0),
            waiting,
          );
          assert.ok(waiting <= maxQueueTotal);
          const global = calls.filter((c) => isQueueFullError(c.error) && c.error.bound === 'global');
          for (const c of global) {
            const error = c.error as QueueFullError;
            assert.equal(error.queuedTotal, maxQueueTotal);
            assert.ok(error.queued < settings.maxQueue);
          }
          assert.equal(
            keys.reduce((sum, key) => sum + (limiter.stats(key)?.rejectedQueueFullGlobal ?? 0), 0),
            global.length,
          );
          globalSeen = global.length;
        };
        for (const o of ops) {
          if (o.op === 'call') {
            const controller = new AbortController();
            const call: Call = { started: false, settled: false, controller };
            calls.push(call);
            const stub: FetchFunction = () =>
              new Promise<Response>((resolve) => {
                call.started = true;
                call.finish = () => resolve(new Response(null, { status: 204 }));
              });
            const fetch = limiter.wrap(
              stub,
              o.timeout === undefined ? undefined : { queueTimeout: o.timeout },
            );
            fetch(`${keys[o.key]}/${calls.length}`, { signal: controller.signal }).then(
              () => {
                call.settled = true;
              },
              (error: unknown) => {
                call.settled = true;
                call.error = error;
              },
            );
          } else if (o.op === 'release') {
            const running = calls.filter((c) => c.started && !c.settled);
            running[o.pick % Math.max(1, running.length)]?.finish?.();
          } else if (o.op === 'abort') {
            const live = calls.filter((c) => !c.started && !c.settled && !c.controller.signal.aborted);
            live[o.pick % Math.max(1, live.length)]?.controller.abort(new Error('gave up'));
          } else {
            time.advance(o.ms);
          }
          await tick();
          check();
        }
        for (let round = 0; round < 100 && calls.some((c) => !c.settled); round += 1) {
          for (const c of calls) if (c.started && !c.settled) c.finish?.();
          time.advance(30);
          await tick();
          check();
        }
        assert.ok(calls.every((c) => c.settled));
        assert.equal(limiter.globalStats().queued, 0);
        assert.equal(limiter.globalStats().active, 0);
        assert.equal(time.pending, 0);
        if (globalSeen > 0) runsHittingGlobal += 1;
      },
    ),
    { numRuns: 200 },
  );
  assert.ok(runsHittingGlobal > 0, `runs reaching the global bound: ${runsHittingGlobal}`);
});
