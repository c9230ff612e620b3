import { createServer, type Socket } from 'node:net';
import { originOf } from './loopback.ts';

/** A loopback TCP server for "the connection succeeds but nothing ever answers". */
export type BlackholeServer = {
  /** `http://127.0.0.1:PORT` */
  url: string;
  port: number;
  /** Connections accepted so far. */
  readonly connections: number;
  /** Destroys every held socket and closes the server. Idempotent. */
  close(): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
};

/**
 * A TCP server on 127.0.0.1 that accepts connections, reads and discards whatever is sent, and never
 * writes a byte: for "headers that never come".
 *
 * @example await using hole = await blackholeServer(); await ky(hole.url, { timeout: 100 }); // TimeoutError
 */
export async function blackholeServer(): Promise<BlackholeServer> {
  const sockets = new Set<Socket>();
  let connections = 0;
  const server = createServer((socket) => {
    connections += 1;
    sockets.add(socket);
    socket.on('error', () => {});
    socket.on('data', () => {});
    socket.once('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host: '127.0.0.1', port: 0 }, () => resolve());
  });
  const address = server.address();
  const port = typeof address === 'object' && address !== null ? address.port : 0;
  let closing: Promise<void> | undefined;
  const close = (): Promise<void> => {
    closing ??= new Promise<void>((resolve) => {
      server.close(() => resolve());
      for (const socket of sockets) socket.destroy();
    });
    return closing;
  };
  return {
    url: originOf('127.0.0.1', port),
    port,
    get connections(): number {
      return connections;
    },
    close,
    [Symbol.asyncDispose]: close,
  };
}
