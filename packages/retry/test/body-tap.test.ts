import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { BodyWatcher } from '../src/body-handoff.ts';
import { BodyTap } from '../src/body-tap.ts';
import { bufferResponse, keptAsReceived } from '../src/buffer-body.ts';
import { rejection } from './helpers.ts';

const encoder = new TextEncoder();

/** A watcher that records what the tap told it, in order. */
function recorder(name: string, log: string[], settleUnread = false): BodyWatcher & { ends: unknown[] } {
  const ends: unknown[] = [];
  return {
    ends,
    readStart: () => log.push(`${name}:start`),
    readEnd: () => log.push(`${name}:end-read`),
    end: (error) => {
      ends.push(error);
      log.push(`${name}:end`);
    },
    settleUnread,
  };
}

/** A source body whose chunks are pushed by the test. */
function source(): {
  stream: ReadableStream<Uint8Array>;
  push(text: string): void;
  close(): void;
  error(reason: unknown): void;
  cancelled: unknown[];
} {
  let controller!: ReadableStreamDefaultController<Uint8Array>;
  const cancelled: unknown[] = [];
  const stream = new ReadableStream<Uint8Array>({
    start(c) {
      controller = c;
    },
    cancel(reason) {
      cancelled.push(reason);
    },
  });
  return {
    stream,
    push: (text) => controller.enqueue(encoder.encode(text)),
    close: () => controller.close(),
    error: (reason) => controller.error(reason),
    cancelled,
  };
}

function responseOf(body: ReadableStream<Uint8Array>, headers: Record<string, string> = {}): Response {
  return new Response(body, { status: 200, headers });
}

const tick = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

test('buffering through the tap: every watcher sees each read and one end, inner watcher first', async () => {
  const log: string[] = [];
  const src = source();
  const raw = responseOf(src.stream, { 'x-kept': 'yes' });
  const tap = new BodyTap();
  const inner = recorder('timeout', log);
  const outer = recorder('limiter', log, true);
  tap.watch(raw, inner);
  tap.watch(raw, outer);
  assert.equal(tap.holds(raw), true);
  src.push('hel');
  src.push('lo');
  src.close();
  const buffered = await bufferResponse(raw, 1_000, tap);
  assert.notEqual(buffered, raw);
  assert.equal(await buffered.text(), 'hello');
  assert.equal(buffered.headers.get('x-kept'), 'yes');
  assert.deepEqual(log, [
    'timeout:start',
    'limiter:start',
    'timeout:end-read',
    'limiter:end-read',
    'timeout:start',
    'limiter:start',
    'timeout:end-read',
    'limiter:end-read',
    'timeout:start',
    'limiter:start',
    'timeout:end-read',
    'limiter:end-read',
    'timeout:end',
    'limiter:end',
  ]);
  assert.deepEqual(inner.ends, [undefined]);
  assert.deepEqual(outer.ends, [undefined]);
});

test('a body that fails while buffered ends every watcher once with the error, which the attempt rejects with', async () => {
  const log: string[] = [];
  const src = source();
  const raw = responseOf(src.stream);
  const tap = new BodyTap();
  const watcher = recorder('limiter', log, true);
  tap.watch(raw, watcher);
  tap.holds(raw);
  src.push('partial');
  const reset = new TypeError('terminated');
  const pending = bufferResponse(raw, 1_000, tap);
  await tick();
  src.error(reset);
  assert.equal(await rejection(pending), reset);
  assert.deepEqual(watcher.ends, [reset]);
});

test('a watcher’s failure during a pending read rejects the buffering with it at once and cancels the body', async () => {
  const src = source();
  const raw = responseOf(src.stream);
  const tap = new BodyTap();
  const log: string[] = [];
  const limiter = recorder('limiter', log, true);
  const handle = tap.watch(raw, recorder('timeout', log));
  tap.watch(raw, limiter);
  tap.holds(raw);
  src.push('{"items":[');
  const pending = bufferResponse(raw, 1_000, tap);
  await tick();
  const idle = new Error('body idle');
  handle.fail(idle);
  handle.fail(new Error('a second failure changes nothing'));
  assert.equal(await rejection(pending), idle);
  assert.deepEqual(limiter.ends, [idle]);
  assert.deepEqual(src.cancelled, [idle]);
});

