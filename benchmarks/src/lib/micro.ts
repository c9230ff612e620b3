/**
 * The in-process suites' machinery (host-limiter-overhead, breaker-overhead): a wrapper around a stubbed fetch,
 * timed in ns per call, figures interleaved in rounds.
 */
import { formatRatio, markdownTable } from './report.ts';
import { median } from './stats.ts';
import type { SuiteSettings } from './suite.ts';

export type Fetch = (input: Request | string | URL) => Promise<Response>;

/**
 * One figure: runs `calls` calls, resolves when all are done. `share` (default 1) scales the suite's call count
 * for this figure, so that a costly figure does not dominate the suite's time.
 */
export type Figure = { id: string; label: string; share?: number; run(calls: number): Promise<void> };

/** Calls `figure` makes per round for a suite size of `calls`. */
export function callsOf(figure: Figure, calls: number): number {
  return Math.max(1, Math.round(calls * (figure.share ?? 1)));
}

/** A stubbed fetch: an already-made Response without a body, so a figure measures the wrapper around it. */
export function stubFetch(): Fetch {
  const response = new Response(null, { status: 204 });
  return () => Promise.resolve(response);
}

/** `calls` calls awaited one after the other, cycling through `requests`. */
export function sequential(fetch: Fetch, requests: readonly Request[]): (calls: number) => Promise<void> {
  return async (calls) => {
    for (let i = 0; i < calls; i += 1) await fetch(requests[i % requests.length]!);
  };
}

async function nsPerCall(figure: Figure, calls: number): Promise<number> {
  const start = process.hrtime.bigint();
  await figure.run(calls);
  return Number(process.hrtime.bigint() - start) / calls;
}

/** ns per call of every figure, one per round. */
export class MicroSamples {
  readonly #samples: Map<string, number[]>;

  constructor(samples: Map<string, number[]>) {
    this.#samples = samples;
  }

  /** Median ns per call over the rounds. */
  ns(id: string): number {
    return median(this.#samples.get(id)!);
  }

  /** Median of the per-round ratios `a ÷ b`, formatted. */
  ratio(a: string, b: string): string {
    const bs = this.#samples.get(b)!;
    return formatRatio(median(this.#samples.get(a)!.map((value, i) => value / bs[i]!)));
  }

  /** The table: ns per call, and the overhead over the bare figure `bareOf(figure)` (none for a bare figure). */
  table(figures: readonly Figure[], bareOf: (figure: Figure) => string | undefined): string {
    const rows = figures.map((f) => {
      const bare = bareOf(f);
      return [
        f.label,
        this.ns(f.id).toFixed(0),
        bare === undefined ? '—' : (this.ns(f.id) - this.ns(bare)).toFixed(0),
      ];
    });
    return markdownTable(['figure', 'ns per call', 'overhead vs bare (ns)'], rows, [
      'left',
      'right',
      'right',
    ]);
  }
}

/** A warm-up of `warmupCalls` per figure, then `rounds` rounds running every figure once in order. */
export async function measureFigures(
  settings: SuiteSettings,
  name: string,
  figures: readonly Figure[],
  plan: { calls: number; rounds: number; warmupCalls: number },
): Promise<MicroSamples> {
  const samples = new Map<string, number[]>(figures.map((f) => [f.id, []]));
  settings.log(`${name}: warm-up`);
  for (const figure of figures) await figure.run(callsOf(figure, plan.warmupCalls));
  for (let round = 1; round <= plan.rounds; round += 1) {
    settings.log(`${name}: round ${round} of ${plan.rounds}`);
    for (const figure of figures)
      samples.get(figure.id)!.push(await nsPerCall(figure, callsOf(figure, plan.calls)));
  }
  return new MicroSamples(samples);
}
