import type { LoadResult } from './load.ts';
import type { OpenLoopPlan, OpenLoopResult } from './open-loop.ts';

/** Messages from the benchmark runner to a client worker. */
export type ParentMessage =
  | { type: 'run'; id: number; url: string; requests: number; concurrency: number }
  | { type: 'open-loop'; id: number; plan: OpenLoopPlan }
  | { type: 'renew'; id: number }
  | { type: 'inspect'; id: number }
  | { type: 'close' };

/** Messages from a client worker to the runner. */
export type WorkerMessage =
  | { type: 'ready' }
  | { type: 'result'; id: number; result: LoadResult }
  | { type: 'calls'; id: number; result: OpenLoopResult }
  | { type: 'renewed'; id: number }
  | { type: 'facts'; id: number; facts: Record<string, unknown> }
  | { type: 'failed'; id: number; error: string };