test('a body that is not buffered is wrapped once for every watcher: read, cancel, unread reset', async (t) => {
  await t.test('read to the end', async () => {
    const log: string[] = [];
    const src = source();
    const raw = responseOf(src.stream, { 'content-type': 'text/event-stream' });
    const tap = new BodyTap();
    const watcher = recorder('limiter', log, true);
    tap.watch(raw, watcher);
    tap.holds(raw);
    const exposed = await bufferResponse(raw, 1_000, tap);
    assert.notEqual(exposed, raw);
    assert.equal(exposed.headers.get('content-type'), 'text/event-stream');
    src.push('data: 1\n\n');
    src.close();
    assert.equal(await exposed.text(), 'data: 1\n\n');
    assert.deepEqual(watcher.ends, [undefined]);
  });

  await t.test('cancelled by the reader', async () => {
    const src = source();
    const raw = responseOf(src.stream);
    const tap = new BodyTap();
    const watcher = recorder('limiter', [], true);
    tap.watch(raw, watcher);
    tap.holds(raw);
    const exposed = tap.expose(raw);
    await exposed.body?.cancel('enough');
    await exposed.body?.cancel('again');
    await tick();
    assert.deepEqual(watcher.ends, [undefined]);
    assert.deepEqual(src.cancelled, ['enough']);
  });

  await t.test('reset while nobody reads: watchers that ask for it end at once', async () => {
    const src = source();
    const raw = responseOf(src.stream);
    const tap = new BodyTap();
    const limiter = recorder('limiter', [], true);
    const timeout = recorder('timeout', []);
    tap.watch(raw, timeout);
    tap.watch(raw, limiter);
    tap.holds(raw);
    const exposed = tap.expose(raw);
    const reset = new TypeError('terminated');
    src.error(reset);
    await tick();
    assert.deepEqual(limiter.ends, [reset]);
    assert.deepEqual(timeout.ends, [], 'the others end when the body is read');
    assert.equal(await rejection(exposed.text()), reset);
    assert.deepEqual(timeout.ends, [reset]);
  });

  await t.test('a watcher’s failure errors the stream for its reader', async () => {
    const src = source();
    const raw = responseOf(src.stream);
    const tap = new BodyTap();
    const limiter = recorder('limiter', [], true);
    const handle = tap.watch(raw, recorder('timeout', []));
    tap.watch(raw, limiter);
    tap.holds(raw);
    const exposed = tap.expose(raw);
    const text = exposed.text();
    await tick();
    const idle = new Error('body idle');
    handle.fail(idle);
    assert.equal(await rejection(text), idle);
    assert.deepEqual(limiter.ends, [idle]);
  });
});

test('a chunked body over maxBufferSize goes on as a stream through the watchers', async () => {
  const log: string[] = [];
  const src = source();
  const raw = responseOf(src.stream);
  const tap = new BodyTap();
  const watcher = recorder('limiter', log, true);
  tap.watch(raw, watcher);
  tap.holds(raw);
  src.push('abcd');
  src.push('efgh');
  const pending = bufferResponse(raw, 6, tap);
  const response = await pending;
  assert.deepEqual(watcher.ends, [], 'the body is not over yet');
  src.push('ij');
  src.close();
  assert.equal(await response.text(), 'abcdefghij');
  assert.deepEqual(watcher.ends, [undefined]);
});

test('watchers of another response are ended, and the response is left as it is', () => {
  const tap = new BodyTap();
  const other = responseOf(source().stream);
  const raw = responseOf(source().stream);
  const watcher = recorder('limiter', [], true);
  tap.watch(other, watcher);
  assert.equal(tap.holds(raw), false);
  assert.deepEqual(watcher.ends, [undefined]);
  const empty = new BodyTap();
  assert.equal(empty.holds(raw), false);
});

test('an attempt that fails after a watcher registered ends it and cancels the body', () => {
  const src = source();
  const raw = responseOf(src.stream);
  const tap = new BodyTap();
  const watcher = recorder('limiter', [], true);
  tap.watch(raw, watcher);
  const boom = new Error('boom');
  tap.abandon(boom);
  tap.abandon(boom);
  assert.deepEqual(watcher.ends, [boom]);
});

/** `response` with the agent's body-received protocol answering `length`. */
function receivedAs(response: Response, length: () => number | undefined): Response {
  Object.defineProperty(response, Symbol.for('@ky-resilience/body-received@1'), { value: length });
  return response;
}

