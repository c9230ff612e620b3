import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { Agent } from 'node:http';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { startUpstream } from '../src/index.ts';
import { send } from './helpers.ts';

const BIN = fileURLToPath(new URL('../src/cli.ts', import.meta.url));

type Run = { child: ChildProcess; stdout: () => string; stderr: () => string; exit: Promise<number | null> };

function run(args: string[]): Run {
  const child = spawn(process.execPath, [BIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
    stdout += chunk;
  });
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
    stderr += chunk;
  });
  const exit = new Promise<number | null>((resolve) => child.once('close', (code) => resolve(code)));
  return { child, stdout: () => stdout, stderr: () => stderr, exit };
}

async function firstLine(r: Run): Promise<string> {
  const deadline = Date.now() + 20_000;
  while (!r.stdout().includes('\n')) {
    if (Date.now() > deadline || r.child.exitCode !== null) {
      throw new Error(`no URL printed; stderr: ${r.stderr()}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  return r.stdout().split('\n')[0] ?? '';
}

test('the CLI starts, serves the scenario, prints counts on SIGTERM and exits 0', async (t) => {
  const r = run(['--port', '0', '--scenario', 'outage', '--keep-alive-timeout', '1000']);
  t.after(() => {
    if (r.child.exitCode === null) r.child.kill('SIGKILL');
  });
  const url = await firstLine(r);
  assert.match(url, /^http:\/\/127\.0\.0\.1:\d+$/);
  assert.equal((await send(`${url}/a`)).status, 503);
  assert.equal((await send(`${url}/b`)).status, 503);
  r.child.kill('SIGTERM');
  assert.equal(await r.exit, 0);
  const summary = JSON.parse(r.stdout().split('\n')[1] ?? '');
  assert.equal(summary.signal, 'SIGTERM');
  assert.equal(summary.scenario, 'outage');
  assert.equal(summary.requests, 2);
  assert.deepEqual(summary.statuses, { 503: 2 });
});

test('the CLI exits 0 on SIGINT too', async (t) => {
  const r = run(['--scenario', 'healthy', '--seed', '3']);
  t.after(() => {
    if (r.child.exitCode === null) r.child.kill('SIGKILL');
  });
  const url = await firstLine(r);
  assert.equal((await send(`${url}/`)).status, 200);
  r.child.kill('SIGINT');
  assert.equal(await r.exit, 0);
  assert.equal(JSON.parse(r.stdout().split('\n')[1] ?? '').requests, 1);
});

test('bad flags: a clear error on stderr and exit code 2', async () => {
  const cases: Array<[string[], RegExp]> = [
    [['--port', 'abc'], /--port/],
    [['--port', '-1'], /port/],
    [['--bogus'], /bogus/],
    [['--scenario', 'meltdown'], /--scenario.*meltdown/],
    [['--host', '0.0.0.0'], /host.*0\.0\.0\.0/],
    [['--port', '70000'], /port.*70000/],
    [['--keep-alive-timeout', 'soon'], /--keep-alive-timeout/],
    [['extra'], /extra|positional/i],
  ];
  for (const [args, message] of cases) {
    const r = run(args);
    assert.equal(await r.exit, 2, `${args.join(' ')}: ${r.stderr()}`);
    assert.match(r.stderr(), message);
    assert.equal(r.stdout(), '');
  }
});

test('--help prints the usage with every scenario and exits 0', async () => {
  const r = run(['--help']);
  assert.equal(await r.exit, 0);
  for (const name of ['healthy', 'brownout', 'outage', 'flapping', 'slow-tail', 'incident']) {
    assert.match(r.stdout(), new RegExp(name));
  }
});

test('a port already in use exits 1 with a clear message', async (t) => {
  const busy = await startUpstream();
  t.after(() => busy.close());
  const r = run(['--port', String(busy.port)]);
  assert.equal(await r.exit, 1, r.stderr());
  assert.match(r.stderr(), /EADDRINUSE|in use/);
  assert.equal(r.stdout(), '');
});

test('--scenario brownout: the same --seed gives the same status sequence, another seed a different one; keep-alive uses one connection', async (t) => {
  const sequence = async (seed: string): Promise<number[]> => {
    const r = run(['--scenario', 'brownout', '--seed', seed]);
    t.after(() => {
      if (r.child.exitCode === null) r.child.kill('SIGKILL');
    });
    const url = await firstLine(r);
    const agent = new Agent({ keepAlive: true });
    const statuses: number[] = [];
    for (let i = 0; i < 40; i += 1) statuses.push((await send(`${url}/x`, { agent })).status);
    agent.destroy();
    r.child.kill('SIGTERM');
    assert.equal(await r.exit, 0);
    const summary = JSON.parse(r.stdout().split('\n')[1] ?? '');
    assert.equal(summary.requests, 40);
    assert.equal(summary.connections, 1);
    return statuses;
  };
  const a = await sequence('7');
  const b = await sequence('7');
  const c = await sequence('8');
  assert.deepEqual(a, b);
  assert.notDeepEqual(a, c);
  assert.ok(a.includes(503) && a.includes(200));
});
