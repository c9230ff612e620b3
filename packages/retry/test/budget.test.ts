import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { seededRandom } from '@ky-resilience/testing';
import { isBudgetFailure } from '../src/budget.ts';
import {
  createRetryBudget,
  defaultRetryBudgetOptions,
  isRetryBudget,
  isRetryOptionsError,
} from '../src/index.ts';
import { defaultRetrySettings } from '../src/options.ts';
import { fakeClock } from './helpers.ts';

describe('createRetryBudget', () => {
  test('the defaults: capacity 20, ratio 0.5, 1 token a second, 1000 hosts', () => {
    assert.deepEqual(
      { ...defaultRetryBudgetOptions },
      { ratio: 0.5, minRetriesPerSecond: 1, capacity: 20, maxHosts: 1000 },
    );
    const budget = createRetryBudget({ clock: () => 0 });
    assert.deepEqual({ ...budget.options }, { ...defaultRetryBudgetOptions });
    assert.deepEqual(budget.state('h'), { tokens: 20, threshold: 10, capacity: 20, retryAllowed: true });
    assert.ok(isRetryBudget(budget));
    assert.equal(isRetryBudget({ tryAcquire: () => true }), false);
  });

  test('failures take one token, successes add ratio; retries only above half the capacity', () => {
    const budget = createRetryBudget({ capacity: 6, ratio: 0.5, minRetriesPerSecond: 0, clock: () => 0 });
    budget.recordFailure('a');
    budget.recordFailure('a');
    assert.equal(budget.tokens('a'), 4);
    assert.equal(budget.allowsRetry('a'), true);
    budget.recordFailure('a');
    // 3 is not above the threshold of 3: refused (gRPC's `token_count <= maxTokens / 2`).
    assert.equal(budget.tokens('a'), 3);
    assert.equal(budget.allowsRetry('a'), false);
    assert.deepEqual(budget.state('a'), { tokens: 3, threshold: 3, capacity: 6, retryAllowed: false });
    // Buckets are per host.
    assert.equal(budget.allowsRetry('b'), true);
    assert.equal(budget.tokens('b'), 6);
    // Exact arithmetic: two successes of 0.5 make one token.
    budget.recordSuccess('a');
    assert.equal(budget.tokens('a'), 3.5);
    assert.equal(budget.allowsRetry('a'), true);
    for (let i = 0; i < 10; i += 1) budget.recordFailure('a');
    assert.equal(budget.tokens('a'), 0, 'never below 0');
    for (let i = 0; i < 20; i += 1) budget.recordSuccess('a');
    assert.equal(budget.tokens('a'), 6, 'never above capacity');
    budget.clear();
    assert.equal(budget.tokens('a'), 6);
  });

  test('a sustained outage: fewer than capacity / 2 retries, however many calls', () => {
    const budget = createRetryBudget({ clock: () => 0 });
    let attempts = 0;
    const calls = 10_000;
    for (let call = 0; call < calls; call += 1) {
      // limit 2: an attempt, then a retry while the budget allows it, at most twice.
      for (let attempt = 1; attempt <= 3; attempt += 1) {
        attempts += 1;
        budget.recordFailure('down');
        if (attempt === 3 || !budget.allowsRetry('down')) break;
      }
    }
    // 20 tokens: failures 1 to 9 leave 19..11 (> 10) and are retried; the 10th leaves 10.
    assert.equal(attempts - calls, 6);
    assert.equal(budget.tokens('down'), 0);
  });

  test('a 20 % brownout (seeded): every failure is retried; at 60 % the retries stop', () => {
    const run = (errorRate: number, seed: number) => {
      const budget = createRetryBudget({ clock: () => 0 });
      const random = seededRandom(seed);
      let attempts = 0;
      let failed = 0;
      let refused = 0;
      const calls = 10_000;
      for (let call = 0; call < calls; call += 1) {
        // limit 3, as in the preset.
        for (let attempt = 1; ; attempt += 1) {
          attempts += 1;
          if (random() >= errorRate) {
            budget.recordSuccess('h');
            break;
          }
          budget.recordFailure('h');
          if (attempt === 4) {
            failed += 1;
            break;
          }
          if (!budget.allowsRetry('h')) {
            refused += 1;
            failed += 1;
            break;
          }
        }
      }
      return { attemptsPerCall: attempts / calls, success: 1 - failed / calls, refused };
    };
    for (const seed of [1, 2, 3]) {
      const brownout = run(0.2, seed);
      // About 2 500 failures in 12 500 attempts; the bucket's random walk rarely dips to half.
      assert.ok(brownout.refused <= 5, `seed ${seed}: ${brownout.refused} refused`);
      assert.ok(brownout.success >= 0.995, `seed ${seed}: ${brownout.success}`);
      assert.ok(brownout.attemptsPerCall <= 1.3, `seed ${seed}: ${brownout.attemptsPerCall}`);

      // Past a third of failures the bucket drains and retries stop: about one attempt per call.
      const heavy = run(0.6, seed);
      assert.ok(heavy.attemptsPerCall < 1.05, `seed ${seed}: ${heavy.attemptsPerCall}`);
    }
  });

  test('the clock refills minRetriesPerSecond tokens a second, up to capacity', () => {
    const clock = fakeClock();
    const budget = createRetryBudget({ capacity: 4, ratio: 0, minRetriesPerSecond: 2, clock: clock.now });
    for (let i = 0; i < 4; i += 1) budget.recordFailure('h');
    assert.equal(budget.tokens('h'), 0);
    clock.advance(500);
    assert.equal(budget.tokens('h'), 1);
    assert.equal(budget.allowsRetry('h'), false);
    clock.advance(1_000);
    assert.equal(budget.tokens('h'), 3);
    assert.equal(budget.allowsRetry('h'), true);
    clock.advance(10_000);
    assert.equal(budget.tokens('h'), 4);
  });

  test('frequent touches lose no refill, and a clock that goes back gives no bonus', () => {
    const clock = fakeClock();
    const budget = createRetryBudget({ capacity: 10, ratio: 0, minRetriesPerSecond: 1, clock: clock.now });
    for (let i = 0; i < 10; i += 1) budget.recordFailure('h');
    // 1 024 000 touches 1/1024 ms apart (less than a millionth of a token each): one second, one token.
    for (let i = 0; i < 1_024_000; i += 1) {
      clock.advance(1 / 1024);
      budget.allowsRetry('h');
    }
    const refilled = budget.tokens('h');
    assert.ok(refilled > 0.9999 && refilled <= 1, String(refilled));
    clock.advance(-5_000);
    assert.equal(budget.tokens('h'), refilled);
    budget.recordFailure('h');
    clock.advance(5_000);
    assert.equal(budget.tokens('h'), 0);
    clock.advance(2_000);
    assert.equal(budget.tokens('h'), 2);
  });

  test('an idle host drained by an outage is trusted again after capacity / 2 / minRetriesPerSecond seconds', () => {
    const clock = fakeClock();
    const budget = createRetryBudget({ clock: clock.now });
    for (let i = 0; i < 100; i += 1) budget.recordFailure('h');
    clock.advance(10_000);
    assert.equal(budget.tokens('h'), 10);
    assert.equal(budget.allowsRetry('h'), false);
    clock.advance(1);
    assert.equal(budget.allowsRetry('h'), true);
  });

  test('maxHosts bounds the map: the least recently failed host is dropped; full buckets are not kept', () => {
    const budget = createRetryBudget({
      capacity: 4,
      ratio: 1,
      minRetriesPerSecond: 0,
      maxHosts: 2,
      clock: () => 0,
    });
    budget.recordFailure('a');
    budget.recordFailure('b');
    budget.recordFailure('a'); // a is now the most recent
    budget.recordFailure('c'); // evicts b
    assert.equal(budget.tokens('b'), 4);
    assert.equal(budget.tokens('a'), 2);
    assert.equal(budget.tokens('c'), 3);
    // Successes only ever touch hosts with a deficit, and a bucket that is full again is dropped.
    for (let i = 0; i < 100; i += 1) budget.recordSuccess(`healthy-${i}`);
    budget.recordSuccess('c'); // c is full again: not kept
    budget.recordFailure('d'); // room for d without evicting a
    assert.equal(budget.tokens('a'), 2);
    assert.equal(budget.tokens('d'), 3);
  });

  test('bad options are typed errors naming the option and the value', () => {
    for (const [options, option, value] of [
      [{ ratio: -1 }, 'budget.ratio', -1],
      [{ ratio: Number.POSITIVE_INFINITY }, 'budget.ratio', Number.POSITIVE_INFINITY],
      [{ capacity: 0 }, 'budget.capacity', 0],
      [{ capacity: '20' }, 'budget.capacity', '20'],
      [{ minRetriesPerSecond: Number.NaN }, 'budget.minRetriesPerSecond', Number.NaN],
      [{ minRetriesPerSecond: -1 }, 'budget.minRetriesPerSecond', -1],
      [{ maxHosts: 1.5 }, 'budget.maxHosts', 1.5],
      [{ maxHosts: 0 }, 'budget.maxHosts', 0],
      [{ clock: 5 }, 'budget.clock', 5],
      [{ size: 5 }, 'budget.size', 5],
      [{ tokenRatio: 0.1 }, 'budget.tokenRatio', 0.1],
    ] as const) {
      assert.throws(
        () => createRetryBudget(options as never),
        (error: unknown) =>
          isRetryOptionsError(error) &&
          error.option === option &&
          Object.is(error.value, value) &&
          error.message.includes(option),
      );
    }
    const budget = createRetryBudget({ clock: () => Number.NaN });
    assert.throws(
      () => budget.recordFailure('h'),
      (error: unknown) => isRetryOptionsError(error) && error.option === 'budget.clock',
    );
  });
});