test('a body received in full is kept as it is: no read, every watcher ends once', async () => {
  const log: string[] = [];
  const src = source();
  src.push('hello');
  src.close();
  const raw = receivedAs(responseOf(src.stream, { 'x-kept': 'yes' }), () => 5);
  const tap = new BodyTap();
  const inner = recorder('timeout', log);
  const outer = recorder('limiter', log, true);
  tap.watch(raw, inner);
  tap.watch(raw, outer);
  assert.equal(tap.holds(raw), true);
  const buffered = await bufferResponse(raw, 1_000, tap);
  assert.equal(buffered, raw);
  assert.equal(raw.bodyUsed, false);
  assert.deepEqual(log, ['timeout:end', 'limiter:end']);
  assert.deepEqual(inner.ends, [undefined]);
  assert.deepEqual(outer.ends, [undefined]);
  assert.equal(await buffered.text(), 'hello');
  assert.deepEqual(log, ['timeout:end', 'limiter:end']);

  // Without a tap (no tier below): the same response.
  const alone = receivedAs(responseOf(new Response('hi').body!), () => 2);
  assert.equal(await bufferResponse(alone, 1_000), alone);

  // A stream by nature that is over already is in memory too.
  const events = receivedAs(
    responseOf(new Response('data: 1\n\n').body!, { 'content-type': 'text/event-stream' }),
    () => 9,
  );
  const eventTap = new BodyTap();
  const eventLog: string[] = [];
  eventTap.watch(events, recorder('timeout', eventLog));
  assert.equal(eventTap.holds(events), true);
  assert.equal(await bufferResponse(events, 1_000, eventTap), events);
  assert.deepEqual(eventLog, ['timeout:end']);
  assert.equal(await events.text(), 'data: 1\n\n');
});

test('a body not received in full, over maxBufferSize or already read is buffered or exposed as before', async () => {
  // Not in full yet: read through the tap and rebuilt.
  const src = source();
  src.push('hello');
  src.close();
  const pending = receivedAs(responseOf(src.stream), () => undefined);
  const log: string[] = [];
  const tap = new BodyTap();
  tap.watch(pending, recorder('timeout', log));
  assert.equal(tap.holds(pending), true);
  const buffered = await bufferResponse(pending, 1_000, tap);
  assert.notEqual(buffered, pending);
  assert.equal(await buffered.text(), 'hello');
  assert.equal(log.at(-1), 'timeout:end');
  assert.ok(log.includes('timeout:start'));

  // In full but over maxBufferSize: read, then streamed on past the limit.
  const big = source();
  big.push('0123456789');
  big.close();
  const large = receivedAs(responseOf(big.stream), () => 10);
  const streamed = await bufferResponse(large, 4);
  assert.notEqual(streamed, large);
  assert.equal(await streamed.text(), '0123456789');

  // A body already read from: the protocol is not asked.
  let asked = false;
  const used = receivedAs(new Response('abc'), () => {
    asked = true;
    return 3;
  });
  await used.text();
  assert.equal(await bufferResponse(used, 1_000), used);
  assert.equal(asked, false);
});

test('keptAsReceived: true only for an unread body received in full within maxBufferSize; ends the watchers then', () => {
  const log: string[] = [];
  const make = (length: number | undefined, status = 200): Response =>
    receivedAs(new Response(status === 204 ? null : 'abc', { status }), () => length);
  const pending = make(undefined);
  const tap = new BodyTap();
  tap.watch(pending, recorder('timeout', log));
  assert.equal(tap.holds(pending), true);
  assert.equal(keptAsReceived(pending, 1_000, tap), false);
  assert.equal(keptAsReceived(make(3), 2), false);
  assert.equal(keptAsReceived(make(0, 204), 1_000), false);
  const locked = make(3);
  locked.body!.getReader();
  assert.equal(keptAsReceived(locked, 1_000), false);
  assert.deepEqual(log, []);

  const whole = make(3);
  const wholeTap = new BodyTap();
  wholeTap.watch(whole, recorder('limiter', log, true));
  assert.equal(wholeTap.holds(whole), true);
  assert.equal(keptAsReceived(whole, 3, wholeTap), true);
  assert.deepEqual(log, ['limiter:end']);
  assert.equal(whole.bodyUsed, false);
});
