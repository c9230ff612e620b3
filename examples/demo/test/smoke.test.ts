import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { scaledIncident } from '../src/incident.ts';
import { fitLine, Progress } from '../src/progress.ts';
import { ClientRecorder } from '../src/recorder.ts';
import { runDemo } from '../src/run.ts';

// These checks hold however slow the machine is: counts, and what cannot happen before the
// upstream starts failing. Which phase a call falls in, and how long it takes, depend on the
// machine's load (the incident runs on the wall clock), so nothing here asserts them.

const scale = 0.2; // the incident in 6.8 s instead of 34 s
const rate = 30; // half the demo's rate: half the CPU, so a loaded machine keeps up

const main = fileURLToPath(new URL('../src/main.ts', import.meta.url));

function runMain(
  args: readonly string[],
  env: NodeJS.ProcessEnv = process.env,
): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    execFile(process.execPath, [main, ...args], { timeout: 60_000, env }, (error, stdout, stderr) => {
      if (error !== null && typeof error.code !== 'number') reject(error);
      else resolve({ code: error === null ? 0 : Number(error.code), stdout, stderr });
    });
  });
}

/** The longest time between two consecutive call starts of the run: how long the process stalled. */
function longestStall(calls: readonly { startMs: number }[]): number {
  const starts = calls.map((call) => call.startMs).sort((a, b) => a - b);
  let longest = 0;
  for (let i = 1; i < starts.length; i++) longest = Math.max(longest, starts[i]! - starts[i - 1]!);
  return longest;
}

