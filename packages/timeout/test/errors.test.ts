import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  AttemptTimeoutError,
  BodyIdleTimeoutError,
  ConnectTimeoutError,
  HeadersTimeoutError,
  isAttemptTimeoutError,
  isBodyIdleTimeoutError,
  isConnectTimeoutError,
  isHeadersTimeoutError,
  isResilienceTimeoutError,
  isTimeoutOptionsError,
  isTotalTimeoutError,
  ResilienceTimeoutError,
  TimeoutOptionsError,
  TotalTimeoutError,
} from '../src/index.ts';

const init = { host: 'api.example:8443', attempt: 2, limit: 250 };

const cases = [
  { Class: TotalTimeoutError, phase: 'total', name: 'TotalTimeoutError', guard: isTotalTimeoutError },
  { Class: AttemptTimeoutError, phase: 'attempt', name: 'AttemptTimeoutError', guard: isAttemptTimeoutError },
  { Class: ConnectTimeoutError, phase: 'connect', name: 'ConnectTimeoutError', guard: isConnectTimeoutError },
  { Class: HeadersTimeoutError, phase: 'headers', name: 'HeadersTimeoutError', guard: isHeadersTimeoutError },
  {
    Class: BodyIdleTimeoutError,
    phase: 'bodyIdle',
    name: 'BodyIdleTimeoutError',
    guard: isBodyIdleTimeoutError,
  },
] as const;

test('each tier has its own error class, name, phase and guard', () => {
  for (const { Class, phase, name, guard } of cases) {
    const error = new Class(init);
    assert.ok(error instanceof ResilienceTimeoutError);
    assert.ok(error instanceof Error);
    assert.equal(error.name, name);
    assert.equal(error.phase, phase);
    assert.equal(error.code, 'ERR_KYR_TIMEOUT');
    assert.equal(error.host, 'api.example:8443');
    assert.equal(error.attempt, 2);
    assert.equal(error.limit, 250);
    assert.equal(error.request, undefined);
    assert.equal('cause' in error, false);
    assert.match(error.message, /250 ms.*api\.example:8443.*attempt 2/);
    assert.ok(isResilienceTimeoutError(error));
    for (const other of cases) {
      assert.equal(other.guard(error), other.guard === guard, `${other.name} guard on ${name}`);
    }
  }
});

test('request and cause are kept when given', () => {
  const request = new Request('http://127.0.0.1:1/x');
  const cause = new Error('inner');
  const error = new HeadersTimeoutError({ ...init, request, cause });
  assert.equal(error.request, request);
  assert.equal(error.cause, cause);
});

test('guards recognise an error of another copy of the package by its brand, and nothing else', () => {
  const foreign = new Error('from another copy');
  Object.defineProperty(foreign, Symbol.for('@ky-resilience/timeout.ResilienceTimeoutError'), {
    value: true,
  });
  Object.assign(foreign, { phase: 'headers' });
  assert.ok(isResilienceTimeoutError(foreign));
  assert.ok(isHeadersTimeoutError(foreign));
  assert.ok(!isBodyIdleTimeoutError(foreign));

  const lookalike = Object.assign(new Error('x'), {
    name: 'HeadersTimeoutError',
    phase: 'headers',
    code: 'ERR_KYR_TIMEOUT',
  });
  assert.ok(!isResilienceTimeoutError(lookalike));
  assert.ok(!isHeadersTimeoutError(lookalike));
  for (const value of [undefined, null, 0, 'HeadersTimeoutError', {}]) {
    assert.ok(!isResilienceTimeoutError(value));
    assert.ok(!isTimeoutOptionsError(value));
  }
});

test('the brand is not enumerable and survives no spreading into a lookalike', () => {
  const error = new AttemptTimeoutError(init);
  assert.deepEqual(Object.getOwnPropertySymbols(error).length, 1);
  assert.ok(!isResilienceTimeoutError({ ...error }));
});

test('TimeoutOptionsError names the option and the value, with its own guard', () => {
  const error = new TimeoutOptionsError('attempt', -1, 'expected a non-negative number');
  assert.equal(error.name, 'TimeoutOptionsError');
  assert.equal(error.option, 'attempt');
  assert.equal(error.value, -1);
  assert.match(error.message, /`attempt`: -1; expected a non-negative number/);
  assert.ok(isTimeoutOptionsError(error));
  assert.ok(!isResilienceTimeoutError(error));
  assert.ok(!isTimeoutOptionsError(new AttemptTimeoutError(init)));
});
