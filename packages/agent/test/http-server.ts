import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';

/** A request as the server received it (body read in full). */
export type SeenRequest = {
  method: string;
  url: string;
  /** Header pairs as sent, names lower-cased, in order. */
  headers: [string, string][];
  body: Buffer;
  /** True when the body came chunked (no Content-Length). */
  chunked: boolean;
};

export type TestServer = {
  url: string;
  origin: string;
  port: number;
  seen: SeenRequest[];
  /** TCP connections accepted so far. */
  readonly connections: number;
  /** Sockets open now. */
  readonly openSockets: number;
  close(): Promise<void>;
};

export type Handler = (request: IncomingMessage, response: ServerResponse, seen: SeenRequest) => void;

/** A `node:http` server on 127.0.0.1 for what the testing upstream does not script: encodings, redirects... */
export async function startServer(handler: Handler): Promise<TestServer> {
  const seen: SeenRequest[] = [];
  const sockets = new Set<Socket>();
  let connections = 0;
  const server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const headers: [string, string][] = [];
      for (let i = 0; i < request.rawHeaders.length; i += 2) {
        headers.push([request.rawHeaders[i]!.toLowerCase(), request.rawHeaders[i + 1]!]);
      }
      const record: SeenRequest = {
        method: request.method ?? '',
        url: request.url ?? '',
        headers,
        body: Buffer.concat(chunks),
        chunked: request.headers['transfer-encoding'] === 'chunked',
      };
      seen.push(record);
      handler(request, response, record);
    });
  });
  server.on('connection', (socket: Socket) => {
    connections++;
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  const origin = `http://127.0.0.1:${port}`;
  return {
    url: origin,
    origin,
    port,
    seen,
    get connections() {
      return connections;
    },
    get openSockets() {
      return sockets.size;
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}

/** The headers of a seen request as an object (names lower-cased; repeated names joined with `, `). */
export function headerObject(seen: SeenRequest): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of seen.headers) out[name] = name in out ? `${out[name]}, ${value}` : value;
  return out;
}

/** Polls `condition` every few ms (at most `tries` times); true once it holds. */
export async function eventually(condition: () => boolean, tries = 200): Promise<boolean> {
  for (let i = 0; i < tries; i++) {
    if (condition()) return true;
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  return condition();
}