test('a shortened incident: same calls for both clients, fewer upstream attempts with the preset, its breaker opens and closes, a self-contained report', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'kyr-demo-'));
  try {
    const reportPath = join(dir, 'report.html');
    let progress = '';
    const result = await runDemo({
      scale,
      ratePerSec: rate,
      reportPath,
      out: { write: (text: string) => (progress += text), isTTY: false },
      seed: 7,
    });
    const [plain, resilient] = result.summaries;
    assert.ok(plain !== undefined && resilient !== undefined);

    // The workload is open: one call every 1/rate s until the end of the incident and its tail,
    // whatever happens to earlier calls, so both clients make exactly this many.
    const incident = scaledIncident(scale, 5);
    const expectedCalls = Math.floor((incident.totalMs + Math.round(1_000 * scale)) / (1_000 / rate));
    assert.equal(plain.calls, expectedCalls);
    assert.equal(resilient.calls, expectedCalls);
    for (const s of result.summaries) {
      const byPhase = Object.values(s.successByPhase);
      assert.equal(
        byPhase.reduce((n, p) => n + p.calls, 0),
        s.calls,
        `${s.label}: every call in one phase`,
      );
      assert.equal(
        byPhase.reduce((n, p) => n + p.ok, 0),
        s.ok,
      );
    }

    // Until the brownout begins the upstream answers every request: whatever ended before then
    // succeeded, through both clients (10 ms: the upstreams' schedules start just before the clock).
    const brownoutAt = incident.phases.find((p) => p.name === 'brownout')!.startMs - 10;
    for (const recorder of result.recorders) {
      const early = recorder.calls.filter((call) => call.endMs < brownoutAt);
      assert.ok(early.length > 0, `${recorder.label}: calls before the brownout`);
      assert.deepEqual(
        early.filter((call) => !call.ok).map((call) => call.error),
        [],
        `${recorder.label}: a call failed before the upstream did`,
      );
    }

    // Plain ky retries every 503 twice (the brownout alone has hundreds) and has no breaker.
    assert.ok(plain.attemptsPerCall > 1, `plain ky retried: ${plain.attemptsPerCall}`);
    assert.equal(plain.breakerTransitions.length, 0);
    assert.equal(plain.breakerRejections, 0);

    // What the outage and the recovery do needs the clients to have run through them: a process
    // that stalled for a quarter of the outage or more (a machine with several times more work
    // than cores) may have slept through either. Then these checks are reported as skipped.
    const outage = incident.phases.find((p) => p.name === 'outage')!;
    const stallMs = Math.max(...result.recorders.map((r) => longestStall(r.calls)));
    const state = JSON.stringify({
      stallMs: Math.round(stallMs),
      attempts: [plain.upstreamAttempts, resilient.upstreamAttempts],
      preset: { byPhase: resilient.successByPhase, errors: resilient.errors },
      transitions: resilient.breakerTransitions.map((x) => `${Math.round(x.atMs)} ${x.from}→${x.to}`),
    });
    await t.test('the outage and the recovery', (st) => {
      if (stallMs >= (outage.endMs - outage.startMs) / 4) {
        st.skip(
          `the process stalled ${Math.round(stallMs)} ms, the clients may have slept through them (${state})`,
        );
        return;
      }
      // The preset's breaker opens during the outage and turns calls away without sending them,
      // and its retry budget stops the retries: it sends fewer requests than plain ky.
      assert.ok(resilient.upstreamAttempts < plain.upstreamAttempts, `fewer attempts: ${state}`);
      const opened = resilient.breakerTransitions.find((x) => x.from === 'closed' && x.to === 'open');
      assert.ok(opened !== undefined, `the preset breaker opened: ${state}`);
      assert.ok(opened.atMs < incident.recoveryAtMs, `opened before the recovery: ${state}`);
      assert.ok(resilient.breakerRejections > 0, `calls refused by the open breaker: ${state}`);
      // Both see the recovery: a call succeeds after it, and the preset's breaker closes again.
      for (const s of result.summaries) {
        assert.ok(s.firstSuccessAfterRecoveryMs !== undefined, `${s.label} recovered: ${state}`);
      }
      assert.equal(result.recorders[1]!.breakerState(), 'closed', state);
      assert.match(progress, /upstream: healthy/);
    });

    // What the upstreams counted is what the table shows.
    assert.equal(plain.upstreamAttempts, result.recorders[0]!.attempts());
    assert.equal(resilient.upstreamAttempts, result.recorders[1]!.attempts());
    for (const row of [
      'success rate',
      'latency p50',
      'latency p99',
      'time to fail',
      'upstream attempts per call',
      'recovery → first success',
      'breaker transitions',
    ]) {
      assert.ok(result.table.includes(row), row);
    }
    assert.match(progress, /upstream: recovery/);
    assert.ok(!progress.includes('\x1b['), 'no terminal escapes when the output is not a TTY');

    const html = await readFile(reportPath, 'utf8');
    assert.match(html, /^<!doctype html>/);
    assert.equal((html.match(/<svg /g) ?? []).length, 2, 'one timeline per client');
    assert.doesNotMatch(html, /<script|<link|\ssrc=|href=|url\(|@import/i, 'nothing loaded from anywhere');
    assert.doesNotMatch(html, /https?:\/\//, 'no URL at all (the upstreams are not named)');
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('progress lines fit the terminal: one row each, so the redraw lands on the first', () => {
  let written = '';
  const out = { write: (text: string) => (written += text), isTTY: true, columns: 40 };
  const recorders = [
    new ClientRecorder('plain', 'plain ky', () => 0),
    new ClientRecorder('resilient', 'ky-resilience', () => 0),
  ];
  recorders[1]!.call({ startMs: 0, endMs: 1, ok: true });
  const incident = scaledIncident(0.2, 5);
  const progress = new Progress(out, recorders, incident.phases, incident.totalMs, 1_000);
  progress.update(100);
  progress.update(200);
  const lines = written.split('\n').slice(0, -1);
  assert.equal(lines.length, 6, 'a header and two clients, drawn twice');
  // What shows on screen: the line without the cursor-up and erase-line sequences.
  const rows = lines.map((line) => line.replace('\x1b[3A', '').replaceAll('\x1b[2K', ''));
  for (const row of rows) assert.ok(row.length <= 39, `${row.length} columns: ${JSON.stringify(row)}`);
  assert.ok(rows[1]!.endsWith('…'), 'a client line was cut');
  assert.ok(lines[3]!.startsWith('\x1b[3A'), 'the redraw moves up the three rows it drew');
  assert.equal(fitLine('short', 40), 'short');
  assert.equal(fitLine('x'.repeat(100), undefined), 'x'.repeat(100));
});

test('the demo program runs a shortened incident, prints the table and writes the report', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'kyr-demo-'));
  try {
    // A relative PATH is taken from where the command was typed (INIT_CWD under pnpm), not from
    // the process's directory.
    const reportPath = join(dir, 'r.html');
    const { code, stdout, stderr } = await runMain(
      ['--scale', '0.05', '--budget-ratio', '0.5', '--report', 'r.html'],
      { ...process.env, INIT_CWD: dir },
    );
    assert.equal(code, 0, stderr);
    assert.match(stdout, /upstream: (healthy|brownout|outage|recovery) /, 'progress lines');
    assert.match(stdout, /success rate/);
    assert.match(stdout, /recovery → first success/);
    assert.ok(stdout.includes(`HTML report: ${reportPath}`));
    const html = await readFile(reportPath, 'utf8');
    assert.ok(html.includes('&quot;budget&quot;:{&quot;ratio&quot;:0.5}'), 'the ratio given is the one used');
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('the demo program refuses a bad option value and explains its options', async () => {
  const bad = await runMain(['--scale', '9', '--no-report']);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /--scale must be a number from 0\.02 to 1\.5, got "9"/);
  const help = await runMain(['--help']);
  assert.equal(help.code, 0);
  for (const option of ['--scale', '--rate', '--budget-ratio', '--report', '--no-report']) {
    assert.ok(help.stdout.includes(option), option);
  }
});
