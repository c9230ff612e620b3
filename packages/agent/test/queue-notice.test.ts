import assert from 'node:assert/strict';
import { test } from 'node:test';
import { hangingListener, startUpstream } from '@ky-resilience/testing';
import { createAgent } from '../src/index.ts';

const noticeKey = Symbol.for('@ky-resilience/queue-notice@1');
const turn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/** A notice that records what it is told, by request name. */
function recorder(log: string[], name: string): { queued(): void; dequeued(): void } {
  return {
    queued: () => log.push(`${name} queued`),
    dequeued: () => log.push(`${name} dequeued`),
  };
}

/** An upstream whose `/hold` answers a head and never ends its body (the first request keeps the origin's only
 * slot), and `/ok`; an agent with one connection per host. */
async function heldUpstream(t: { after: (fn: () => unknown) => void }) {
  const upstream = await startUpstream({
    routes: { '/hold': { steps: [{ stallBody: true, bodyPrefix: 'x' }] }, '/ok': {} },
  });
  const agent = createAgent({ limitPerHost: 1 });
  t.after(async () => {
    await agent.destroy();
    await upstream.close();
  });
  return { upstream, agent };
}

test('a request that waits in the agent queue is told queued, then dequeued when it leaves for the network', async (t) => {
  const { upstream, agent } = await heldUpstream(t);
  const log: string[] = [];
  const holder = new AbortController();
  const first = await agent.fetch(`${upstream.url}/hold`, {
    signal: holder.signal,
    [noticeKey]: recorder(log, 'first'),
  } as RequestInit);
  assert.equal(first.status, 200);
  const second = agent.fetch(`${upstream.url}/ok`, { [noticeKey]: recorder(log, 'second') } as RequestInit);
  const third = new AbortController();
  const aborted = agent.fetch(`${upstream.url}/ok`, {
    signal: third.signal,
    [noticeKey]: recorder(log, 'third'),
  } as RequestInit);
  await turn();
  assert.deepEqual(log, ['second queued', 'third queued']);
  assert.equal(upstream.counters('/ok').requests, 0);
  // Aborted while it waits: it never leaves the queue for the network.
  third.abort(new Error('caller'));
  await assert.rejects(aborted, /caller/);
  holder.abort();
  await first.text().catch(() => undefined);
  const response = await second;
  assert.equal(response.status, 200);
  await response.text();
  assert.deepEqual(log, ['second queued', 'third queued', 'second dequeued']);
  assert.equal(upstream.counters('/ok').requests, 1);
});

test('a notice that throws does not disturb the request, and other values under the key are ignored', async (t) => {
  const { upstream, agent } = await heldUpstream(t);
  const holder = new AbortController();
  const first = await agent.fetch(`${upstream.url}/hold`, {
    signal: holder.signal,
    [noticeKey]: 'not a notice',
  } as RequestInit);
  const told: string[] = [];
  const second = agent.fetch(`${upstream.url}/ok`, {
    [noticeKey]: {
      queued: () => {
        told.push('queued');
        throw new Error('notice broke');
      },
      dequeued: () => {
        told.push('dequeued');
        throw new Error('notice broke');
      },
    },
  } as RequestInit);
  await turn();
  holder.abort();
  await first.text().catch(() => undefined);
  const response = await second;
  assert.equal(response.status, 200);
  await response.text();
  assert.deepEqual(told, ['queued', 'dequeued']);
  // The slot came back: the next request goes straight through.
  const next = await agent.fetch(`${upstream.url}/ok`);
  assert.equal(next.status, 200);
  await next.text();
  assert.equal(upstream.counters('/ok').requests, 2);
});

/** A notice that records every call, optional ones included. */
function fullRecorder(log: string[]) {
  return {
    queued: () => log.push('queued'),
    dequeued: () => log.push('dequeued'),
    accepted: () => log.push('accepted'),
    sending: () => log.push('sending'),
  };
}

test('a notice with accepted() and sending() hears when the agent takes the request and when it is written', async (t) => {
  const upstream = await startUpstream({
    routes: { '/ok': {}, '/moved': { steps: [{ status: 302, headers: { location: '/ok' } }] } },
  });
  const agent = createAgent();
  t.after(async () => {
    await agent.destroy();
    await upstream.close();
  });
  const log: string[] = [];
  const response = await agent.fetch(`${upstream.url}/ok`, { [noticeKey]: fullRecorder(log) } as RequestInit);
  await response.text();
  assert.deepEqual(log, ['accepted', 'sending']);
  // A redirect's next request is taken and written again.
  const hops: string[] = [];
  const moved = await agent.fetch(`${upstream.url}/moved`, {
    [noticeKey]: fullRecorder(hops),
  } as RequestInit);
  assert.equal(moved.status, 200);
  await moved.text();
  assert.deepEqual(hops, ['accepted', 'sending', 'accepted', 'sending']);
});

test('a request aborted while its connection is being opened is never told sending()', async (t) => {
  const hang = await hangingListener();
  const agent = createAgent({ connectTimeout: 60_000 });
  t.after(async () => {
    await agent.destroy();
    await hang.close();
  });
  const log: string[] = [];
  const controller = new AbortController();
  const pending = agent.fetch(`${hang.url}/x`, {
    signal: controller.signal,
    [noticeKey]: fullRecorder(log),
  } as RequestInit);
  // The connect stays pending (the listener's accept queue is full): the request cannot be written.
  for (let i = 0; i < 5; i += 1) await turn();
  assert.deepEqual(log, ['accepted']);
  controller.abort(new Error('gave up'));
  await assert.rejects(pending, /gave up/);
  assert.deepEqual(log, ['accepted']);
});

test('a request that waited for a slot is told accepted, queued, dequeued, then sending', async (t) => {
  const { upstream, agent } = await heldUpstream(t);
  const holder = new AbortController();
  const first = await agent.fetch(`${upstream.url}/hold`, { signal: holder.signal });
  const log: string[] = [];
  const second = agent.fetch(`${upstream.url}/ok`, { [noticeKey]: fullRecorder(log) } as RequestInit);
  await turn();
  assert.deepEqual(log, ['accepted', 'queued']);
  holder.abort();
  await first.text().catch(() => undefined);
  const response = await second;
  await response.text();
  assert.deepEqual(log, ['accepted', 'queued', 'dequeued', 'sending']);
});
