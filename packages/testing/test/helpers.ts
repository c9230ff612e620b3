import { type Agent, type IncomingHttpHeaders, request } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';

export type RawResponse = {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
  chunks: string[];
};

export type RequestOptions = {
  method?: string;
  body?: string;
  agent?: Agent | false;
  headers?: Record<string, string>;
};

/** One request with node:http; resolves with the status, headers, whole body and each `data` chunk. */
export function send(url: string, options: RequestOptions = {}): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      { method: options.method ?? 'GET', agent: options.agent ?? false, headers: options.headers ?? {} },
      (res) => {
        const chunks: string[] = [];
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => chunks.push(chunk));
        res.once('error', reject);
        res.once('end', () =>
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body: chunks.join(''), chunks }),
        );
      },
    );
    req.once('error', reject);
    req.end(options.body);
  });
}

/** Polls `condition` every 5 ms until it holds; throws after `timeoutMs` (a bound, not an assertion on time). */
export async function waitFor(condition: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(5);
  }
}
