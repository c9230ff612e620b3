import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { startUpstream } from '@ky-resilience/testing';
import ky from 'ky';
import { fetchAll } from '../src/fetch-all.ts';
import { ProgressBar } from '../src/progress-bar.ts';
import { agentPerHostCap, perHostLimit, runScenario } from '../src/scenario.ts';

test('every URL gets its outcome, in order, typed; each host sees its limit, never more', async () => {
  const perHost = 14;
  const progress: number[] = [];
  const report = await runScenario({ perHost, onProgress: (p) => progress.push(p.done) });
  const total = perHost * 3 + 1;
  assert.equal(report.outcomes.length, total);
  assert.deepEqual(
    progress,
    Array.from({ length: total }, (_, i) => i + 1),
  );
  for (const outcome of report.outcomes) {
    const path = new URL(outcome.url).pathname;
    if (outcome.ok) {
      assert.equal(outcome.value.route, path, 'each value belongs to its own URL');
      continue;
    }
    const { error } = outcome;
    if (path === '/reports/13')
      assert.deepEqual([error.kind, error.kind === 'http' && error.status], ['http', 404]);
    else if (path === '/reports/7')
      assert.deepEqual([error.kind, error.kind === 'timeout' && error.phase], ['timeout', 'attempt']);
    else if (path === '/anything')
      assert.deepEqual([error.kind, error.kind === 'network' && error.code], ['network', 'ECONNREFUSED']);
    else if (path.startsWith('/orders/')) {
      // A 503 that was still failing when the retries or the retry budget ran out.
      const last = error.kind === 'retry-budget' ? error.last : error;
      assert.deepEqual([last.kind, last.kind === 'http' && last.status], ['http', 503], outcome.url);
    } else assert.fail(`unexpected failure of ${outcome.url}: ${error.kind}`);
  }
  const failedPaths = report.outcomes.filter((o) => !o.ok).map((o) => new URL(o.url).pathname);
  for (const path of ['/reports/13', '/reports/7', '/anything']) assert.ok(failedPaths.includes(path), path);
  assert.equal(report.outcomes.filter((o) => o.ok && o.url.includes('users.test')).length, perHost);
  for (const [host, peak] of Object.entries(report.peakPerHost)) {
    assert.ok(peak <= perHostLimit, `${host}: ${peak} in flight`);
  }
  // The agent would allow more: the host limiter holds the limit, and the calls did run in parallel.
  assert.ok(agentPerHostCap > perHostLimit);
  assert.equal(report.peakPerHost['users.test'], perHostLimit, 'users.test: 14 URLs started at once');
  assert.ok(report.requestsPerHost['orders.test']! > perHost, 'the 503s were retried');
});

test('a throwing onProgress changes no outcome and no count, and fetchAll still resolves', async () => {
  const upstream = await startUpstream({ routes: { '*': {}, '/missing': { steps: [{ status: 404 }] } } });
  try {
    const urls = ['/a', '/b', '/missing', '/c'].map((path) => `${upstream.url}${path}`);
    const seen: Array<[number, number]> = [];
    const outcomes = await fetchAll<{ route: string }>(ky.create({ retry: 0 }), urls, {
      onProgress: ({ done, failed }) => {
        seen.push([done, failed]);
        throw new Error('the display broke');
      },
    });
    assert.deepEqual(
      outcomes.map((o) =>
        o.ok ? o.value.route : `${o.error.kind} ${o.error.kind === 'http' && o.error.status}`,
      ),
      ['/a', '/b', 'http 404', '/c'],
    );
    assert.deepEqual(
      seen.map(([done]) => done),
      [1, 2, 3, 4],
    );
    assert.deepEqual(seen.at(-1), [4, 1]);
    assert.equal(upstream.counters().requests, 4);
  } finally {
    await upstream.close();
  }
});

test('the progress bar draws only on a terminal', () => {
  const written: string[] = [];
  const tty = new ProgressBar({ write: (t) => written.push(t), isTTY: true, columns: 60 });
  tty.update({ done: 5, failed: 1, total: 10 });
  tty.update({ done: 10, failed: 1, total: 10 });
  tty.finish();
  assert.equal(written.length, 3);
  assert.ok(written[0]!.startsWith('\r'));
  assert.ok(written[1]!.includes('10/10 (1 failed)'));
  assert.equal(written[2], '\n');

  const piped: string[] = [];
  const pipe = new ProgressBar({ write: (t) => piped.push(t), isTTY: false });
  pipe.update({ done: 1, failed: 0, total: 2 });
  pipe.finish();
  assert.deepEqual(piped, []);
  assert.equal(ProgressBar.render(5, 0, 10, 80), `[${'#'.repeat(20)}${'-'.repeat(20)}] 5/10`);
});

test('the example program runs and exits 0 (no progress bar when piped)', async () => {
  const main = fileURLToPath(new URL('../src/main.ts', import.meta.url));
  const stdout = await new Promise<string>((resolve, reject) => {
    execFile(process.execPath, [main, '14'], { timeout: 60_000 }, (error, out) =>
      error ? reject(error) : resolve(out),
    );
  });
  assert.match(stdout, /succeeded: \d+\/43/);
  assert.match(stdout, /failed \(http 404\): 1/);
  assert.ok(!stdout.includes('\r'), 'no bar on a pipe');
});
