import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ConnectTimeoutError as AgentConnectTimeoutError, DnsLookupError } from '@ky-resilience/agent';
import { BodyIdleTimeoutError, TotalTimeoutError } from '@ky-resilience/timeout';
import ky, { HTTPError, NetworkError, TimeoutError } from 'ky';
import {
  classifyFailure,
  contextKey,
  isOneShotBody,
  isRetryOptionsError,
  type RetryOptions,
  RetryOptionsError,
  retryPlugin,
} from '../src/index.ts';

function refused(options: unknown, option: string): void {
  assert.throws(
    () => retryPlugin(options as RetryOptions),
    (error: unknown) => {
      assert.ok(isRetryOptionsError(error));
      assert.ok(error instanceof RetryOptionsError);
      assert.equal(error.option, option);
      assert.equal(error.name, 'RetryOptionsError');
      assert.match(error.message, new RegExp(`\`${option.replace(/[.[\]]/g, '\\$&')}\``));
      return true;
    },
  );
}

describe('option validation', () => {
  test('every option is checked and named', () => {
    refused({ limit: -1 }, 'limit');
    refused({ limit: 1.5 }, 'limit');
    refused({ limit: '2' }, 'limit');
    refused({ statusCodes: [503, 501] }, 'statusCodes[1]');
    refused({ statusCodes: [505] }, 'statusCodes[0]');
    refused({ statusCodes: [200] }, 'statusCodes[0]');
    refused({ statusCodes: 503 }, 'statusCodes');
    refused({ afterStatusCodes: [429, 'x'] }, 'afterStatusCodes[1]');
    refused({ errorCodes: ['ECONNRESET', 'ENOTFOUND'] }, 'errorCodes[1]');
    refused({ errorCodes: [''] }, 'errorCodes[0]');
    refused({ timeoutPhases: ['total'] }, 'timeoutPhases[0]');
    refused({ timeoutPhases: ['headers', 'read'] }, 'timeoutPhases[1]');
    refused({ idempotentMethods: ['GET', 'NOT A METHOD'] }, 'idempotentMethods[1]');
    refused({ idempotencyHeader: 'bad header' }, 'idempotencyHeader');
    refused({ generateIdempotencyKey: 'yes' }, 'generateIdempotencyKey');
    refused({ backoff: { strategy: 'random' } }, 'backoff.strategy');
    refused({ backoff: { base: -1 } }, 'backoff.base');
    refused({ backoff: { factor: 0.5 } }, 'backoff.factor');
    refused({ backoff: { cap: Number.POSITIVE_INFINITY } }, 'backoff.cap');
    refused({ backoff: { jitter: true } }, 'backoff.jitter');
    refused({ maxRetryAfter: Number.POSITIVE_INFINITY }, 'maxRetryAfter');
    refused({ maxRetryAfter: -5 }, 'maxRetryAfter');
    refused({ budget: 'on' }, 'budget');
    refused({ budget: { ratio: 2_000 } }, 'budget.ratio');
    refused({ bufferBody: 1 }, 'bufferBody');
    refused({ maxBufferSize: -1 }, 'maxBufferSize');
    refused({ attemptHeader: true }, 'attemptHeader');
    refused({ attemptHeader: 'x y' }, 'attemptHeader');
    refused({ onRetry: 'log' }, 'onRetry');
    refused({ onGiveUp: {} }, 'onGiveUp');
    refused({ clock: 1 }, 'clock');
    refused({ now: 1 }, 'now');
    refused({ random: 0.5 }, 'random');
    refused('fast', 'options');
    // null is not "no options" (undefined is): refused, as the timeout plugin and a per-request null are.
    refused(null, 'options');
    refused([], 'options');
  });

  test('unknown keys are errors', () => {
    refused({ retries: 3 }, 'retries');
    refused({ methods: ['post'] }, 'methods');
  });

  test('defaults and valid options are accepted', () => {
    assert.doesNotThrow(() => retryPlugin());
    assert.doesNotThrow(() =>
      retryPlugin({
        limit: 5,
        statusCodes: [503],
        afterStatusCodes: [503],
        errorCodes: ['ECONNRESET'],
        timeoutPhases: ['connect'],
        idempotentMethods: ['get'],
        idempotencyHeader: 'X-Key',
        generateIdempotencyKey: true,
        backoff: { strategy: 'decorrelated-v2', base: 50, factor: 3, cap: 1_000 },
        maxRetryAfter: 0,
        budget: { ratio: 0.1 },
        bufferBody: false,
        maxBufferSize: 0,
        attemptHeader: 'X-Attempt',
        onRetry: () => {},
        onGiveUp: () => {},
        clock: () => 0,
        now: () => 0,
        random: () => 0,
      }),
    );
  });

  test('per-request overrides are validated when the call starts, with the context path in the name', () => {
    const api = ky.extend(retryPlugin());
    const start = (overrides: unknown): unknown =>
      api.get('http://127.0.0.1:9/', { context: { [contextKey]: overrides } });
    for (const [overrides, option] of [
      [{ limit: -1 }, `context['${contextKey}'].limit`],
      [{ clock: () => 0 }, `context['${contextKey}'].clock`],
      [{ budget: { ratio: 1 } }, `context['${contextKey}'].budget`],
      [5, `context['${contextKey}']`],
    ] as const) {
      assert.throws(
        () => start(overrides),
        (error: unknown) => isRetryOptionsError(error) && error.option === option,
      );
    }
    const withoutBudget = ky.extend(retryPlugin({ budget: false }));
    assert.throws(
      () => withoutBudget.get('http://127.0.0.1:9/', { context: { [contextKey]: { budget: true } } }),
      (error: unknown) => isRetryOptionsError(error) && error.option === `context['${contextKey}'].budget`,
    );
  });
});

