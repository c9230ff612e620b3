import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createAgent } from '@ky-resilience/agent';
import { startUpstream } from '@ky-resilience/testing';
import ky, { type Options } from 'ky';
import { type BodyConsumer, type BodyWatcher, setHandoff } from '../src/body-handoff.ts';
import { isBodyIdleTimeoutError, timeoutPlugin } from '../src/index.ts';
import { closeAfter, recordingTimers, rejection, until } from './helpers.ts';

type FetchFunction = (input: Request | string | URL, init?: RequestInit) => Promise<Response>;

const bodyReceivedKey = Symbol.for('@ky-resilience/body-received@1');

function receivedLength(response: Response): unknown {
  const received = (response as unknown as Record<symbol, unknown>)[bodyReceivedKey];
  return typeof received === 'function' ? received.call(response) : undefined;
}

/** The agent's fetch, recording each response; with `awaitBody`, it returns once the body has arrived in full. */
function recording(
  fetch: FetchFunction,
  awaitBody: boolean,
): { fetch: FetchFunction; responses: Response[] } {
  const responses: Response[] = [];
  return {
    responses,
    fetch: async (input, init) => {
      const response = await fetch(input, init);
      if (awaitBody) await until(() => receivedLength(response) !== undefined);
      responses.push(response);
      return response;
    },
  };
}

function agentFor(t: { after(fn: () => Promise<unknown>): void }) {
  const agent = createAgent();
  t.after(() => agent.close());
  return agent;
}

test('a body received in full comes back as the agent’s response, the attempt ended before it is read', async (t) => {
  const upstream = closeAfter(t, await startUpstream({}));
  const below = recording(agentFor(t).fetch, true);
  const rec = recordingTimers();
  const api = ky
    .create({ retry: 0, fetch: below.fetch })
    .extend(
      timeoutPlugin({ total: false, attempt: 10_000, headers: 10_000, bodyIdle: 10_000, timers: rec.timers }),
    );
  const response = await api.get(`${upstream.url}/small`);
  assert.equal(response.body, below.responses[0]?.body, 'no wrapping stream');
  assert.equal(rec.pending, 0, 'no timer left before the body is read');
  assert.match(await response.text(), /"ok":true/);
  assert.equal(rec.pending, 0);
});

test('a caller’s abort after the head of a body received in full has nothing to stop: the body still reads', async (t) => {
  const upstream = closeAfter(t, await startUpstream({}));
  const below = recording(agentFor(t).fetch, true);
  const rec = recordingTimers();
  const api = ky
    .create({ retry: 0, fetch: below.fetch })
    .extend(timeoutPlugin({ total: false, attempt: 10_000, bodyIdle: 10_000, timers: rec.timers }));
  const controller = new AbortController();
  const response = await api.get(`${upstream.url}/small`, { signal: controller.signal });
  controller.abort(new Error('caller gone'));
  assert.match(await response.text(), /"route":"\/small"/);
  assert.equal(rec.pending, 0);
});

test('through the agent, a stalled body is still wrapped and trips bodyIdle', async (t) => {
  const upstream = closeAfter(
    t,
    await startUpstream({ routes: { '/stall': { steps: [{ stallBody: true, bodyPrefix: '[' }] } } }),
  );
  const below = recording(agentFor(t).fetch, false);
  const rec = recordingTimers();
  const api = ky
    .create({ retry: 0, fetch: below.fetch })
    .extend(timeoutPlugin({ total: false, attempt: 10_000, bodyIdle: 60, timers: rec.timers }));
  const response = await api.get(`${upstream.url}/stall`);
  assert.notEqual(response.body, below.responses[0]?.body, 'the body is wrapped');
  assert.equal(receivedLength(below.responses[0] as Response), undefined);
  assert.ok(isBodyIdleTimeoutError(await rejection(response.text())));
  assert.equal(rec.pending, 0);
});

test('through the agent, a dripping body keeps the attempt timer until it has been read', async (t) => {
  const upstream = closeAfter(
    t,
    await startUpstream({
      routes: { '/drip': { steps: [{ drip: { chunks: 4, intervalMs: 20, chunk: '.' } }] } },
    }),
  );
  const below = recording(agentFor(t).fetch, false);
  const rec = recordingTimers();
  const api = ky
    .create({ retry: 0, fetch: below.fetch })
    .extend(timeoutPlugin({ total: false, attempt: 10_000, bodyIdle: false, timers: rec.timers }));
  const response = await api.get(`${upstream.url}/drip`);
  assert.notEqual(response.body, below.responses[0]?.body, 'the body is wrapped');
  assert.equal(rec.pending, 1, 'the attempt timer runs while the body drips');
  assert.equal(await response.text(), '....');
  assert.equal(rec.pending, 0);
});

test('a hand-off addressed to the attempt: a body received in full is still left to the consumer with the timers', async (t) => {
  const upstream = closeAfter(t, await startUpstream({}));
  const below = recording(agentFor(t).fetch, true);
  const rec = recordingTimers();
  const watched: { response: Response; watcher: BodyWatcher }[] = [];
  const taker: BodyConsumer = {
    watch(response, watcher) {
      watched.push({ response, watcher });
      return { fail() {} };
    },
  };
  const handingOff: Options = {
    hooks: {
      init: [
        (options) => {
          const inner = options.fetch as FetchFunction;
          options.fetch = (input, init) => inner(input, setHandoff({ ...init }, taker, inner));
        },
      ],
    },
  };
  const api = ky
    .create({ retry: 0, fetch: below.fetch })
    .extend(timeoutPlugin({ total: false, attempt: 10_000, bodyIdle: 10_000, timers: rec.timers }))
    .extend(handingOff);
  const response = await api.get(`${upstream.url}/small`);
  assert.equal(watched.length, 1, 'the consumer holds the body work');
  assert.equal(watched[0]?.response, below.responses[0]);
  assert.equal(response.body, below.responses[0]?.body);
  assert.equal(rec.pending, 1, 'the attempt timer runs until the consumer ends it');
  watched[0]?.watcher.end();
  watched[0]?.watcher.end();
  assert.equal(rec.pending, 0);
  assert.match(await response.text(), /"ok":true/);
});
