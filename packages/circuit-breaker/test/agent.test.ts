import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createAgent, type Resolver } from '@ky-resilience/agent';
import { startUpstream } from '@ky-resilience/testing';
import ky, { isHTTPError } from 'ky';
import { circuitBreakerPlugin, isCircuitOpenError } from '../src/index.ts';
import { closeAfter, rejection } from './helpers.ts';

/** The `code`s along an error's `cause` chain. */
function codesOf(error: unknown): string[] {
  const codes: string[] = [];
  let current = error as { code?: unknown; cause?: unknown } | undefined;
  for (let depth = 0; depth < 8 && typeof current === 'object' && current !== null; depth += 1) {
    if (typeof current.code === 'string') codes.push(current.code);
    current = current.cause as typeof current;
  }
  return codes;
}

/** Resolves the given names to 127.0.0.1; any other name fails with ENOTFOUND. */
function loopbackResolver(names: readonly string[]): Resolver {
  return async (hostname) => {
    if (!names.includes(hostname)) {
      throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${hostname}`), { code: 'ENOTFOUND' });
    }
    return [{ address: '127.0.0.1', family: 4, ttl: 60 }];
  };
}

test('two host names on the same upstream (through the agent): one host’s breaker opens, the other’s stays closed', async (t) => {
  const upstream = closeAfter(
    t,
    await startUpstream({
      routes: { '/down': { steps: [{ status: 503 }] }, '/up': { steps: [{ status: 200 }] } },
    }),
  );
  const agent = closeAfter(t, createAgent({ resolver: loopbackResolver(['down.test', 'up.test']) }));
  const breakers = circuitBreakerPlugin({ policy: { kind: 'consecutive', failures: 2 } });
  const api = ky.create({ ...agent.kyOptions, retry: 0 }).extend(breakers.kyOptions);
  const down = `http://down.test:${upstream.port}`;
  const up = `http://up.test:${upstream.port}`;
  for (let i = 0; i < 4; i += 1) {
    const error = await rejection(api.get(`${down}/down`));
    assert.ok(i < 2 ? isHTTPError(error) : isCircuitOpenError(error));
    assert.equal((await api.get(`${up}/up`)).status, 200);
  }
  assert.equal(breakers.state(down), 'open');
  assert.equal(breakers.state(up), 'closed');
  assert.equal(upstream.byHost('down.test').requests, 2);
  assert.equal(upstream.byHost('up.test').requests, 4);
});

test('a DNS failure through the agent counts; an address refused by the agent’s guard does not', async (t) => {
  const upstream = closeAfter(t, await startUpstream());
  const agent = closeAfter(
    t,
    createAgent({ resolver: loopbackResolver(['guarded.test']), denyPrivateAddresses: true }),
  );
  const breakers = circuitBreakerPlugin({ policy: { kind: 'consecutive', failures: 2 } });
  const api = ky.create({ ...agent.kyOptions, retry: 0 }).extend(breakers.kyOptions);
  const missing = `http://missing.test:${upstream.port}`;
  await rejection(api.get(`${missing}/`));
  await rejection(api.get(`${missing}/`));
  assert.equal(breakers.state(missing), 'open');
  assert.equal(breakers.describe(missing)?.lastFailure?.kind, 'error');

  const guarded = `http://guarded.test:${upstream.port}`;
  for (let i = 0; i < 3; i += 1) {
    const error = await rejection(api.get(`${guarded}/`));
    assert.ok(codesOf(error).includes('ERR_KYR_BLOCKED_ADDRESS'), 'refused by the guard');
  }
  assert.equal(
    breakers.state(guarded),
    'closed',
    'a blocked address is the client’s decision, not the host’s failure',
  );
  assert.equal(upstream.counters().requests, 0);
});

test('the agent’s full wait queue (a request it never sent) does not count', async (t) => {
  const upstream = closeAfter(
    t,
    await startUpstream({ routes: { '/hold': { steps: [{ stallBody: true, bodyPrefix: 'x' }] } } }),
  );
  const agent = closeAfter(t, createAgent({ limitPerHost: 1, maxQueue: 0 }));
  const breakers = circuitBreakerPlugin({ policy: { kind: 'consecutive', failures: 1 } });
  const api = ky.create({ ...agent.kyOptions, retry: 0 }).extend(breakers.kyOptions);
  const controller = new AbortController();
  const held = await api.get(`${upstream.url}/hold`, { signal: controller.signal });
  for (let i = 0; i < 3; i += 1) {
    const error = await rejection(api.get(`${upstream.url}/hold`));
    assert.ok(codesOf(error).includes('ERR_KYR_AGENT_QUEUE_FULL'), `refused by the agent: ${String(error)}`);
  }
  assert.equal(
    breakers.state(upstream.origin),
    'closed',
    'a refusal of the client’s own queue is not the host’s failure',
  );
  assert.equal(upstream.counters().requests, 1);
  controller.abort();
  await held.text().catch(() => undefined);
});
