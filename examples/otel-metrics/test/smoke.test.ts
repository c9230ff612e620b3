import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { metricNames } from '../src/metrics.ts';
import { run, total } from '../src/run.ts';

test('the diagnostics channels feed OpenTelemetry counters and the latency histogram', async () => {
  const report = await run();
  const { series } = report;
  assert.equal(report.calls, 15);
  assert.equal(report.succeeded, 10);
  // 5 /ok, 2 /flaky (a 503, then the retry), 4 /busy admitted by the limiter, 4 /down before the
  // breaker opened. The /late request is cut by its 50 ms headers timeout: on a loaded machine that
  // can happen before the upstream has read it, so the upstream counts it once or not at all.
  const { '/late': late, ...others } = report.requestsByRoute;
  assert.deepEqual(others, { '/ok': 5, '/flaky': 2, '/busy': 4, '/down': 4 });
  assert.ok(late === 0 || late === 1, `/late: ${late}`);
  assert.equal(report.upstreamRequests, 15 + (late ?? 0));

  // Every attempt is counted once, including those the limiter and the breaker turned away.
  assert.equal(total(series, metricNames.attempts), 19);
  assert.equal(total(series, metricNames.attempts, { outcome: '2xx' }), 10);
  assert.equal(total(series, metricNames.attempts, { outcome: '5xx' }), 5);
  assert.equal(total(series, metricNames.attempts, { outcome: 'HeadersTimeoutError' }), 1);
  assert.equal(total(series, metricNames.attempts, { outcome: 'QueueFullError' }), 2);
  assert.equal(total(series, metricNames.attempts, { outcome: 'CircuitOpenError' }), 1);
  assert.equal(total(series, metricNames.attempts, { client: 'example', 'http.request.method': 'GET' }), 19);

  // The histogram holds one observation per attempt.
  assert.equal(total(series, metricNames.attemptDuration), 19);
  assert.ok(series.filter((s) => s.name === metricNames.attemptDuration).every((s) => (s.sum ?? -1) >= 0));

  assert.equal(total(series, metricNames.retries, { reason: 'status 503' }), 4);
  assert.equal(total(series, metricNames.retries), 4);
  assert.equal(total(series, metricNames.timeouts, { phase: 'headers' }), 1);
  assert.equal(total(series, metricNames.rejections, { tier: 'limiter', reason: 'queue-full' }), 2);
  assert.equal(total(series, metricNames.rejections, { tier: 'breaker', reason: 'open' }), 1);
  assert.equal(total(series, metricNames.breakerTransitions, { from: 'closed', to: 'open' }), 1);
  assert.equal(total(series, metricNames.breakerTransitions), 1);
  assert.equal(total(series, metricNames.giveUps, { reason: 'limit-reached' }), 2);
  assert.equal(total(series, metricNames.giveUps, { reason: 'error-not-retryable' }), 3);
});

test('the example program runs and exits 0', async () => {
  const main = fileURLToPath(new URL('../src/main.ts', import.meta.url));
  const output = await new Promise<string>((resolve, reject) => {
    execFile(process.execPath, [main], { timeout: 60_000 }, (error, stdout) =>
      error ? reject(error) : resolve(stdout),
    );
  });
  assert.match(output, /attempts: 19/);
  assert.match(output, /rejected: 3/);
});
