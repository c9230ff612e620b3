import type { Socket } from 'node:net';

/** Where a socket's error records how many bytes the socket had read since it connected. */
const readKey: unique symbol = Symbol('bytes read before the error');

/**
 * Records, on every error the socket emits, the bytes it had read since it connected (after the TLS handshake
 * for TLS sockets). Installed by the connector before undici's own listener, so the error undici hands to the
 * request carries it. A reset (`ECONNRESET`, `EPIPE`) on a socket that had read bytes before is the stale
 * keep-alive race: the server closed the connection as the request went out.
 */
export function stampSocketErrors(socket: Socket): void {
  const baseline = socket.bytesRead;
  socket.on('error', (error: unknown) => {
    if (typeof error !== 'object' || error === null || readKey in error) return;
    Object.defineProperty(error, readKey, { value: socket.bytesRead - baseline, configurable: true });
  });
}

/** The bytes the socket had read since it connected when it failed with `error`, or `undefined`. */
export function bytesReadBefore(error: unknown): number | undefined {
  if (typeof error !== 'object' || error === null) return undefined;
  const read = (error as { [readKey]?: unknown })[readKey];
  return typeof read === 'number' ? read : undefined;
}
