import assert from 'node:assert/strict';
import { Agent } from 'node:http';
import { test } from 'node:test';
import {
  evaluateSchedule,
  type Schedule,
  scenarioNames,
  scenarioRoute,
  scheduleDurationMs,
  startUpstream,
} from '../src/index.ts';
import { send, waitFor } from './helpers.ts';

function fakeClock(start = 1_000): { now: number; clock: () => number } {
  const state = { now: start, clock: () => state.now };
  return state;
}

test('outage: healthy before the start, down (503) for the duration, then healthy again', async (t) => {
  const time = fakeClock();
  const upstream = await startUpstream({
    clock: time.clock,
    routes: { '/o': { schedule: { kind: 'outage', startMs: 100, durationMs: 1_000 } } },
  });
  t.after(() => upstream.close());
  const at = async (ms: number): Promise<number> => {
    time.now = 1_000 + ms;
    return (await send(`${upstream.url}/o`)).status;
  };
  assert.deepEqual(
    [
      await at(0),
      await at(99),
      await at(100),
      await at(600),
      await at(1_099),
      await at(1_100),
      await at(5_000),
    ],
    [200, 200, 503, 503, 503, 200, 200],
  );
  time.now = 1_500;
  const body = JSON.parse((await send(`${upstream.url}/o`)).body);
  assert.deepEqual(body, { ok: false, route: '/o', n: 7, schedule: 'outage' });
});

test('outage overrides steps while down; the steps resume by request number afterwards', async (t) => {
  const time = fakeClock(0);
  const upstream = await startUpstream({
    clock: time.clock,
    routes: {
      '/o': {
        steps: [{ status: 201 }, { status: 202 }, { status: 203 }],
        schedule: { kind: 'outage', durationMs: 500, status: 502 },
      },
    },
  });
  t.after(() => upstream.close());
  assert.equal((await send(`${upstream.url}/o`)).status, 502);
  time.now = 500;
  assert.equal((await send(`${upstream.url}/o`)).status, 202);
  assert.equal((await send(`${upstream.url}/o`)).status, 203);
});

test('schedules measure from when the route was programmed', async (t) => {
  const time = fakeClock(0);
  const upstream = await startUpstream({ clock: time.clock });
  t.after(() => upstream.close());
  time.now = 10_000;
  upstream.route('/o', { schedule: { kind: 'outage', durationMs: 100 } });
  assert.equal((await send(`${upstream.url}/o`)).status, 503);
  time.now = 10_100;
  assert.equal((await send(`${upstream.url}/o`)).status, 200);
});

test('flapping: each period is first down, then up', async (t) => {
  const time = fakeClock(0);
  const upstream = await startUpstream({
    clock: time.clock,
    routes: { '/f': { schedule: { kind: 'flapping', periodMs: 1_000, downMs: 300, status: 500 } } },
  });
  t.after(() => upstream.close());
  const statuses: number[] = [];
  for (const ms of [0, 299, 300, 999, 1_000, 1_299, 1_300, 2_100, 2_400]) {
    time.now = ms;
    statuses.push((await send(`${upstream.url}/f`)).status);
  }
  assert.deepEqual(statuses, [500, 500, 200, 200, 500, 500, 200, 500, 200]);
});

test('brownout: with the seeded random the error rate over 1000 requests is within tolerance, and reproducible', async () => {
  const run = async (seed: number): Promise<number[]> => {
    const upstream = await startUpstream({
      seed,
      routes: { '/b': { schedule: { kind: 'brownout', errorRate: 0.3, status: 503 } } },
    });
    const agent = new Agent({ keepAlive: true, maxSockets: 8 });
    const statuses: number[] = [];
    try {
      for (let batch = 0; batch < 1_000; batch += 50) {
        const results = await Promise.all(
          Array.from({ length: 50 }, () => send(`${upstream.url}/b`, { agent })),
        );
        for (const r of results) statuses.push(r.status);
      }
    } finally {
      agent.destroy();
      await upstream.close();
    }
    assert.deepEqual(upstream.counters('/b').statuses, {
      200: statuses.filter((s) => s === 200).length,
      503: statuses.filter((s) => s === 503).length,
    });
    return statuses;
  };
  const first = await run(7);
  const failures = first.filter((s) => s === 503).length;
  assert.equal(first.length, 1_000);
  assert.ok(failures >= 250 && failures <= 350, `${failures} failures of 1000`);
  // Same seed, same number of failures (the draws happen in arrival order).
  assert.equal((await run(7)).filter((s) => s === 503).length, failures);
});

test('brownout draws from the injected random: 0 always fails, 0.99 never does (rate 0.5)', async (t) => {
  let value = 0;
  const upstream = await startUpstream({
    random: () => value,
    routes: { '/b': { schedule: { kind: 'brownout', errorRate: 0.5 } } },
  });
  t.after(() => upstream.close());
  assert.equal((await send(`${upstream.url}/b`)).status, 503);
  value = 0.99;
  assert.equal((await send(`${upstream.url}/b`)).status, 200);
});