describe('classifyFailure', () => {
  const request = new Request('http://example.test/');
  const systemError = (code: string): Error => Object.assign(new Error(code), { code });

  test('HTTP errors by status', () => {
    const response = new Response('', { status: 503 });
    const failure = classifyFailure(new HTTPError(response, request, {} as never), false);
    assert.equal(failure.kind, 'status');
    assert.equal(failure.kind === 'status' && failure.status, 503);
  });

  test('network codes are found through the cause chain and AggregateErrors', () => {
    const wrapped = new NetworkError(request, {
      cause: new TypeError('fetch failed', { cause: systemError('ECONNREFUSED') }),
    });
    assert.deepEqual(classifyFailure(wrapped, false), { kind: 'network', code: 'ECONNREFUSED' });
    const aggregate = new TypeError('fetch failed', {
      cause: new AggregateError([new Error('no code'), systemError('ETIMEDOUT')]),
    });
    assert.deepEqual(classifyFailure(aggregate, false), { kind: 'network', code: 'ETIMEDOUT' });
    const agentTimeout = new TypeError('fetch failed', {
      cause: new AgentConnectTimeoutError('h', 10, undefined),
    });
    assert.deepEqual(classifyFailure(agentTimeout, false), {
      kind: 'network',
      code: 'UND_ERR_CONNECT_TIMEOUT',
    });
    const dns = new TypeError('fetch failed', {
      cause: new DnsLookupError('h', 'ENOTFOUND', false, systemError('ENOTFOUND')),
    });
    assert.deepEqual(classifyFailure(dns, false), { kind: 'network', code: 'ENOTFOUND' });
  });

  test("timeouts by phase; ky's TimeoutError is the attempt phase", () => {
    const idle = new BodyIdleTimeoutError({ host: 'h', attempt: 1, limit: 5 });
    assert.deepEqual(classifyFailure(idle, false), { kind: 'timeout', phase: 'bodyIdle' });
    const total = new TotalTimeoutError({ host: 'h', attempt: 1, limit: 5 });
    assert.deepEqual(classifyFailure(total, false), { kind: 'timeout', phase: 'total' });
    assert.deepEqual(classifyFailure(new TimeoutError(request), false), {
      kind: 'timeout',
      phase: 'attempt',
    });
  });

  test("a caller's abort wins over everything; unknown errors are 'other'", () => {
    assert.deepEqual(classifyFailure(systemError('ECONNRESET'), true), { kind: 'aborted' });
    assert.deepEqual(classifyFailure(new Error('bug'), false), { kind: 'other' });
    assert.deepEqual(classifyFailure('a string', false), { kind: 'other' });
    const cyclic: { cause?: unknown } = new Error('cyclic');
    cyclic.cause = cyclic;
    assert.deepEqual(classifyFailure(cyclic, false), { kind: 'other' });
  });
});

test('isOneShotBody', () => {
  assert.equal(isOneShotBody(new ReadableStream()), true);
  assert.equal(
    isOneShotBody(
      (async function* () {
        yield new Uint8Array(1);
      })(),
    ),
    true,
  );
  assert.equal(isOneShotBody('text'), false);
  assert.equal(isOneShotBody(new Blob(['x'])), false);
  assert.equal(isOneShotBody(new URLSearchParams('a=1')), false);
  assert.equal(isOneShotBody(new FormData()), false);
  assert.equal(isOneShotBody(new Uint8Array(2)), false);
  assert.equal(isOneShotBody(undefined), false);
});
