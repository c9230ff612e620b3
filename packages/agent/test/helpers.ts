import type { ResolvedAddress, Resolver } from '../src/index.ts';

/** A resolver over a fixed table; records every lookup. Unknown names fail with ENOTFOUND. */
export function tableResolver(
  table: Record<string, readonly ResolvedAddress[] | (() => readonly ResolvedAddress[])>,
): {
  resolver: Resolver;
  calls: string[];
} {
  const calls: string[] = [];
  const resolver: Resolver = async (hostname) => {
    calls.push(hostname);
    const entry = table[hostname];
    if (entry === undefined)
      throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${hostname}`), { code: 'ENOTFOUND' });
    return typeof entry === 'function' ? entry() : entry;
  };
  return { resolver, calls };
}

export const loopback = (ttl?: number): ResolvedAddress[] =>
  ttl === undefined ? [{ address: '127.0.0.1', family: 4 }] : [{ address: '127.0.0.1', family: 4, ttl }];

/** The `cause` of a rejected fetch (`TypeError: fetch failed`), or the error itself. */
export async function failure(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return (error as { cause?: unknown }).cause ?? error;
  }
  throw new Error('expected the request to fail');
}

export function fakeClock(start = 1000): { now: () => number; advance: (ms: number) => void } {
  let t = start;
  return {
    now: () => t,
    advance: (ms) => {
      t += ms;
    },
  };
}
