import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { defaultHostLimiterOptions } from '@ky-resilience/host-limiter';
import { defaultRetryBudgetOptions } from '@ky-resilience/retry';
import { startUpstream } from '@ky-resilience/testing';
import { defineSuite, type Measured } from '../lib/finish.ts';
import type { MemoryPlan, MemoryResult } from '../lib/memory-worker.ts';
import { formatRate, markdownTable } from '../lib/report.ts';
import type { Suite, SuiteSettings } from '../lib/suite.ts';
import { lineChart } from '../lib/svg.ts';

const NAME = 'memory';
const WORKER = fileURLToPath(new URL('../lib/memory-worker.ts', import.meta.url));
const GROWTH_GOAL = 0.05;
const LIMITER_MAX_HOSTS = defaultHostLimiterOptions.maxHosts;
/** The handle check's workload: enough host names that many pools are open at close(). */
const HANDLE_CHECK = { requests: 2_000, hosts: 200 };

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
  // More names than the largest bound (the host limiter's maxHosts, 10 000 by default), so that every registry is
  // pushed past its bound and evicts.
  const hosts = settings.smoke ? 100 : LIMITER_MAX_HOSTS + 2_000;
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
      handleCheck: settings.smoke ? { requests: 100, hosts: 10 } : HANDLE_CHECK,
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
  const breakers = stats.breakers as
    | { size: number; maxHosts: number; evicted: number; expired: number }
    | undefined;
  const count = (byType: Record<string, number>): number => Object.values(byType).reduce((a, b) => a + b, 0);
  const listed = (byType: Record<string, number>): string =>
    count(byType) === 0
      ? 'none'
      : Object.entries(byType)
          .map(([type, n]) => `${n} ${type}`)
          .join(', ');
  const registries: [string, string][] = [
    [
      `agent: DNS cache entries (bound: dnsCacheSize ${result.bounds.dnsCacheSize ?? '?'})`,
      String(stats.agent?.dns.entries ?? '—'),
    ],
    ['agent: origins with a pool (idle sockets close after 250 ms)', String(stats.agent?.origins ?? '—')],
    [
      `host limiter: keys in its registry (bound: maxHosts ${formatRate(LIMITER_MAX_HOSTS)}, its default)`,
      `${stats.limiter?.hosts ?? '—'}${stats.limiter === undefined ? '' : `; evicted while busy: ${(stats.limiter as { evictedBusy?: number }).evictedBusy ?? 0}`}`,
    ],
    [
      `circuit breakers: breakers in the registry (bound: maxHosts ${breakers?.maxHosts ?? '?'})`,
      breakers === undefined
        ? '—'
        : `${breakers.size}; evicted ${formatRate(breakers.evicted)}, expired ${breakers.expired}`,
    ],
    [
      `retry budget: per-host buckets (bound: maxHosts ${defaultRetryBudgetOptions.maxHosts})`,
      'not exposed by client.stats(); a bucket exists only for a host with a recent failure, and this run has none',
    ],
  ];
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
        'handle check: sockets connected / origins with a pool when close() was called',
        `${result.openAtClose.sockets} / ${result.openAtClose.origins}`,
      ],
      ['handle check: resources the client created (tracked types)', listed(result.created)],
      ['handle check: left when close() resolved (after one loop turn)', listed(result.leftAfterClose)],
      ['handle check: left 1 s after close()', listed(result.leftAfterSecond)],
      [
        'handle check: agent stats after close() (origins / sockets)',
        result.agentAfterClose === undefined
          ? '—'
          : `${result.agentAfterClose.origins} / ${result.agentAfterClose.sockets}`,
      ],
      ["control: an unref'd timer and socket left open on purpose, as tracked", listed(result.control)],
    ],
    ['left', 'right'],
  );
  // npm undici's module-wide ticker: one unref'd timer per process, shared by every undici dispatcher, refreshed while
  // any undici timer is pending and left to lapse after its next tick otherwise. Not the client's; shown apart.
  const isTicker = (key: string) => key.startsWith('Timeout at undici/lib/util/timers.js');
  const own = Object.fromEntries(Object.entries(result.leftAfterClose).filter(([k]) => !isTicker(k)));
  const ticker = count(result.leftAfterClose) - count(own);
  const left = count(own) + count(result.leftAfterSecond);
  const controlSeen = (result.control.Timeout ?? 0) >= 1 && (result.control.TCPWRAP ?? 0) >= 1;
  const checks = [
    {
      met: growth < GROWTH_GOAL,
      line: `${growth < GROWTH_GOAL ? 'PASS' : 'MISS'}  heap growth from after the warm-up to the end: ${(growth * 100).toFixed(1)} % (goal < ${GROWTH_GOAL * 100} %)`,
    },
    {
      met: left === 0 && controlSeen && result.openAtClose.sockets > 0,
      line:
        `${left === 0 && controlSeen && result.openAtClose.sockets > 0 ? 'PASS' : 'MISS'}  open handles (sockets, timers) of the client ` +
        `after close(): ${count(own)} when it resolved, ${count(result.leftAfterSecond)} 1 s later (goal 0; close() called with ` +
        `${result.openAtClose.sockets} sockets open; the control's unref'd timer and socket ${controlSeen ? 'were' : 'were NOT'} seen)` +
        (ticker > 0
          ? `; besides, undici's module-wide timer tick, alive ${ticker === 1 ? 'once' : `${ticker}×`} until its next tick`
          : ''),
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
    `two full GCs, once the agent reports no open socket (undici's idle timers have about 1 s resolution), after the warm-up, in `,
    `the middle and at the end of the second pass. ${formatRate(hosts)} names, more than the host limiter's default bound `,
    `(maxHosts ${formatRate(LIMITER_MAX_HOSTS)}), so every registry is pushed past its bound; the bounds shown are read from the `,
    `client where it exposes them. Handle check: a second client with the agent's default keep-alive (4 s), created `,
    `with an \`async_hooks\` hook on that records every socket, connect and DNS request, timer (ref'd or not: `,
    `\`getActiveResourcesInfo()\` omits unref'd handles, and this project's timers and undici's idle sockets are unref'd) `,
    `and immediate it creates, and drops it on its destroy; ${formatRate(HANDLE_CHECK.requests)} GETs over `,
    `${HANDLE_CHECK.hosts} names (16 lanes), then \`await close()\` at once, while its pools hold open sockets; the `,
    `resources still alive one loop turn later, and 1 s later, are listed (with the first stack frame outside Node that `,
    `created them). npm undici keeps one module-wide timer per process for its own timeouts (\`lib/util/timers.js\`, `,
    `unref'd, refreshed while any undici timer is pending): it is not the client's, so it is shown but not counted `,
    `against the goal when close() resolves; 1 s later every tracked resource must be gone. The control, run first: an unref'd timer and `,
    `an unref'd socket left open on purpose must show up in the same tracker, or the check fails. One run (the heap `,
    `samples show the trend within it).`,
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
