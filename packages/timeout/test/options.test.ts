import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  defaultTimeoutLimits,
  isTimeoutOptionsError,
  maxTimeoutMs,
  resolveTimeoutOptions,
  TimeoutOptionsError,
  timeoutPlugin,
} from '../src/index.ts';

function optionsError(fn: () => unknown): TimeoutOptionsError {
  try {
    fn();
  } catch (error) {
    assert.ok(isTimeoutOptionsError(error), String(error));
    assert.ok(error instanceof TimeoutOptionsError);
    assert.equal(error.name, 'TimeoutOptionsError');
    assert.equal(error.code, 'ERR_KYR_TIMEOUT_OPTIONS');
    return error;
  }
  throw new Error('expected a TimeoutOptionsError');
}

test('defaults: total 30 s, attempt 10 s, connect and headers off, bodyIdle 10 s', () => {
  assert.deepEqual(resolveTimeoutOptions(undefined).limits, {
    total: 30_000,
    attempt: 10_000,
    connect: false,
    headers: false,
    bodyIdle: 10_000,
  });
  assert.deepEqual(resolveTimeoutOptions({}).limits, defaultTimeoutLimits);
  assert.equal(timeoutPlugin().totalTimeout, 30_000);
});

test('each limit accepts false, 0, fractions and 2^31−1', () => {
  for (const key of ['total', 'attempt', 'connect', 'headers', 'bodyIdle'] as const) {
    for (const value of [false, 0, 12.5, maxTimeoutMs] as const) {
      const options = { total: false, attempt: false, headers: false, [key]: value } as const;
      assert.equal(resolveTimeoutOptions(options).limits[key], value, `${key}: ${value}`);
    }
  }
});

test('a bad limit names the option and the value', () => {
  const bad: unknown[] = [
    -1,
    Number.NaN,
    Number.POSITIVE_INFINITY,
    maxTimeoutMs + 1,
    '100',
    true,
    null,
    10n,
    {},
  ];
  for (const key of ['total', 'attempt', 'connect', 'headers', 'bodyIdle']) {
    for (const value of bad) {
      const error = optionsError(() => timeoutPlugin({ [key]: value } as never));
      assert.equal(error.option, key);
      assert.equal(error.value, value);
      assert.match(error.message, new RegExp(`\`${key}\``));
    }
  }
});

test('attempt above total is an error when both are given', () => {
  const error = optionsError(() => timeoutPlugin({ total: 1_000, attempt: 2_000 }));
  assert.equal(error.option, 'attempt');
  assert.equal(error.value, 2_000);
  assert.match(error.message, /at most `total` \(1000 ms\)/);
  assert.doesNotThrow(() => timeoutPlugin({ total: 1_000, attempt: 1_000 }));
  assert.doesNotThrow(() => timeoutPlugin({ total: false, attempt: 2_000 }));
  assert.doesNotThrow(() => timeoutPlugin({ total: 1_000, attempt: false }));
});

test('a given attempt above the default total is an error', () => {
  const error = optionsError(() => timeoutPlugin({ attempt: 60_000 }));
  assert.equal(error.option, 'attempt');
});

test('a default that would exceed a given limit shrinks to it', () => {
  assert.deepEqual(resolveTimeoutOptions({ total: 4_000 }).limits, {
    ...defaultTimeoutLimits,
    total: 4_000,
    attempt: 4_000,
  });
});

test('headers and connect may not exceed attempt, nor connect headers', () => {
  assert.equal(optionsError(() => timeoutPlugin({ attempt: 1_000, headers: 1_001 })).option, 'headers');
  assert.equal(optionsError(() => timeoutPlugin({ attempt: 1_000, connect: 1_001 })).option, 'connect');
  assert.equal(optionsError(() => timeoutPlugin({ headers: 500, connect: 600 })).option, 'connect');
  assert.doesNotThrow(() => timeoutPlugin({ attempt: false, headers: 20_000, connect: 20_000 }));
  assert.doesNotThrow(() => timeoutPlugin({ headers: false, connect: 5_000 }));
  // With attempt off, total bounds them: above it they could never trip.
  const headers = optionsError(() => timeoutPlugin({ attempt: false, headers: 40_000 }));
  assert.equal(headers.option, 'headers');
  assert.equal(headers.value, 40_000);
  assert.match(headers.message, /at most `total` \(30000 ms\)/);
  assert.equal(
    optionsError(() => timeoutPlugin({ attempt: false, total: 5_000, connect: 5_001 })).option,
    'connect',
  );
  assert.doesNotThrow(() =>
    timeoutPlugin({ attempt: false, total: false, headers: 40_000, connect: 40_000 }),
  );
  assert.doesNotThrow(() => timeoutPlugin({ attempt: false, total: 5_000, headers: 5_000, connect: 5_000 }));
  // bodyIdle is not ordered against attempt: it matters when attempt is off or larger.
  assert.doesNotThrow(() => timeoutPlugin({ attempt: 1_000, bodyIdle: 5_000 }));
});

test('unknown keys and non-objects are errors', () => {
  const unknown = optionsError(() => timeoutPlugin({ timeout: 5 } as never));
  assert.equal(unknown.option, 'timeout');
  assert.equal(unknown.value, 5);
  assert.match(unknown.message, /unknown option/);
  assert.equal(optionsError(() => timeoutPlugin(5 as never)).option, 'options');
  assert.equal(optionsError(() => timeoutPlugin(null as never)).option, 'options');
  assert.equal(optionsError(() => timeoutPlugin([] as never)).option, 'options');
});

test('timers must provide setTimeout and clearTimeout', () => {
  assert.equal(optionsError(() => timeoutPlugin({ timers: {} as never })).option, 'timers');
  assert.equal(optionsError(() => timeoutPlugin({ timers: { setTimeout } as never })).option, 'timers');
  assert.doesNotThrow(() => timeoutPlugin({ timers: { setTimeout, clearTimeout } as never }));
});

test('an undefined value keeps the default', () => {
  assert.equal(resolveTimeoutOptions({ attempt: undefined }).limits.attempt, 10_000);
});
