import { UpstreamOptionsError } from './errors.ts';

/** The only addresses the test servers bind to. */
export type LoopbackHost = '127.0.0.1' | '::1';

/** Refuses (with an `UpstreamOptionsError`, a `TypeError`) any host other than `127.0.0.1` or `::1`. */
export function assertLoopbackHost(option: string, host: unknown): LoopbackHost {
  if (host !== '127.0.0.1' && host !== '::1') {
    throw new UpstreamOptionsError(option, host, "a loopback address: '127.0.0.1' or '::1'");
  }
  return host;
}

/** `http://127.0.0.1:PORT` or `http://[::1]:PORT`. */
export function originOf(host: LoopbackHost, port: number): string {
  return host === '::1' ? `http://[::1]:${port}` : `http://${host}:${port}`;
}
