import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { run } from '../src/run.ts';

test('the agent example holds its caps and reuses connections', async () => {
  const hosts = ['a.test', 'b.test', 'c.test'];
  const report = await run({ requests: 150, hosts, limit: 6, limitPerHost: 3 });
  assert.equal(report.ok, 150);
  assert.ok(report.peakInFlight <= 6, `peak ${report.peakInFlight}`);
  for (const host of hosts) assert.ok(report.peakPerHost[host]! <= 3, `${host} ${report.peakPerHost[host]}`);
  assert.ok(report.connections <= 9, `connections ${report.connections}`);
  assert.equal(report.dnsLookups, 3);
});

test('the example program runs and exits 0', async () => {
  const main = fileURLToPath(new URL('../src/main.ts', import.meta.url));
  const output = await new Promise<string>((resolve, reject) => {
    execFile(process.execPath, [main, '60'], { timeout: 60_000 }, (error, stdout) =>
      error ? reject(error) : resolve(stdout),
    );
  });
  assert.match(output, /succeeded: {8}60\/60/);
});
