import { circuitBreakerPlugin } from '@ky-resilience/circuit-breaker';
import { ConsecutiveBreaker, circuitBreaker, handleAll } from 'cockatiel';
import CircuitBreaker from 'opossum';
import { defineSuite, type Measured, rounds as roundsText } from '../lib/finish.ts';
import { type Fetch, type Figure, measureFigures, sequential, stubFetch } from '../lib/micro.ts';
import type { Suite, SuiteSettings } from '../lib/suite.ts';

const NAME = 'breaker-overhead';
/** Distinct hosts in the many-hosts figure (all kept: below the registry's default bound). */
const HOSTS = 1_000;

/** Calls of the open figure per call of the others: each builds a CircuitOpenError with its stack (≈ 10× a closed call). */
const OPEN_SHARE = 0.2;

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

/** The opossum breakers of `figures()`: shut down after the run (their stats buckets run on an interval). */
const opened: CircuitBreaker[] = [];

function figures(): Figure[] {
  const stub = stubFetch();
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
  opened.push(opossumDefaults, opossumNoTimeout);

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

async function measure(settings: SuiteSettings): Promise<Measured> {
  // 20 000 calls × 3 rounds: under 2 s on 2 cores (the open figure makes a fifth of them).
  const calls = settings.requests ?? (settings.smoke ? 2_000 : 20_000);
  const rounds = settings.rounds ?? (settings.smoke ? 1 : 3);
  const list = figures();
  let samples: Awaited<ReturnType<typeof measureFigures>>;
  try {
    samples = await measureFigures(settings, NAME, list, {
      calls,
      rounds,
      warmupCalls: Math.min(calls, 10_000),
    });
  } finally {
    // Nothing of this suite may outlive it in the parent, which hosts every later suite's upstreams.
    for (const breaker of opened.splice(0)) breaker.shutdown();
  }
  const table = samples.table(list, (f) => (f.id === 'bare' ? undefined : 'bare'));
  const comparisons = [
    `breaker registry (one host) ÷ bare cockatiel execute, time per call: ${samples.ratio('breaker-one', 'cockatiel')}`,
    `breaker registry (one host) ÷ opossum (defaults), time per call: ${samples.ratio('breaker-one', 'opossum')}`,
    `breaker registry (one host) ÷ opossum (timeout off), time per call: ${samples.ratio('breaker-one', 'opossum-no-timeout')}`,
    `breaker registry (${HOSTS} hosts) ÷ (one host), time per call: ${samples.ratio('breaker-many', 'breaker-one')}`,
  ];
  const method = [
    'In-process, no network: `fetch` is a stub returning an already-made bodiless Response, so the figures ',
    'are the cost of the wrapper itself: key (origin of `request.url`), LRU lookup with idle TTL, the closed-state ',
    'check, cockatiel `execute()`, the default failure classification. The peers are one cockatiel breaker and one ',
    'opossum breaker (one breaker for every host, no registry, no status classification). The open figure builds a `CircuitOpenError` ',
    `(with its stack trace) per call. ${calls} calls awaited one after the other per figure (the open figure `,
    `${Math.max(1, Math.round(calls * OPEN_SHARE))}); warm-up, then ${roundsText(rounds)} `,
    'running every figure once in table order; a figure is the median ns per call ',
    'over the rounds, a ratio the median of per-round ratios.',
  ].join('');
  return {
    summary:
      'Per-call overhead of `@ky-resilience/circuit-breaker` around a stubbed fetch, against cockatiel and opossum.',
    method,
    table,
    info: comparisons,
  };
}

export const breakerOverhead: Suite = defineSuite(
  NAME,
  'ns per call of the circuit breaker registry around a stubbed fetch (closed, many hosts, open), against cockatiel and opossum.',
  measure,
);
