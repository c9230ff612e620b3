import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { metricNames } from '../src/metrics.ts';
import { run, total } from '../src/run.ts';

test('the diagnostics channels feed OpenTelemetry counters and the latency histogram', async () => {
  const report = await run();
  const { series } = report;
  assert.equal(report.calls, 13);
  assert.equal(report.succeeded, 10);
  // 5 /ok + 2 /flaky + 1 /late + 4 /busy admitted by the limiter.
  assert.equal(report.upstreamRequests, 12);

  // Every attempt is counted once, including the two the limiter turned away.
  assert.equal(total(series, metricNames.attempts), 14);
  assert.equal(total(series, metricNames.attempts, { outcome: '2xx' }), 10);
  assert.equal(total(series, metricNames.attempts, { outcome: '5xx' }), 1);
  assert.equal(total(series, metricNames.attempts, { outcome: 'HeadersTimeoutError' }), 1);
  assert.equal(total(series, metricNames.attempts, { outcome: 'QueueFullError' }), 2);
  assert.equal(total(series, metricNames.attempts, { client: 'example', 'http.request.method': 'GET' }), 14);

  // The histogram holds one observation per attempt.
  assert.equal(total(series, metricNames.attemptDuration), 14);
  assert.ok(series.filter((s) => s.name === metricNames.attemptDuration).every((s) => (s.sum ?? -1) >= 0));

  assert.equal(total(series, metricNames.retries, { reason: 'status 503' }), 1);
  assert.equal(total(series, metricNames.retries), 1);
  assert.equal(total(series, metricNames.timeouts, { phase: 'headers' }), 1);
  assert.equal(total(series, metricNames.rejections, { tier: 'limiter', reason: 'queue-full' }), 2);
  assert.equal(total(series, metricNames.giveUps), 3);
});

test('the example program runs and exits 0', async () => {
  const main = fileURLToPath(new URL('../src/main.ts', import.meta.url));
  const output = await new Promise<string>((resolve, reject) => {
    execFile(process.execPath, [main], { timeout: 60_000 }, (error, stdout) =>
      error ? reject(error) : resolve(stdout),
    );
  });
  assert.match(output, /attempts: 14/);
  assert.match(output, /rejected: 2/);
});
