import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { defineSuite, type Measured, rounds as roundsText } from '../lib/finish.ts';
import { KY_COST_FIGURES, type KyCostFigure, type KyCostSamples } from '../lib/ky-cost-worker.ts';
import { markdownTable } from '../lib/report.ts';
import { median } from '../lib/stats.ts';
import type { Suite, SuiteSettings } from '../lib/suite.ts';

const NAME = 'ky-cost';
const WORKER = fileURLToPath(new URL('../lib/ky-cost-worker.ts', import.meta.url));
/** Young generation (MB per semi-space) of the worker: no garbage collection inside a measured loop. */
const SEMI_SPACE_MB = 128;

const LABELS: Record<KyCostFigure, string> = {
  bare: 'bare ky',
  'empty-hook': 'ky + one `beforeError` hook (returns the error)',
  'empty-init': 'ky + one empty `init` hook',
  'host-limiter': 'ky + host limiter',
  'host-limiter-wrap': "ky, fetch wrapped by the host limiter's `wrap()` (no hook)",
  breaker: 'ky + circuit breaker',
  'breaker-wrap': "ky, fetch wrapped by the breakers' `wrapFetch()` (no hook)",
  timeout: 'ky + timeout tiers',
  retry: 'ky + retry',
  preset: 'ky-resilience preset (agent off)',
};

/** One figure's samples, measured in a process of its own. */
async function runWorker(
  figure: KyCostFigure,
  calls: number,
  rounds: number,
  warmup: number,
): Promise<KyCostSamples> {
  const { stdout } = await promisify(execFile)(
    process.execPath,
    [
      '--expose-gc',
      `--min-semi-space-size=${SEMI_SPACE_MB}`,
      `--max-semi-space-size=${SEMI_SPACE_MB}`,
      WORKER,
      figure,
      String(calls),
      String(rounds),
      String(warmup),
    ],
    { maxBuffer: 1 << 20 },
  );
  return JSON.parse(stdout) as KyCostSamples;
}

async function measure(settings: SuiteSettings): Promise<Measured> {
  // 1500 calls of under 50 KB each stay inside the worker's young generation.
  const calls = Math.min(settings.requests ?? (settings.smoke ? 200 : 1500), 2000);
  if (settings.requests !== undefined && settings.requests > calls)
    settings.log(
      `${NAME}: --requests ${settings.requests} capped at ${calls} (a round must fit the young generation)`,
    );
  const rounds = settings.rounds ?? (settings.smoke ? 1 : 3);
  const warmup = settings.smoke ? 500 : 4000;
  settings.log(
    `${NAME}: ${KY_COST_FIGURES.length} figures, warm-up ${warmup} calls each, ${roundsText(rounds)}`,
  );
  const result = {} as Record<KyCostFigure, KyCostSamples>;
  for (const figure of KY_COST_FIGURES) result[figure] = await runWorker(figure, calls, rounds, warmup);
  const bytes = (f: KyCostFigure): number => median(result[f].bytes);
  const ns = (f: KyCostFigure): number => median(result[f].ns);
  const kb = (value: number): string => (value / 1024).toFixed(1);
  const share = (f: KyCostFigure): string =>
    `${(((bytes(f) - bytes('bare')) / bytes('bare')) * 100).toFixed(1)} %`;
  const table = markdownTable(
    ['figure', 'KB allocated per call', '+KB over bare ky', '+ as % of bare ky', 'µs per call (no GC)'],
    KY_COST_FIGURES.map((f) => [
      LABELS[f],
      kb(bytes(f)),
      f === 'bare' ? '—' : `+${kb(bytes(f) - bytes('bare'))}`,
      f === 'bare' ? '—' : share(f),
      (ns(f) / 1000).toFixed(1),
    ]),
    ['left', 'right', 'right', 'right', 'right'],
  );
  const own = (f: KyCostFigure): string => kb(bytes(f) - bytes('empty-init'));
  const info = [
    `INFO  any hook makes ky allocate more per call: one beforeError hook (which never runs here) ${kb(bytes('empty-hook') - bytes('bare'))} KB (${share('empty-hook')} of a bare call), ky merging the instance's hook lists into new arrays on each call; one empty init hook ${kb(bytes('empty-init') - bytes('bare'))} KB (${share('empty-init')}), the same plus a copy of the call's options for the hook`,
    `INFO  beyond that, per call: host limiter ${own('host-limiter')} KB, circuit breaker ${own('breaker')} KB, timeout tiers ${own('timeout')} KB, retry ${own('retry')} KB`,
    `INFO  as fetch wrappers, without a ky hook (no per-request overrides from context): host limiter +${kb(bytes('host-limiter-wrap') - bytes('bare'))} KB (${share('host-limiter-wrap')}), circuit breaker +${kb(bytes('breaker-wrap') - bytes('bare'))} KB (${share('breaker-wrap')})`,
  ];
  const method = [
    'No network: every figure runs in a process of its own (so that no figure shapes the JIT state of another), ',
    `started with \`--expose-gc\` and a young generation of ${SEMI_SPACE_MB} MB per semi-space, so that no garbage `,
    'collection runs inside a measured loop. Every figure is a ky ',
    'instance over the same stubbed fetch, which returns a new small JSON Response per call that says, through the ',
    "agent's body-received protocol, that its body arrived in full (as the agent's responses do); each call is ",
    '`api.get(url).text()`, awaited one after the other. Plugins alone with their defaults (`ky.extend(plugin)`); ',
    'the host limiter and the breakers also as wrappers of the fetch given to `ky.create` (`limiter.wrap(fetch)`, ',
    '`breakers.wrapFetch(fetch)`: no ky hook, so no per-request overrides from `context`); ',
    'the preset with `agent: false` (it then sends through the global fetch, the stub). The two hook figures are ',
    'ky with a `beforeError` hook (which never runs on a success) and with an `init` hook that does nothing: ',
    "the part of a plugin's cost that is ky's own. ",
    `Warm-up of ${warmup} calls, then ${roundsText(rounds)} of ${calls} calls; before each round two full garbage collections, then the growth of the used `,
    'heap over the run divided by the calls: the bytes allocated per call (a figure is the median over the rounds). ',
    "The µs per call exclude garbage collection (which the allocations cost later) and carry the machine's noise. ",
    "Bytes allocated do not depend on the machine's load, unlike time, but they move with the JIT's choices (V8 keeps ",
    'optimising, and its allocation-site tracking adds to some objects): the rounds of one process differ by 1 to 2 KB, ',
    'and by up to 5 KB for the timeout tiers; between runs a figure moved by up to 2 KB. Read differences under about ',
    '2 KB as equal.',
  ].join('');
  return {
    summary: 'Bytes allocated per ky call by each plugin alone and by the preset, over a stubbed fetch.',
    method,
    table,
    info,
  };
}

export const kyCost: Suite = defineSuite(
  NAME,
  'KB allocated per ky call (and µs without GC) by each plugin alone and by the preset, over a stubbed fetch.',
  measure,
);
