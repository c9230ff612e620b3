import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { runDemo } from '../src/run.ts';

const scale = 0.1; // the incident in 3.4 s instead of 34 s

test('a shortened incident: same calls for both clients, fewer upstream attempts with the preset, a self-contained report', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'kyr-demo-'));
  try {
    const reportPath = join(dir, 'report.html');
    let progress = '';
    const result = await runDemo({
      scale,
      ratePerSec: 60,
      reportPath,
      out: { write: (text: string) => (progress += text), isTTY: false },
      seed: 7,
    });
    const [plain, resilient] = result.summaries;
    assert.ok(plain !== undefined && resilient !== undefined);
    assert.equal(plain.calls, resilient.calls, 'the workload is the same for both');
    assert.ok(plain.calls >= 150, `calls ${plain.calls}`);
    for (const s of result.summaries) {
      assert.equal(s.successByPhase.healthy.ok, s.successByPhase.healthy.calls, `${s.label}: healthy phase`);
      assert.ok(s.successByPhase.outage.calls > 0);
      assert.ok(s.firstSuccessAfterRecoveryMs !== undefined, `${s.label} recovered`);
    }
    // Plain ky retries every 503 twice; the preset's retry budget caps retries during the incident.
    assert.ok(
      resilient.upstreamAttempts < plain.upstreamAttempts,
      `upstream attempts: preset ${resilient.upstreamAttempts}, plain ${plain.upstreamAttempts}`,
    );
    assert.ok(plain.attemptsPerCall > 1, 'plain ky retried');
    // What the upstreams counted is what the table shows.
    assert.equal(plain.upstreamAttempts, result.recorders[0]!.attempts());
    assert.match(result.table, /upstream attempts per call/);
    assert.match(progress, /upstream: /);
    assert.ok(!progress.includes('\x1b['), 'no terminal escapes when the output is not a TTY');

    const html = await readFile(reportPath, 'utf8');
    assert.match(html, /^<!doctype html>/);
    assert.equal((html.match(/<svg /g) ?? []).length, 2, 'one timeline per client');
    assert.doesNotMatch(html, /<script|<link|\ssrc=|href=|url\(|@import/i, 'nothing loaded from anywhere');
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('the demo program runs a shortened incident and exits 0', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'kyr-demo-'));
  try {
    const main = fileURLToPath(new URL('../src/main.ts', import.meta.url));
    const reportPath = join(dir, 'r.html');
    const stdout = await new Promise<string>((resolve, reject) => {
      execFile(
        process.execPath,
        [main, '--scale', String(scale), '--report', reportPath],
        { timeout: 60_000 },
        (error, out) => (error ? reject(error) : resolve(out)),
      );
    });
    assert.match(stdout, /success rate/);
    assert.match(stdout, /recovery → first success/);
    assert.ok(stdout.includes(`HTML report: ${reportPath}`));
    assert.ok((await readFile(reportPath, 'utf8')).length > 1000);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
