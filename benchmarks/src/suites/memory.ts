import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { startUpstream } from '@ky-resilience/testing';
import { defineSuite, type Measured } from '../lib/finish.ts';
import type { MemoryPlan, MemoryResult } from '../lib/memory-worker.ts';
import { formatRate, markdownTable } from '../lib/report.ts';
import type { Suite, SuiteSettings } from '../lib/suite.ts';
import { lineChart } from '../lib/svg.ts';

const NAME = 'memory';
const WORKER = fileURLToPath(new URL('../lib/memory-worker.ts', import.meta.url));
const GROWTH_GOAL = 0.05;

function runWorker(plan: MemoryPlan, execArgv: readonly string[]): Promise<MemoryResult> {
  return new Promise((resolve, reject) => {
    const child = fork(WORKER, [JSON.stringify(plan)], {
      execArgv: [...process.execArgv, ...execArgv, '--expose-gc'],
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    let result: MemoryResult | undefined;
    child.once('message', (message: MemoryResult) => {
      result = message;
    });
    child.once('error', reject);
    child.once('exit', (code) => {
      if (result !== undefined) resolve(result);
      else reject(new Error(`memory worker exited (${code}) without a result`));
    });
  });
}

const mb = (bytes: number): string => `${(bytes / 1_048_576).toFixed(1)} MB`;

async function measure(settings: SuiteSettings): Promise<Measured> {
  const requests = settings.requests ?? (settings.smoke ? 1_000 : 100_000);
  const hosts = settings.smoke ? 100 : 10_000;
  // Two passes over the host names: the first (the warm-up) fills every registry to its bound, the second is measured.
  const perVisit = Math.max(1, Math.floor(requests / (2 * hosts)));
  const upstream = await startUpstream({ host: '127.0.0.1' });
  let result: MemoryResult;
  try {
    const plan: MemoryPlan = {
      port: upstream.port,
      requests,
      hosts,
      perVisit,
      concurrency: 64,
      warmup: perVisit * hosts,
      keepAliveMs: 250,
    };
    settings.log(`${NAME}: ${requests} requests over ${hosts} host names`);
    // The upstream keeps every request's headers for its counters: drop them as the run goes.
    const trim = setInterval(() => upstream.reset(), 1_000);
    try {
      result = await runWorker(plan, settings.workerExecArgv);
    } finally {
      clearInterval(trim);
    }
  } finally {
    await upstream.close();
  }
  const growth = result.heapAtEnd / result.heapAfterWarmup - 1;
  const stats = result.stats as {
    agent?: { origins: number; dns: { entries: number } };
    limiter?: { hosts: number };
  } & Record<string, unknown>;
  const registries: [string, string][] = [
    ['agent: DNS cache entries (bound: dnsCacheSize 1000)', String(stats.agent?.dns.entries ?? '—')],
    ['agent: origins with a pool (idle sockets close after 250 ms)', String(stats.agent?.origins ?? '—')],
    ['host limiter: hosts in its registry (bound: maxHosts 10 000)', String(stats.limiter?.hosts ?? '—')],
  ];
  for (const [key, value] of Object.entries(stats)) {
    if (['name', 'inFlight', 'closed', 'agent', 'limiter'].includes(key)) continue;
    registries.push([key, JSON.stringify(value)]);
  }
  const table = markdownTable(
    ['figure', 'value'],
    [
      ['requests / distinct host names', `${formatRate(requests)} / ${formatRate(hosts)}`],
      ['failed requests', String(result.errors)],
      ['throughput', `${formatRate((requests * 1000) / result.ms)} req/s`],
      ['heap after warm-up (after GC)', mb(result.heapAfterWarmup)],
      ['heap at the end (after GC)', mb(result.heapAtEnd)],
      ['growth', `${(growth * 100).toFixed(1)} %`],
      ['heap at the middle / end of the measured pass', result.heapSamples.map(mb).join(' / ')],
      [
        'change by V8 heap space (end − after warm-up)',
        Object.keys(result.spacesAtEnd)
          .map(
            (space) =>
              [space, (result.spacesAtEnd[space] ?? 0) - (result.spacesAfterWarmup[space] ?? 0)] as const,
          )
          .filter(([, delta]) => Math.abs(delta) >= 50_000)
          .map(([space, delta]) => `${space} ${delta >= 0 ? '+' : '−'}${mb(Math.abs(delta))}`)
          .join(', ') || 'none over 0.05 MB',
      ],
      ...registries,
      [
        'handles left right after close()',
        result.leftAfterClose.length === 0 ? 'none' : result.leftAfterClose.join(', '),
      ],
      [
        'handles left 1 s after close()',
        result.leftAfterSecond.length === 0 ? 'none' : result.leftAfterSecond.join(', '),
      ],
    ],
    ['left', 'right'],
  );
  const checks = [
    {
      met: growth < GROWTH_GOAL,
      line: `${growth < GROWTH_GOAL ? 'PASS' : 'MISS'}  heap growth from after the warm-up to the end: ${(growth * 100).toFixed(1)} % (goal < ${GROWTH_GOAL * 100} %)`,
    },
    {
      met: result.leftAfterClose.length === 0,
      line: `${result.leftAfterClose.length === 0 ? 'PASS' : 'MISS'}  open handles (sockets, timers) right after close(): ${result.leftAfterClose.length} (goal 0)`,
    },
    {
      met: result.errors === 0,
      line: `${result.errors === 0 ? 'PASS' : 'MISS'}  failed requests: ${result.errors} (goal 0)${result.firstError === undefined ? '' : `; first: ${result.firstError}`}`,
    },
  ];
  const method = [
    `${formatRate(requests)} GETs through \`createClient()\` (the whole preset, defaults except the agent's \`resolver\`, which maps `,
    `every name to 127.0.0.1, and \`keepAliveTimeout\`/\`keepAliveMaxTimeout\` 250 ms so idle sockets to visited hosts close) `,
    `over ${formatRate(hosts)} host names \`h<n>.bench.test\`, all served by one \`startUpstream()\` on 127.0.0.1. 64 lanes; each `,
    `lane visits one host at a time and sends it ${perVisit} requests one after the other, hosts in turn (so each visit reuses `,
    `one connection). Two passes over the names: the first (${formatRate(perVisit * hosts)} requests) is the warm-up, after which every `,
    `name has been seen and every registry is at its bound. In a child process of its own with \`--expose-gc\`: heap used after `,
    `two full GCs, once the agent reports no open socket (undici's idle timers have about 1 s resolution), after the warm-up, in the middle and at the end of the second pass. \`process.getActiveResourcesInfo()\` `,
    `before the client was created and after \`await close()\`: `,
    `the table lists the difference. One run (the heap samples show the trend within it).`,
  ].join('');
  const svg = lineChart({
    title: `${NAME}: heap used after GC (idle sockets closed): after the warm-up pass, middle and end of the measured pass (MB)`,
    categories: [
      'after the warm-up',
      ...result.heapSamples.map((_, i) => (i === 0 ? 'middle of pass 2' : 'end')),
    ],
    series: [
      {
        name: 'heap used (MB)',
        values: [result.heapAfterWarmup, ...result.heapSamples].map((b) => b / 1_048_576),
      },
    ],
    unit: 'MB',
  });
  return {
    summary: `Memory and leaks: ${formatRate(requests)} requests over ${formatRate(hosts)} host names through the preset; heap growth, registry sizes, open handles after close().`,
    method,
    table,
    svg,
    checks,
  };
}

export const memory: Suite = defineSuite(
  NAME,
  '100 000 requests over 10 000 host names through the preset: heap growth, registry sizes, handles after close().',
  measure,
);
