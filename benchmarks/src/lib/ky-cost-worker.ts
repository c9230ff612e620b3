/**
 * The ky-cost suite's measuring process, one per figure (started with `--expose-gc` and a young generation large
 * enough that no garbage collection runs inside a measured loop). The figure is a ky instance over a stubbed
 * fetch; the process prints one JSON line: the bytes allocated per call and the ns per call of every round.
 *
 *   node --expose-gc --min-semi-space-size=128 --max-semi-space-size=128 src/lib/ky-cost-worker.ts FIGURE CALLS ROUNDS WARMUP
 */
import { fileURLToPath } from 'node:url';
import v8 from 'node:v8';
import { createHostLimiter } from '@ky-resilience/host-limiter';
import ky, { type KyInstance } from 'ky';

/** Every figure of the suite, in table order. */
export const KY_COST_FIGURES = [
  'bare',
  'empty-hook',
  'empty-init',
  'host-limiter',
  'host-limiter-wrap',
  'breaker',
  'breaker-wrap',
  'timeout',
  'retry',
  'preset',
] as const;
export type KyCostFigure = (typeof KY_COST_FIGURES)[number];
/** One figure's samples: bytes allocated and ns per call, one of each per round. */
export type KyCostSamples = { bytes: number[]; ns: number[] };

const BODY = '{"id":1,"status":"ok","items":[1,2,3]}';
const bodyReceived = Symbol.for('@ky-resilience/body-received@1');

/**
 * A stubbed fetch: a new JSON Response per call, which says (as the agent's responses do, through the
 * body-received protocol) that its body has arrived in full.
 */
async function stubFetch(): Promise<Response> {
  const response = new Response(BODY, { headers: { 'content-type': 'application/json' } });
  Object.defineProperty(response, bodyReceived, { value: () => BODY.length });
  return response;
}

/** The ky instance of one figure (only what it needs is imported). */
async function instance(figure: KyCostFigure): Promise<KyInstance> {
  const bare = ky.create({ fetch: stubFetch as typeof fetch });
  switch (figure) {
    case 'bare':
      return bare;
    case 'empty-hook':
      return bare.extend({ hooks: { beforeError: [({ error }) => error] } });
    case 'empty-init':
      return bare.extend({ hooks: { init: [() => {}] } });
    case 'host-limiter':
      return bare.extend(createHostLimiter({ concurrency: 64 }).kyOptions);
    case 'host-limiter-wrap':
      return ky.create({ fetch: createHostLimiter({ concurrency: 64 }).wrap(stubFetch) as typeof fetch });
    case 'breaker': {
      const { circuitBreakerPlugin } = await import('@ky-resilience/circuit-breaker');
      return bare.extend(circuitBreakerPlugin().kyOptions);
    }
    case 'breaker-wrap': {
      const { circuitBreakerPlugin } = await import('@ky-resilience/circuit-breaker');
      return ky.create({ fetch: circuitBreakerPlugin().wrapFetch(stubFetch) as typeof fetch });
    }
    case 'timeout': {
      const { timeoutPlugin } = await import('@ky-resilience/timeout');
      return bare.extend(timeoutPlugin());
    }
    case 'retry': {
      const { retryPlugin } = await import('@ky-resilience/retry');
      return bare.extend(retryPlugin());
    }
    case 'preset': {
      const { createClient } = await import('ky-resilience');
      // The preset's agent is off: it then sends through the global fetch, the stub in this process.
      globalThis.fetch = stubFetch as typeof fetch;
      return createClient({ agent: false }) as unknown as KyInstance;
    }
  }
}

const URL_ = 'http://127.0.0.1:9/items';

async function calls(api: KyInstance, n: number): Promise<void> {
  for (let i = 0; i < n; i += 1) await api.get(URL_).text();
}

async function main(): Promise<void> {
  const [figure, ...numbers] = process.argv.slice(2);
  const [callCount, roundCount, warmup] = numbers.map(Number) as [number, number, number];
  if (!KY_COST_FIGURES.includes(figure as KyCostFigure)) throw new Error(`unknown figure ${figure}`);
  const gc = (globalThis as { gc?: () => void }).gc;
  if (gc === undefined) throw new Error('ky-cost-worker needs --expose-gc');
  const api = await instance(figure as KyCostFigure);
  await calls(api, warmup);
  const result: KyCostSamples = { bytes: [], ns: [] };
  for (let round = 0; round < roundCount; round += 1) {
    gc();
    gc();
    const before = v8.getHeapStatistics().used_heap_size;
    const start = process.hrtime.bigint();
    await calls(api, callCount);
    const ns = Number(process.hrtime.bigint() - start) / callCount;
    result.bytes.push((v8.getHeapStatistics().used_heap_size - before) / callCount);
    result.ns.push(ns);
  }
  process.stdout.write(`${JSON.stringify(result)}\n`);
}

// Run as a script (the suite imports only the figure list from this module).
if (process.argv[1] === fileURLToPath(import.meta.url)) {
  await main();
}
