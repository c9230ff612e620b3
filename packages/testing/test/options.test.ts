import assert from 'node:assert/strict';
import { test } from 'node:test';
import { closedPort, isUpstreamOptionsError, startUpstream, UpstreamOptionsError } from '../src/index.ts';
import { send } from './helpers.ts';

async function refused(options: unknown, option: string): Promise<UpstreamOptionsError> {
  const error = await startUpstream(options as never).then(
    async (upstream) => {
      await upstream.close();
      assert.fail(`expected ${JSON.stringify(option)} to be refused`);
    },
    (e: unknown) => e,
  );
  assert.ok(error instanceof UpstreamOptionsError, String(error));
  assert.ok(error instanceof TypeError);
  assert.ok(isUpstreamOptionsError(error));
  assert.equal(error.name, 'UpstreamOptionsError');
  assert.equal(error.option, option);
  assert.match(error.message, new RegExp(option.replace(/[[\]().*"]/g, '\\$&')));
  return error;
}

test('unknown option keys are refused, naming the key', async () => {
  const error = await refused({ prot: 8080 }, 'prot');
  assert.equal(error.value, 8080);
  await refused({ routes: { '/a': { step: [] } } }, 'routes["/a"].step');
  await refused({ routes: { '/a': { steps: [{ statsu: 500 }] } } }, 'routes["/a"].steps[0].statsu');
  await refused(
    { routes: { '/a': { schedule: { kind: 'outage', durationMs: 1, extra: 1 } } } },
    'routes["/a"].schedule.extra',
  );
});

test('hosts other than loopback are refused with a TypeError', async () => {
  for (const host of ['0.0.0.0', '192.168.1.10', 'localhost', 'example.com', '::']) {
    const error = await refused({ host }, 'host');
    assert.equal(error.value, host);
  }
  await assert.rejects(closedPort('0.0.0.0'), TypeError);
});

test('bad numbers are refused: negative, NaN, non-integer ports, out-of-range statuses', async () => {
  await refused({ port: -1 }, 'port');
  await refused({ port: 1.5 }, 'port');
  await refused({ port: 70_000 }, 'port');
  await refused({ keepAliveTimeout: -5 }, 'keepAliveTimeout');
  await refused({ keepAliveTimeout: Number.NaN }, 'keepAliveTimeout');
  await refused({ seed: Number.NaN }, 'seed');
  await refused({ routes: { '/a': { steps: [{ status: 99 }] } } }, 'routes["/a"].steps[0].status');
  await refused(
    { routes: { '/a': { steps: [{ delayHeadersMs: -1 }] } } },
    'routes["/a"].steps[0].delayHeadersMs',
  );
  await refused({ routes: { '/a': { steps: [{ retryAfter: -3 }] } } }, 'routes["/a"].steps[0].retryAfter');
  await refused(
    { routes: { '/a': { steps: [{ retryAfterDate: Number.NaN }] } } },
    'routes["/a"].steps[0].retryAfterDate',
  );
  await refused(
    { routes: { '/a': { steps: [{ drip: { chunks: 0, intervalMs: 1 } }] } } },
    'routes["/a"].steps[0].drip.chunks',
  );
  await refused(
    { routes: { '/a': { schedule: { kind: 'flapping', periodMs: 100, downMs: 200 } } } },
    'routes["/a"].schedule.downMs',
  );
});

test('numeric retryAfter, rateLimitReset and xRateLimitReset must be whole seconds (HTTP sends digits only)', async () => {
  for (const value of [1.5, 1e21, -1, Number.POSITIVE_INFINITY, Number.MAX_SAFE_INTEGER + 1]) {
    for (const field of ['retryAfter', 'rateLimitReset', 'xRateLimitReset']) {
      const error = await refused(
        { routes: { '/a': { steps: [{ [field]: value }] } } },
        `routes["/a"].steps[0].${field}`,
      );
      assert.equal(error.value, value);
    }
  }
});

test('retryAfterDate is refused beyond 1e13 ms either way (a date Date cannot format as an HTTP-date)', async () => {
  for (const value of [1e16, -1e16, 1e13 + 1, -1e13 - 1]) {
    const error = await refused(
      { routes: { '/a': { steps: [{ retryAfterDate: value }] } } },
      'routes["/a"].steps[0].retryAfterDate',
    );
    assert.equal(error.value, value);
  }
});

test('rates outside [0, 1] are refused', async () => {
  await refused(
    { routes: { '*': { schedule: { kind: 'brownout', errorRate: 1.5 } } } },
    'routes["*"].schedule.errorRate',
  );
  await refused(
    { routes: { '*': { schedule: { kind: 'brownout', errorRate: -0.1 } } } },
    'routes["*"].schedule.errorRate',
  );
  await refused(
    { routes: { '*': { schedule: { kind: 'slowTail', rate: Number.NaN, delayMs: 1 } } } },
    'routes["*"].schedule.rate',
  );
  await refused(
    {
      routes: {
        '*': {
          schedule: {
            kind: 'phases',
            phases: [{ durationMs: 1, schedule: { kind: 'brownout', errorRate: 2 } }],
          },
        },
      },
    },
    'routes["*"].schedule.phases[0].schedule.errorRate',
  );
});

test('unknown scenarios, schedule kinds, reset modes, bad route keys and conflicting body modes are refused', async () => {
  await refused({ scenario: 'meltdown' }, 'scenario');
  await refused({ routes: { '*': { schedule: { kind: 'chaos' } } } }, 'routes["*"].schedule.kind');
  await refused({ routes: { '/a': { steps: [{ reset: 'sometimes' }] } } }, 'routes["/a"].steps[0].reset');
  await refused({ routes: { a: {} } }, 'routes');
  await refused(
    { routes: { '/a': { steps: [{ stallBody: true, reset: 'mid-body' }] } } },
    'routes["/a"].steps[0]',
  );
  await refused({ clock: 5 }, 'clock');
});

test('route() validates too, including a path that is not a string', async (t) => {
  const upstream = await startUpstream();
  t.after(() => upstream.close());
  assert.throws(
    () => upstream.route('/a', { steps: [{ status: 700 }] }),
    (error: unknown) => isUpstreamOptionsError(error) && error.option === 'route("/a").steps[0].status',
  );
  assert.throws(() => upstream.route('nope', {}), UpstreamOptionsError);
  for (const path of [42, undefined, null, ['/a'], { path: '/a' }]) {
    assert.throws(
      () => upstream.route(path as unknown as string, {}),
      (error: unknown) => isUpstreamOptionsError(error) && error.option === 'route' && error.value === path,
    );
  }
});

test('header values Node cannot send (CR/LF, controls, above U+00FF) are refused, naming the header and the value', async () => {
  const injected = 'one\r\nx-injected: two';
  const error = await refused(
    { routes: { '/h': { steps: [{ headers: { 'x-a': injected } }] } } },
    'routes["/h"].steps[0].headers["x-a"]',
  );
  assert.equal(error.value, injected);
  assert.match(error.message, /one\\r\\nx-injected/);
  await refused(
    { routes: { '/h': { steps: [{ headers: { 'x-a': '€' } }] } } },
    'routes["/h"].steps[0].headers["x-a"]',
  );
  await refused(
    { routes: { '/h': { steps: [{ headers: { 'x-a': 'a\u0000b' } }] } } },
    'routes["/h"].steps[0].headers["x-a"]',
  );
  const retryAfter = await refused(
    { routes: { '/h': { steps: [{ retryAfter: '1\n2' }] } } },
    'routes["/h"].steps[0].retryAfter',
  );
  assert.equal(retryAfter.value, '1\n2');
});

test('header values with tabs and Latin-1 characters are accepted and sent', async (t) => {
  const upstream = await startUpstream({
    routes: { '/h': { steps: [{ headers: { 'x-a': 'tab\there café' }, retryAfter: 'soon\tlater' }] } },
  });
  t.after(() => upstream.close());
  const response = await send(`${upstream.url}/h`);
  assert.equal(response.status, 200);
  // How Node encodes characters above U+007F on the wire is Node's business; the value is sent.
  assert.match(String(response.headers['x-a']), /^tab\there caf./);
  assert.equal(response.headers['retry-after'], 'soon\tlater');
});

test('route() refuses a header value Node cannot send, and the upstream keeps serving', async (t) => {
  const upstream = await startUpstream({ routes: { '/h': { steps: [{ status: 201 }] } } });
  t.after(() => upstream.close());
  assert.throws(
    () => upstream.route('/h', { steps: [{ headers: { 'x-a': 'a\nb' } }] }),
    (error: unknown) =>
      isUpstreamOptionsError(error) &&
      error.option === 'route("/h").steps[0].headers["x-a"]' &&
      error.value === 'a\nb',
  );
  assert.equal((await send(`${upstream.url}/h`)).status, 201);
});

test('isUpstreamOptionsError is false for other errors', () => {
  assert.equal(isUpstreamOptionsError(new TypeError('x')), false);
  assert.equal(isUpstreamOptionsError(null), false);
  assert.equal(isUpstreamOptionsError('UpstreamOptionsError'), false);
});
