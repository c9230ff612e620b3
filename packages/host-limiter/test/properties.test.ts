import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { createHostLimiter, type FetchFunction, isQueueFullError } from '../src/index.ts';
import { manualTime } from './helpers.ts';

/** One call of the stubbed fetch (one request that got a slot). */
type Started = {
  key: string;
  input: Request;
  state: 'pending' | 'open' | 'closed';
  resolve(response: Response): void;
  reject(error: unknown): void;
  body?: ReadableStreamDefaultController<Uint8Array>;
};

/** One call through the limiter. */
type Call = {
  input: Request;
  controller: AbortController;
  settled: boolean;
  response?: Response;
  error?: unknown;
};

type Command =
  | { op: 'call'; key: number; timeout: number | false | undefined }
  | { op: 'settle'; pick: number; how: 'empty' | 'body' | 'reject' }
  | { op: 'body'; pick: number; how: 'finish' | 'error' | 'cancel' }
  | { op: 'abort'; pick: number }
  | { op: 'advance'; ms: number };

// Calls weigh three times the rest, so that queues fill up to both bounds (per key and global).
const command: fc.Arbitrary<Command> = fc.oneof(
  {
    weight: 3,
    arbitrary: fc.record({
      op: fc.constant('call' as const),
      key: fc.integer({ min: 0, max: 2 }),
      timeout: fc.oneof(fc.constant(undefined), fc.constant(false as const), fc.integer({ min: 0, max: 80 })),
    }),
  },
  fc.record({
    op: fc.constant('settle' as const),
    pick: fc.nat(),
    how: fc.constantFrom('empty' as const, 'body' as const, 'reject' as const),
  }),
  fc.record({
    op: fc.constant('body' as const),
    pick: fc.nat(),
    how: fc.constantFrom('finish' as const, 'error' as const, 'cancel' as const),
  }),
  fc.record({ op: fc.constant('abort' as const), pick: fc.nat() }),
  fc.record({ op: fc.constant('advance' as const), ms: fc.integer({ min: 0, max: 60 }) }),
);

async function settleDown(): Promise<void> {
  for (let i = 0; i < 4; i += 1) await new Promise((resolve) => setImmediate(resolve));
}

const keys = ['http://a.test', 'http://b.test', 'http://c.test'];

