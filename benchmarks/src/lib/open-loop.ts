import { performance } from 'node:perf_hooks';
import type { CallInit } from './clients.ts';

/**
 * An open-loop workload: `count` calls issued at a fixed `rate`, whatever the client does with them (a client
 * that sleeps in backoff does not slow the arrivals down), so every client gets the same calls at the same
 * times. Calls still pending `drainMs` after the last one was issued are aborted and reported as unfinished.
 */
export type OpenLoopPlan = {
  /** Call `i` goes to `urls[i % urls.length]`. */
  urls: readonly string[];
  /** Calls per second. */
  rate: number;
  count: number;
  /** How long to wait for pending calls after the last call was issued. */
  drainMs: number;
  /** Sent as the `x-bench-call` header (`<tag>-<i>`) on every attempt, so the upstream can count attempts per call. */
  tag: string;
};

export type CallOutcome = 'ok' | 'error' | 'unfinished';

/** One call, times in ms from the start of the run. */
export type CallRecord = { i: number; start: number; end: number; outcome: CallOutcome };

export type OpenLoopResult = {
  records: CallRecord[];
  /** Failed calls by error (name, code, message; first 60 characters). */
  errors: Record<string, number>;
  /** Wall time of the run. */
  ms: number;
  /** When the run started, as `performance.timeOrigin + performance.now()` (comparable across processes). */
  t0Wall: number;
};

/** The header carrying the call id. */
export const callHeader = 'x-bench-call';

function label(error: unknown): string {
  if (!(error instanceof Error)) return String(error).slice(0, 60);
  const code = (error as { code?: unknown }).code;
  const cause = (error as { cause?: unknown }).cause;
  const causeCode = cause instanceof Error ? ((cause as { code?: unknown }).code ?? cause.name) : undefined;
  // URLs carry the upstream's port, which differs by round: without them one error is one label.
  const message = error.message.replace(/https?:\/\/[^\s"'`]+/g, '<url>');
  const parts = [error.name, typeof code === 'string' ? code : undefined, causeCode, message];
  return parts
    .filter((p) => p !== undefined && p !== '')
    .join(' ')
    .slice(0, 60);
}

/**
 * Runs an open-loop plan with `send` (one call: resolves on success, rejects on failure).
 *
 * @example await runOpenLoop((url, init) => ky.get(url, init).text(), { urls: [u], rate: 100, count: 300, drainMs: 2000, tag: 'r1' })
 */
export async function runOpenLoop(
  send: (url: string, init: CallInit) => Promise<unknown>,
  plan: OpenLoopPlan,
): Promise<OpenLoopResult> {
  const records: CallRecord[] = [];
  const errors: Record<string, number> = {};
  const controllers = new Map<number, AbortController>();
  const pending = new Set<Promise<void>>();
  const interval = 1000 / plan.rate;
  const t0 = performance.now();
  const now = (): number => performance.now() - t0;

  const issue = (i: number): void => {
    const controller = new AbortController();
    controllers.set(i, controller);
    const start = now();
    const url = plan.urls[i % plan.urls.length]!;
    const done = (outcome: CallOutcome, error?: unknown): void => {
      controllers.delete(i);
      const aborted = controller.signal.aborted;
      records.push({ i, start, end: now(), outcome: aborted ? 'unfinished' : outcome });
      if (outcome === 'error' && !aborted) {
        const key = label(error);
        errors[key] = (errors[key] ?? 0) + 1;
      }
    };
    const p = send(url, { signal: controller.signal, headers: { [callHeader]: `${plan.tag}-${i}` } }).then(
      () => done('ok'),
      (error: unknown) => done('error', error),
    );
    pending.add(p);
    p.finally(() => pending.delete(p));
  };

  let issued = 0;
  await new Promise<void>((resolve) => {
    const tick = (): void => {
      const elapsed = now();
      while (issued < plan.count && issued * interval <= elapsed) issue(issued++);
      if (issued < plan.count) setTimeout(tick, Math.max(0, issued * interval - now()));
      else resolve();
    };
    tick();
  });

  const deadline = plan.count * interval + plan.drainMs;
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([
    Promise.all(pending),
    new Promise((resolve) => {
      timer = setTimeout(resolve, Math.max(0, deadline - now()));
    }),
  ]);
  clearTimeout(timer);
  // The cutoff: abort what is left; a call that ignores its signal is recorded as unfinished after 2 s more.
  const left = [...controllers.entries()];
  for (const [, controller] of left) controller.abort(new Error('benchmark cutoff'));
  await Promise.race([
    Promise.allSettled(pending),
    new Promise((resolve) => {
      timer = setTimeout(resolve, 2_000);
    }),
  ]);
  clearTimeout(timer);
  const end = now();
  for (const [i] of controllers) records.push({ i, start: i * interval, end, outcome: 'unfinished' });
  records.sort((a, b) => a.i - b.i);
  return { records, errors, ms: end, t0Wall: performance.timeOrigin + t0 };
}
