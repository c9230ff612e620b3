import type { LoadResult } from './load.ts';

/** Messages from the benchmark runner to a client worker. */
export type ParentMessage =
  | { type: 'run'; id: number; url: string; requests: number; concurrency: number }
  | { type: 'inspect'; id: number }
  | { type: 'close' };

/** Messages from a client worker to the runner. */
export type WorkerMessage =
  | { type: 'ready' }
  | { type: 'result'; id: number; result: LoadResult }
  | { type: 'facts'; id: number; facts: Record<string, unknown> }
  | { type: 'failed'; id: number; error: string };