test('slowTail: drawn requests wait delayMs before the head, others answer at once (order of events)', async (t) => {
  const draws = [0.05, 0.9, 0.05, 0.9];
  const upstream = await startUpstream({
    random: () => draws.shift() ?? 0.9,
    routes: { '/t': { schedule: { kind: 'slowTail', rate: 0.1, delayMs: 1_500 } } },
  });
  t.after(() => upstream.close());
  const order: number[] = [];
  const pending: Array<Promise<void>> = [];
  for (let i = 0; i < 4; i += 1) {
    pending.push(
      send(`${upstream.url}/t`).then((r) => {
        order.push(JSON.parse(r.body).n);
      }),
    );
    // Send in a known order, so request i draws draws[i].
    await waitFor(() => upstream.counters('/t').requests === i + 1, `request ${i}`);
  }
  await Promise.all(pending);
  assert.deepEqual(order.slice(0, 2).sort(), [1, 3]);
  assert.deepEqual(order.slice(2).sort(), [0, 2]);
});

test('phases: healthy, brownout, outage, recovery, then healthy for good', async (t) => {
  const time = fakeClock(0);
  const upstream = await startUpstream({
    clock: time.clock,
    random: () => 0,
    routes: {
      '/p': {
        schedule: {
          kind: 'phases',
          phases: [
            { durationMs: 1_000, schedule: null },
            { durationMs: 1_000, schedule: { kind: 'brownout', errorRate: 0.5, status: 429 } },
            { durationMs: 1_000, schedule: { kind: 'outage', durationMs: 1_000, status: 503 } },
            { durationMs: 1_000, schedule: { kind: 'flapping', periodMs: 200, downMs: 100, status: 502 } },
          ],
        },
      },
    },
  });
  t.after(() => upstream.close());
  const statuses: number[] = [];
  for (const ms of [0, 999, 1_000, 1_999, 2_000, 2_999, 3_000, 3_150, 3_200, 4_000, 60_000]) {
    time.now = ms;
    statuses.push((await send(`${upstream.url}/p`)).status);
  }
  assert.deepEqual(statuses, [200, 200, 429, 429, 503, 503, 502, 200, 502, 200, 200]);
});

test('evaluateSchedule draws random only for brownout and slowTail', () => {
  let draws = 0;
  const random = (): number => {
    draws += 1;
    return 0.5;
  };
  evaluateSchedule({ kind: 'outage', durationMs: 10 }, 5, random);
  evaluateSchedule({ kind: 'flapping', periodMs: 10, downMs: 5 }, 5, random);
  assert.equal(draws, 0);
  assert.deepEqual(evaluateSchedule({ kind: 'slowTail', rate: 0.6, delayMs: 70 }, 0, random), {
    state: 'up',
    extraDelayMs: 70,
  });
  assert.equal(evaluateSchedule({ kind: 'brownout', errorRate: 0.4 }, 0, random).state, 'up');
  assert.equal(draws, 2);
});

test('every named scenario exists, is valid, and the incident lasts under 40 s', async () => {
  assert.deepEqual(
    [...scenarioNames],
    ['healthy', 'brownout', 'outage', 'flapping', 'slow-tail', 'incident'],
  );
  for (const name of scenarioNames) {
    const upstream = await startUpstream({ scenario: name, clock: () => 0, random: () => 0.99 });
    try {
      assert.equal(typeof (await send(`${upstream.url}/any`)).status, 'number');
    } finally {
      await upstream.close();
    }
  }
  const incident = scenarioRoute('incident').schedule as Schedule;
  const duration = scheduleDurationMs(incident) ?? Number.POSITIVE_INFINITY;
  assert.ok(duration > 20_000 && duration < 40_000, String(duration));
  const kinds = incident.kind === 'phases' ? incident.phases.map((p) => p.schedule?.kind ?? 'healthy') : [];
  assert.deepEqual(kinds, ['healthy', 'brownout', 'outage', 'healthy']);
});

test('the outage scenario answers 503 at first; the incident scenario is healthy at first and down in its outage phase', async (t) => {
  const time = fakeClock(0);
  const outage = await startUpstream({ scenario: 'outage', clock: time.clock });
  t.after(() => outage.close());
  assert.equal((await send(`${outage.url}/`)).status, 503);
  const incident = await startUpstream({ scenario: 'incident', clock: time.clock });
  t.after(() => incident.close());
  assert.equal((await send(`${incident.url}/`)).status, 200);
  time.now = 20_000;
  assert.equal((await send(`${incident.url}/`)).status, 503);
  time.now = 40_000;
  assert.equal((await send(`${incident.url}/`)).status, 200);
});

test('an explicit routes["*"] wins over the scenario', async (t) => {
  const upstream = await startUpstream({
    scenario: 'outage',
    routes: { '*': { steps: [{ status: 418 }] } },
  });
  t.after(() => upstream.close());
  assert.equal((await send(`${upstream.url}/`)).status, 418);
});
