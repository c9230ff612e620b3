import { createHostLimiter } from '@ky-resilience/host-limiter';
import { bulkhead } from 'cockatiel';
import pLimit from 'p-limit';
import { defineSuite, type Measured, rounds as roundsText } from '../lib/finish.ts';
import { type Fetch, type Figure, measureFigures, sequential, stubFetch } from '../lib/micro.ts';
import type { Suite, SuiteSettings } from '../lib/suite.ts';

const NAME = 'host-limiter-overhead';
/** Calls launched at once in the contended figures (a queue of BATCH − LIMIT forms at once). */
const BATCH = 1_000;
const LIMIT = 5;

function batched(fetch: Fetch, requests: readonly Request[]): (calls: number) => Promise<void> {
  return async (calls) => {
    // Exactly `calls` calls: the last batch is partial when `calls` is not a multiple of BATCH.
    const pending: Promise<Response>[] = new Array(BATCH);
    for (let done = 0; done < calls; done += BATCH) {
      const n = Math.min(BATCH, calls - done);
      pending.length = n;
      for (let i = 0; i < n; i += 1) pending[i] = fetch(requests[i]!);
      await Promise.all(pending);
    }
  };
}

function figures(): Figure[] {
  const stub = stubFetch();
  // As with ky, every call in flight has a Request (and so an AbortSignal) of its own; made once, reused.
  const requests = Array.from({ length: BATCH }, (_, i) => new Request(`http://bench.test/resource/${i}`));

  // Fresh limiters per figure set; queue timeout on (the default), as in production.
  const fastLimiter = createHostLimiter({ concurrency: LIMIT }).wrap(stub);
  const queueLimiter = createHostLimiter({ concurrency: LIMIT, maxQueue: BATCH }).wrap(stub);
  const fastP = pLimit(LIMIT);
  const queueP = pLimit(LIMIT);
  const viaP =
    (limit: ReturnType<typeof pLimit>): Fetch =>
    (input) =>
      limit(() => stub(input));
  // cockatiel's bulkhead: `capacity` in flight, up to `queue` waiting; the request's signal is passed, as a
  // caller honouring aborts would (cockatiel checks it when a waiter is dequeued; it adds no listener).
  const fastBulkhead = bulkhead(LIMIT);
  const queueBulkhead = bulkhead(LIMIT, BATCH);
  const viaBulkhead =
    (policy: ReturnType<typeof bulkhead>): Fetch =>
    (input) =>
      policy.execute(() => stub(input), input instanceof Request ? input.signal : undefined);

  return [
    { id: 'bare-seq', label: 'stubbed fetch, no limiter, 1 in flight', run: sequential(stub, requests) },
    {
      id: 'limiter-seq',
      label: `host limiter (${LIMIT}/host), 1 in flight`,
      run: sequential(fastLimiter, requests),
    },
    { id: 'plimit-seq', label: `p-limit(${LIMIT}), 1 in flight`, run: sequential(viaP(fastP), requests) },
    {
      id: 'bulkhead-seq',
      label: `cockatiel bulkhead(${LIMIT}), 1 in flight`,
      run: sequential(viaBulkhead(fastBulkhead), requests),
    },
    {
      id: 'bare-batch',
      label: `stubbed fetch, no limiter, ${BATCH} at once`,
      run: batched(stub, requests),
    },
    {
      id: 'limiter-batch',
      label: `host limiter (${LIMIT}/host), ${BATCH} at once (queue)`,
      run: batched(queueLimiter, requests),
    },
    {
      id: 'plimit-batch',
      label: `p-limit(${LIMIT}), ${BATCH} at once (queue)`,
      run: batched(viaP(queueP), requests),
    },
    {
      id: 'bulkhead-batch',
      label: `cockatiel bulkhead(${LIMIT}, ${BATCH}), ${BATCH} at once (queue)`,
      run: batched(viaBulkhead(queueBulkhead), requests),
    },
  ];
}

async function measure(settings: SuiteSettings): Promise<Measured> {
  const calls = settings.requests ?? (settings.smoke ? 2_000 : 60_000);
  const rounds = settings.rounds ?? (settings.smoke ? 1 : 5);
  const list = figures();
  const samples = await measureFigures(settings, NAME, list, {
    calls,
    rounds,
    warmupCalls: Math.min(calls, 20_000),
  });
  const table = samples.table(list, (f) =>
    f.id.startsWith('bare') ? undefined : f.id.endsWith('-seq') ? 'bare-seq' : 'bare-batch',
  );
  const comparisons = [
    `host limiter ÷ p-limit, time per call, 1 in flight: ${samples.ratio('limiter-seq', 'plimit-seq')}`,
    `host limiter ÷ p-limit, time per call, ${BATCH} at once: ${samples.ratio('limiter-batch', 'plimit-batch')}`,
    `host limiter ÷ cockatiel bulkhead, time per call, 1 in flight: ${samples.ratio('limiter-seq', 'bulkhead-seq')}`,
    `host limiter ÷ cockatiel bulkhead, time per call, ${BATCH} at once: ${samples.ratio('limiter-batch', 'bulkhead-batch')}`,
  ];
  const method = [
    `In-process, no network: \`fetch\` is a stub returning an already-made bodiless Response, so the figures `,
    `are the cost of the wrapper itself. As with ky, each call in flight has a Request (and an AbortSignal) of its `,
    `own (${BATCH} made once, reused). "1 in flight": ${calls} calls awaited one after the other (the limiter's `,
    `fast path: a free slot, no queue, no timer). "${BATCH} at once": batches of ${BATCH} calls launched together `,
    `with a limit of ${LIMIT}, so ${BATCH - LIMIT} wait in the queue (the limiter also registers an abort listener for each `,
    `waiter and keeps one queue-timeout timer per key; p-limit and cockatiel's bulkhead have neither: the bulkhead gets `,
    `the request's signal and checks it when a waiter is dequeued). Every call goes through the limiter's key lookup `,
    `(origin of \`request.url\`, LRU registry). Warm-up, then ${roundsText(rounds)} running every figure `,
    `once in table order; a figure is the median ns per call over the rounds, a ratio the median of per-round ratios `,
    `(below 1.00× the host limiter is faster).`,
  ].join('');
  return {
    summary:
      "Per-call overhead of `@ky-resilience/host-limiter` around a stubbed fetch, against p-limit and cockatiel's bulkhead.",
    method,
    table,
    info: comparisons,
  };
}

export const hostLimiterOverhead: Suite = defineSuite(
  NAME,
  "ns per call of the host limiter around a stubbed fetch, against p-limit and cockatiel's bulkhead (fast path and queued).",
  measure,
);
