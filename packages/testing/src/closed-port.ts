import { createServer } from 'node:net';
import { assertLoopbackHost } from './loopback.ts';

/**
 * A port on loopback where nothing listens: binds port 0, reads the port, closes. Connecting to it
 * is refused (`ECONNREFUSED`). Another process could bind the same port in between; on a test
 * machine that is rare enough to ignore.
 *
 * @example const port = await closedPort(); await fetch(`http://127.0.0.1:${port}/`); // rejects, cause ECONNREFUSED
 */
export async function closedPort(host: string = '127.0.0.1'): Promise<number> {
  const address = assertLoopbackHost('host', host);
  const server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host: address, port: 0 }, () => resolve());
  });
  const bound = server.address();
  const port = typeof bound === 'object' && bound !== null ? bound.port : 0;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}