test('property: slots are held exactly while a request is in flight or its body open, the queued counts are exact, limits hold, everything drains', async () => {
  await fc.assert(
    fc.asyncProperty(
      fc.record({
        concurrency: fc.integer({ min: 1, max: 3 }),
        extraGlobal: fc.integer({ min: 0, max: 3 }),
        maxQueue: fc.integer({ min: 0, max: 4 }),
        extraQueueTotal: fc.integer({ min: 0, max: 4 }),
        rate: fc.oneof(fc.constant(false as const), fc.constantFrom(10, 50)),
        pause: fc.boolean(),
      }),
      fc.array(command, { minLength: 1, maxLength: 40 }),
      async (settings, commands) => {
        const time = manualTime();
        const globalConcurrency = settings.concurrency + settings.extraGlobal;
        const maxQueueTotal = settings.maxQueue + settings.extraQueueTotal;
        const limiter = createHostLimiter({
          concurrency: settings.concurrency,
          globalConcurrency,
          maxQueue: settings.maxQueue,
          maxQueueTotal,
          queueTimeout: 50,
          rate: settings.rate,
          clock: time.clock,
          timers: time.timers,
        });
        const started: Started[] = [];
        const calls: Call[] = [];
        const stub: FetchFunction = (input, init) =>
          new Promise<Response>((resolve, reject) => {
            const request = input as Request;
            const entry: Started = {
              key: new URL(request.url).origin,
              input: request,
              state: 'pending',
              resolve,
              reject,
            };
            const signal = init?.signal ?? request.signal;
            signal.addEventListener(
              'abort',
              () => {
                if (entry.state === 'pending') reject(signal.reason);
                else if (entry.state === 'open') entry.body?.error(signal.reason);
                entry.state = 'closed';
              },
              { once: true },
            );
            started.push(entry);
          });
        const fetch = limiter.wrap(stub);
        if (settings.pause) limiter.pause(keys[0]!, time.clock() + 30);

        const check = (): void => {
          let total = 0;
          for (const key of keys) {
            const held = started.filter((s) => s.key === key && s.state !== 'closed').length;
            const stats = limiter.stats(key);
            assert.equal(stats?.active ?? 0, held, `active of ${key}`);
            assert.ok(held <= settings.concurrency, `per-key cap of ${key}`);
            assert.ok((stats?.queued ?? 0) <= settings.maxQueue, `queue bound of ${key}`);
            total += held;
          }
          assert.equal(limiter.globalStats().active, total);
          assert.ok(total <= globalConcurrency, 'global cap');
          // Waiting: calls neither settled nor handed to fetch. Aborts, queue timeouts and grants all
          // leave the global count equal to that and to the sum of the keys' queues.
          const waiting = calls.filter((x) => !x.settled && !started.some((s) => s.input === x.input)).length;
          const queuedByKey = keys.reduce((sum, key) => sum + (limiter.stats(key)?.queued ?? 0), 0);
          assert.equal(limiter.globalStats().queued, waiting, 'global queued count');
          assert.equal(queuedByKey, waiting, 'sum of the keys’ queued counts');
          assert.ok(waiting <= maxQueueTotal, 'global queue bound');
          const globalFull = calls.filter((x) => isQueueFullError(x.error) && x.error.bound === 'global');
          for (const x of globalFull) {
            assert.ok(isQueueFullError(x.error));
            assert.equal(
              x.error.queuedTotal,
              maxQueueTotal,
              'rejected by the global bound only when it is reached',
            );
            assert.ok(
              x.error.queued < settings.maxQueue,
              'a global rejection leaves room in the key’s queue',
            );
          }
          assert.equal(
            keys.reduce((sum, key) => sum + (limiter.stats(key)?.rejectedQueueFullGlobal ?? 0), 0),
            globalFull.length,
          );
        };

        const run = async (c: Command): Promise<void> => {
          if (c.op === 'call') {
            const controller = new AbortController();
            const input = new Request(`${keys[c.key]}/${calls.length}`, { signal: controller.signal });
            const call: Call = { input, controller, settled: false };
            calls.push(call);
            const wrapped = c.timeout === undefined ? fetch : limiter.wrap(stub, { queueTimeout: c.timeout });
            wrapped(input).then(
              (response) => {
                call.settled = true;
                call.response = response;
              },
              (error: unknown) => {
                call.settled = true;
                call.error = error;
              },
            );
          } else if (c.op === 'settle') {
            const pending = started.filter((s) => s.state === 'pending');
            const target = pending[c.pick % Math.max(1, pending.length)];
            if (target === undefined) return;
            if (c.how === 'reject') {
              target.state = 'closed';
              target.reject(new TypeError('fetch failed'));
            } else if (c.how === 'empty') {
              target.state = 'closed';
              target.resolve(new Response(null, { status: 204 }));
            } else {
              target.state = 'open';
              const body = new ReadableStream<Uint8Array>({
                start(controller) {
                  target.body = controller;
                },
                cancel() {
                  target.state = 'closed';
                },
              });
              target.resolve(new Response(body, { status: 200 }));
            }
          } else if (c.op === 'body') {
            const open = started.filter((s) => s.state === 'open');
            const target = open[c.pick % Math.max(1, open.length)];
            if (target === undefined) return;
            if (c.how === 'finish') {
              // The caller reads the body to its end. (A body received in full but left unread keeps its
              // chunks queued, and its slot, until read or cancelled.)
              const call = calls.find((x) => x.input === target.input);
              target.state = 'closed';
              if (call?.response?.body != null) {
                target.body?.enqueue(new Uint8Array([1]));
                target.body?.close();
                assert.equal((await call.response.arrayBuffer()).byteLength, 1);
              } else {
                target.body?.close();
              }
            } else if (c.how === 'error') {
              target.state = 'closed';
              target.body?.error(new TypeError('terminated'));
            } else {
              const call = calls.find((x) => x.input === target.input);
              if (call?.response?.body != null) {
                await call.response.body.cancel();
              } else {
                target.state = 'closed';
                target.body?.close();
              }
            }
          } else if (c.op === 'abort') {
            const live = calls.filter((x) => !x.controller.signal.aborted);
            live[c.pick % Math.max(1, live.length)]?.controller.abort(new Error('caller gave up'));
          } else {
            time.advance(c.ms);
          }
        };

        for (const c of commands) {
          await run(c);
          await settleDown();
          check();
        }
        // Drain: finish everything, let timeouts and pauses run out.
        for (let round = 0; round < 200; round += 1) {
          for (const s of started) {
            if (s.state === 'pending') {
              s.state = 'closed';
              s.resolve(new Response(null, { status: 204 }));
            } else if (s.state === 'open') {
              s.state = 'closed';
              s.body?.close();
            }
          }
          time.advance(100);
          await settleDown();
          check();
          if (started.every((s) => s.state === 'closed') && calls.every((x) => x.settled)) break;
        }
        // Bodies handed to callers and never read must have been released when their source closed.
        assert.ok(
          calls.every((x) => x.settled),
          'every call settled',
        );
        assert.deepEqual(
          { active: limiter.globalStats().active, queued: limiter.globalStats().queued },
          { active: 0, queued: 0 },
        );
        assert.equal(limiter.globalStats().evictedBusy, 0);
        assert.equal(time.pending, 0, 'no timer left behind');
      },
    ),
    { numRuns: 150 },
  );
});