describe('isBudgetFailure: what costs a token', () => {
  const settings = defaultRetrySettings;
  const headers = new Headers();
  test('retryable statuses, network codes and timeout phases do', () => {
    for (const status of [408, 429, 500, 502, 503, 504]) {
      assert.equal(isBudgetFailure({ kind: 'status', status, headers }, settings), true, String(status));
    }
    assert.equal(isBudgetFailure({ kind: 'network', code: 'ECONNRESET' }, settings), true);
    assert.equal(isBudgetFailure({ kind: 'network', code: 'ECONNREFUSED' }, settings), true);
    assert.equal(isBudgetFailure({ kind: 'timeout', phase: 'headers' }, settings), true);
    assert.equal(isBudgetFailure({ kind: 'timeout', phase: 'attempt' }, settings), true);
  });

  test('answers, aborts, a total timeout and unknown errors do not', () => {
    for (const status of [400, 404, 409, 501]) {
      assert.equal(isBudgetFailure({ kind: 'status', status, headers }, settings), false, String(status));
    }
    assert.equal(isBudgetFailure({ kind: 'network', code: 'ENOTFOUND' }, settings), false);
    assert.equal(isBudgetFailure({ kind: 'network', code: 'ERR_KYR_CIRCUIT_OPEN' }, settings), false);
    assert.equal(isBudgetFailure({ kind: 'timeout', phase: 'total' }, settings), false);
    assert.equal(isBudgetFailure({ kind: 'aborted' }, settings), false);
    assert.equal(isBudgetFailure({ kind: 'other' }, settings), false);
  });

  test('the settings in force decide', () => {
    const narrow = { ...settings, statusCodes: [503], timeoutPhases: ['connect' as const] };
    assert.equal(isBudgetFailure({ kind: 'status', status: 500, headers }, narrow), false);
    assert.equal(isBudgetFailure({ kind: 'timeout', phase: 'headers' }, narrow), false);
  });
});
