import { mkdir, writeFile } from 'node:fs/promises';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { circuitBreakerPlugin } from '@ky-resilience/circuit-breaker';
import { ConsecutiveBreaker, circuitBreaker, handleAll } from 'cockatiel';
import CircuitBreaker from 'opossum';
import { environment, environmentLines } from '../lib/env.ts';
import { formatRatio, markdownTable } from '../lib/report.ts';
import { median } from '../lib/stats.ts';
import type { Suite, SuiteOutcome, SuiteSettings } from '../lib/suite.ts';

const NAME = 'breaker-overhead';
/** Distinct hosts in the many-hosts figure (all kept: below the registry's default bound). */
const HOSTS = 1_000;

type Fetch = (input: Request | string | URL) => Promise<Response>;

/** Calls of the open figure per call of the others: each builds a CircuitOpenError with its stack (≈ 10× a closed call). */
const OPEN_SHARE = 0.2;

/**
 * One figure: runs `calls` calls one after the other. `share` (default 1) scales the suite's call
 * count for this figure, so that a costly figure does not dominate the suite's time.
 */
type Figure = { id: string; label: string; share?: number; run(calls: number): Promise<void> };

/** Calls `figure` makes per round for a suite size of `calls`. */
function callsOf(figure: Figure, calls: number): number {
  return Math.max(1, Math.round(calls * (figure.share ?? 1)));
}

function sequential(fetch: Fetch, requests: readonly Request[]): (calls: number) => Promise<void> {
  return async (calls) => {
    for (let i = 0; i < calls; i += 1) await fetch(requests[i % requests.length]!);
  };
}

function rejecting(fetch: Fetch, request: Request): (calls: number) => Promise<void> {
  return async (calls) => {
    for (let i = 0; i < calls; i += 1) {
      try {
        await fetch(request);
      } catch {
        // A CircuitOpenError, as expected.
      }
    }
  };
}

function figures(): Figure[] {
  // A stubbed fetch: an already-made Response without a body, so each figure measures the wrapper.
  const response = new Response(null, { status: 204 });
  const stub: Fetch = () => Promise.resolve(response);
  const oneHost = Array.from({ length: HOSTS }, (_, i) => new Request(`http://bench.test/resource/${i}`));
  const manyHosts = Array.from({ length: HOSTS }, (_, i) => new Request(`http://h${i}.bench.test/resource`));
  const registry = circuitBreakerPlugin();
  const wrapped = registry.wrapFetch(stub);
  registry.isolate('http://open.bench.test');
  const openRequest = new Request('http://open.bench.test/resource');
  const policy = circuitBreaker(handleAll, { halfOpenAfter: 5_000, breaker: new ConsecutiveBreaker(5) });
  const viaCockatiel: Fetch = (input) => policy.execute(() => stub(input));
  // opossum around the same stub: with its defaults (a 10 s timeout, so one timer set and cleared per call;
  // rolling 10 s window of stats, events per call), and with the timeout off (closest to the registry's work).
  const opossumDefaults = new CircuitBreaker(stub);
  const opossumNoTimeout = new CircuitBreaker(stub, { timeout: false });

  return [
    { id: 'bare', label: 'stubbed fetch, no breaker', run: sequential(stub, oneHost) },
    {
      id: 'cockatiel',
      label: 'one cockatiel CircuitBreakerPolicy.execute (no registry, no classification)',
      run: sequential(viaCockatiel, oneHost),
    },
    {
      id: 'opossum',
      label: 'one opossum CircuitBreaker.fire, defaults (10 s timeout: a timer per call)',
      run: sequential((input) => opossumDefaults.fire(input), oneHost),
    },
    {
      id: 'opossum-no-timeout',
      label: 'one opossum CircuitBreaker.fire, timeout off',
      run: sequential((input) => opossumNoTimeout.fire(input), oneHost),
    },
    { id: 'breaker-one', label: 'breaker registry, closed, one host', run: sequential(wrapped, oneHost) },
    {
      id: 'breaker-many',
      label: `breaker registry, closed, ${HOSTS} hosts in turn`,
      run: sequential(wrapped, manyHosts),
    },
    {
      id: 'breaker-open',
      label: 'breaker registry, open (isolated): rejected with CircuitOpenError',
      share: OPEN_SHARE,
      run: rejecting(wrapped, openRequest),
    },
  ];
}

async function measure(figure: Figure, calls: number): Promise<number> {
  const start = process.hrtime.bigint();
  await figure.run(calls);
  return Number(process.hrtime.bigint() - start) / calls;
}

