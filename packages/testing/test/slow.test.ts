import assert from 'node:assert/strict';
import { request } from 'node:http';
import { test } from 'node:test';
import { startUpstream } from '../src/index.ts';
import { send, waitFor } from './helpers.ts';

test('delayHeadersMs holds the response head: a later request to a fast route is answered first', async (t) => {
  const upstream = await startUpstream({
    routes: { '/slow': { steps: [{ delayHeadersMs: 1_500 }] }, '/fast': {} },
  });
  t.after(() => upstream.close());
  const events: string[] = [];
  const slow = send(`${upstream.url}/slow`).then((response) => {
    events.push(`slow ${response.status}`);
  });
  // The slow request has been received and its body read, so its delay is running.
  await waitFor(() => upstream.counters('/slow').bodies.length === 1, 'the slow request');
  const fast = await send(`${upstream.url}/fast`);
  events.push(`fast ${fast.status}`);
  assert.equal(upstream.counters('/slow').inFlight, 1, 'the slow response has not been sent yet');
  await slow;
  assert.deepEqual(events, ['fast 200', 'slow 200']);
});

test('delayHeadersMs and a slowTail delay, each at the maximum, together still hold the head', async (t) => {
  const MAX = 2_147_483_647; // setTimeout's maximum, the largest delay each option takes
  const warnings: string[] = [];
  const onWarning = (warning: Error): void => {
    warnings.push(warning.name);
  };
  process.on('warning', onWarning);
  t.after(() => process.off('warning', onWarning));
  const upstream = await startUpstream({
    random: () => 0,
    routes: {
      '/held': { steps: [{ delayHeadersMs: MAX }], schedule: { kind: 'slowTail', rate: 1, delayMs: MAX } },
      '/fast': {},
    },
  });
  t.after(() => upstream.close());
  const events: string[] = [];
  const held = request(`${upstream.url}/held`, { agent: false }, (res) => {
    events.push(`held ${res.statusCode}`);
    res.resume();
  });
  held.on('error', () => {});
  held.end();
  t.after(() => held.destroy());
  await waitFor(() => upstream.counters('/held').bodies.length === 1, 'the held request');
  // Later requests answered in full are the reference point: the order of events, not the time.
  for (let i = 0; i < 20; i += 1) assert.equal((await send(`${upstream.url}/fast`)).status, 200);
  assert.deepEqual(events, []);
  assert.equal(upstream.counters('/held').inFlight, 1);
  assert.deepEqual(upstream.counters('/held').statuses, {});
  assert.ok(!warnings.includes('TimeoutOverflowWarning'), warnings.join(', '));
});

test('stallBody sends the head and the prefix, then never ends the body until the socket closes', async (t) => {
  const upstream = await startUpstream({
    routes: { '/stall': { steps: [{ stallBody: true, bodyPrefix: '{"items":[' }] } },
  });
  t.after(() => upstream.close());
  const events: string[] = [];
  const req = request(`${upstream.url}/stall`, { agent: false });
  req.on('error', () => {});
  const prefix = new Promise<string>((resolve) => {
    req.on('response', (res) => {
      events.push(`head ${res.statusCode}`);
      res.setEncoding('utf8');
      res.on('error', () => {});
      res.on('data', (chunk: string) => {
        events.push(`data ${chunk}`);
        resolve(chunk);
      });
      res.on('end', () => events.push('end'));
    });
  });
  req.end();
  assert.equal(await prefix, '{"items":[');
  // The server is otherwise responsive: other requests complete while the body stays open.
  for (let i = 0; i < 3; i += 1) assert.equal((await send(`${upstream.url}/other`)).status, 200);
  await new Promise((resolve) => setTimeout(resolve, 200));
  assert.deepEqual(events, ['head 200', 'data {"items":[']);
  assert.equal(upstream.counters('/stall').inFlight, 1);
  req.destroy();
  await waitFor(
    () => upstream.counters('/stall').inFlight === 0,
    'the stalled request to end with its socket',
  );
  assert.ok(!events.includes('end'));
});

test('stallBody without a prefix still sends the head', async (t) => {
  const upstream = await startUpstream({
    routes: { '/stall': { steps: [{ stallBody: true, status: 206 }] } },
  });
  t.after(() => upstream.close());
  const req = request(`${upstream.url}/stall`, { agent: false });
  req.on('error', () => {});
  const status = await new Promise<number | undefined>((resolve) => {
    req.on('response', (res) => resolve(res.statusCode));
    req.end();
  });
  assert.equal(status, 206);
  req.destroy();
});

test('drip sends N chunks separately, then ends the body', async (t) => {
  const upstream = await startUpstream({
    routes: { '/drip': { steps: [{ drip: { chunks: 4, intervalMs: 60, chunk: 'abc' } }] } },
  });
  t.after(() => upstream.close());
  const events: string[] = [];
  await new Promise<void>((resolve, reject) => {
    const req = request(`${upstream.url}/drip`, { agent: false }, (res) => {
      events.push('head');
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => events.push(chunk));
      res.on('end', () => {
        events.push('end');
        resolve();
      });
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
  assert.deepEqual(events, ['head', 'abc', 'abc', 'abc', 'abc', 'end']);
});

test('drip uses "." as the default chunk and counts the request in flight until the end', async (t) => {
  const upstream = await startUpstream({
    routes: { '/drip': { steps: [{ drip: { chunks: 3, intervalMs: 150 } }] } },
  });
  t.after(() => upstream.close());
  const done = send(`${upstream.url}/drip`);
  await waitFor(() => upstream.counters('/drip').bodies.length === 1, 'the drip request');
  assert.equal(upstream.counters('/drip').inFlight, 1);
  const response = await done;
  assert.equal(response.body, '...');
  assert.equal(response.headers['transfer-encoding'], 'chunked');
  await waitFor(() => upstream.counters('/drip').inFlight === 0, 'the request to finish');
});
