/**
 * The ky-cost suite's measuring process (started with `--expose-gc` and a young generation large enough that no
 * garbage collection runs inside a measured loop). Each figure is a ky instance over a stubbed fetch; the process
 * prints one JSON line: per figure, the bytes allocated per call and the ns per call of every round.
 *
 *   node --expose-gc --min-semi-space-size=128 --max-semi-space-size=128 src/lib/ky-cost-worker.ts CALLS ROUNDS WARMUP
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
export type KyCostResult = Record<KyCostFigure, { bytes: number[]; ns: number[] }>;

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

async function instances(): Promise<Record<KyCostFigure, KyInstance>> {
  const { circuitBreakerPlugin } = await import('@ky-resilience/circuit-breaker');
  const { timeoutPlugin } = await import('@ky-resilience/timeout');
  const { retryPlugin } = await import('@ky-resilience/retry');
  const { createClient } = await import('ky-resilience');
  const bare = ky.create({ fetch: stubFetch as typeof fetch });
  // The preset's agent is off: it then sends through the global fetch, the stub in this process.
  globalThis.fetch = stubFetch as typeof fetch;
  return {
    bare,
    'empty-hook': bare.extend({ hooks: { beforeError: [({ error }) => error] } }),
    'empty-init': bare.extend({ hooks: { init: [() => {}] } }),
    'host-limiter': bare.extend(createHostLimiter({ concurrency: 64 }).kyOptions),
    'host-limiter-wrap': ky.create({
      fetch: createHostLimiter({ concurrency: 64 }).wrap(stubFetch) as typeof fetch,
    }),
    breaker: bare.extend(circuitBreakerPlugin().kyOptions),
    'breaker-wrap': ky.create({ fetch: circuitBreakerPlugin().wrapFetch(stubFetch) as typeof fetch }),
    timeout: bare.extend(timeoutPlugin()),
    retry: bare.extend(retryPlugin()),
    preset: createClient({ agent: false }) as unknown as KyInstance,
  };
}

const URL_ = 'http://127.0.0.1:9/items';

async function calls(api: KyInstance, n: number): Promise<void> {
  for (let i = 0; i < n; i += 1) await api.get(URL_).text();
}

async function main(): Promise<void> {
  const [callCount, roundCount, warmup] = process.argv.slice(2).map(Number) as [number, number, number];
  const gc = (globalThis as { gc?: () => void }).gc;
  if (gc === undefined) throw new Error('ky-cost-worker needs --expose-gc');
  const apis = await instances();
  for (const figure of KY_COST_FIGURES) await calls(apis[figure], warmup);
  const result = Object.fromEntries(
    KY_COST_FIGURES.map((f) => [f, { bytes: [] as number[], ns: [] as number[] }]),
  ) as KyCostResult;
  for (let round = 0; round < roundCount; round += 1) {
    const order = round % 2 === 0 ? KY_COST_FIGURES : [...KY_COST_FIGURES].reverse();
    for (const figure of order) {
      gc();
      gc();
      const before = v8.getHeapStatistics().used_heap_size;
      const start = process.hrtime.bigint();
      await calls(apis[figure], callCount);
      const ns = Number(process.hrtime.bigint() - start) / callCount;
      const bytes = (v8.getHeapStatistics().used_heap_size - before) / callCount;
      result[figure].bytes.push(bytes);
      result[figure].ns.push(ns);
    }
  }
  process.stdout.write(`${JSON.stringify(result)}\n`);
}

// Run as a script (the suite imports only the figure list from this module).
if (process.argv[1] === fileURLToPath(import.meta.url)) {
  await main();
}