async function run(settings: SuiteSettings): Promise<SuiteOutcome> {
  // 20 000 calls × 3 rounds: under 2 s on 2 cores (the open figure makes a fifth of them).
  const calls = settings.requests ?? (settings.smoke ? 2_000 : 20_000);
  const rounds = settings.rounds ?? (settings.smoke ? 1 : 3);
  const env = environment();
  const loadBefore = loadavg()[0] ?? 0;
  const started = performance.now();
  const list = figures();
  const samples = new Map<string, number[]>(list.map((f) => [f.id, []]));

  settings.log(`${NAME}: warm-up`);
  for (const figure of list) await figure.run(callsOf(figure, Math.min(calls, 10_000)));
  for (let round = 1; round <= rounds; round += 1) {
    settings.log(`${NAME}: round ${round} of ${rounds}`);
    for (const figure of list) samples.get(figure.id)!.push(await measure(figure, callsOf(figure, calls)));
  }
  const seconds = (performance.now() - started) / 1000;
  const loadAfter = loadavg()[0] ?? 0;

  const ns = (id: string): number => median(samples.get(id)!);
  const perRoundRatio = (a: string, b: string): number =>
    median(samples.get(a)!.map((value, i) => value / samples.get(b)![i]!));

  const rows = list.map((f) => [
    f.label,
    ns(f.id).toFixed(0),
    f.id === 'bare' ? '—' : (ns(f.id) - ns('bare')).toFixed(0),
  ]);
  const table = markdownTable(['figure', 'ns per call', 'overhead vs bare (ns)'], rows, [
    'left',
    'right',
    'right',
  ]);
  const comparisons = [
    `breaker registry (one host) ÷ bare cockatiel execute, time per call: ${formatRatio(perRoundRatio('breaker-one', 'cockatiel'))}`,
    `breaker registry (one host) ÷ opossum (defaults), time per call: ${formatRatio(perRoundRatio('breaker-one', 'opossum'))}`,
    `breaker registry (one host) ÷ opossum (timeout off), time per call: ${formatRatio(perRoundRatio('breaker-one', 'opossum-no-timeout'))}`,
    `breaker registry (${HOSTS} hosts) ÷ (one host), time per call: ${formatRatio(perRoundRatio('breaker-many', 'breaker-one'))}`,
  ];
  const method = [
    'In-process, no network: `fetch` is a stub returning an already-made bodiless Response, so the figures ',
    'are the cost of the wrapper itself: key (origin of `request.url`), LRU lookup with idle TTL, the closed-state ',
    'check, cockatiel `execute()`, the default failure classification. The peers are one cockatiel breaker and one ',
    'opossum breaker (one breaker for every host, no registry, no status classification). The open figure builds a `CircuitOpenError` ',
    `(with its stack trace) per call. ${calls} calls awaited one after the other per figure (the open figure `,
    `${Math.max(1, Math.round(calls * OPEN_SHARE))}); warm-up, then ${rounds} `,
    `round${rounds === 1 ? '' : 's'} running every figure once in table order; a figure is the median ns per call `,
    'over the rounds, a ratio the median of per-round ratios.',
  ].join('');
  const loadNote = `Load average (1 min) before / after: ${loadBefore.toFixed(2)} / ${loadAfter.toFixed(2)} on ${env.cores} cores.`;
  const text = [
    `## ${NAME}${settings.smoke ? ' (smoke run: not a measurement)' : ''}`,
    '',
    table,
    '',
    ...comparisons,
    '',
    `Suite time: ${seconds.toFixed(1)} s. ${loadNote}`,
  ].join('\n');

  if (settings.resultsDir !== undefined) {
    await mkdir(settings.resultsDir, { recursive: true });
    const markdown = [
      `# ${NAME}`,
      '',
      'Per-call overhead of `@ky-resilience/circuit-breaker` around a stubbed fetch, against cockatiel and opossum.',
      '',
      `Command (from the repository root): \`${settings.command}\``,
      '',
      ...environmentLines(env),
      `- Suite time: ${seconds.toFixed(1)} s. ${loadNote}`,
      '',
      method,
      '',
      table,
      '',
      '```',
      ...comparisons,
      '```',
      '',
    ].join('\n');
    await writeFile(join(settings.resultsDir, `${NAME}.md`), markdown);
  }
  return { text, goals: 0, missed: 0 };
}

export const breakerOverhead: Suite = {
  name: NAME,
  description:
    'ns per call of the circuit breaker registry around a stubbed fetch (closed, many hosts, open), against cockatiel and opossum.',
  run,
};
