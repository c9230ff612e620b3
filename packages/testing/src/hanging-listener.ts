import { connect, type Socket } from 'node:net';
import { Worker } from 'node:worker_threads';
import { originOf } from './loopback.ts';

/** A loopback port where a TCP connect never completes. */
export type HangingListener = {
  /** `http://127.0.0.1:PORT` */
  url: string;
  port: number;
  /** Connections held open to fill the accept queue. */
  readonly held: number;
  /** Closes the held connections, wakes the listening thread and closes its server. Idempotent. */
  close(): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
};

const BACKLOG = 1;

// Runs in a worker thread: listen with a tiny backlog, report the port, then block this thread's
// event loop so nothing ever calls accept(); the kernel's accept queue fills and stays full.
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const { createServer } = require('node:net');
const server = createServer((socket) => socket.destroy());
server.listen({ host: '127.0.0.1', port: 0, backlog: workerData.backlog }, () => {
  parentPort.postMessage(server.address().port);
  const flag = new Int32Array(workerData.signal);
  while (Atomics.load(flag, 0) === 0) Atomics.wait(flag, 0, 0);
  server.close();
});
`;

function connectHeld(port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.off('error', reject);
      socket.on('error', () => {});
      socket.unref();
      resolve(socket);
    });
    socket.once('error', reject);
  });
}

/**
 * "A connect that never completes", on loopback.
 *
 * A `net.Server` listens on 127.0.0.1 with `backlog: 1` in a worker thread whose event loop is
 * then blocked (`Atomics.wait`), so it never accepts. Two connections are opened and held; they sit
 * in the kernel's accept queue, which on Linux holds `backlog + 1` connections. With the queue full,
 * Linux drops every further SYN (`ListenOverflows`; `net.ipv4.tcp_abort_on_overflow` = 0, the
 * default), so a new client's `connect()` stays pending while the kernel retransmits its SYN, until
 * the client gives up (about 130 s with the default `tcp_syn_retries` = 6, then `ETIMEDOUT`).
 *
 * Reliability: this is kernel behaviour, not an HTTP fault. It holds on Linux with default
 * sysctls (verified by this package's tests, which assert a probe connection is still
 * `connecting` after a bounded wait). With `tcp_abort_on_overflow` = 1 the connect is reset
 * instead; other kernels (macOS, Windows) size and handle a full backlog differently, and may
 * refuse or accept the connection. Use a client-side connect timeout when testing against it.
 *
 * @example await using hang = await hangingListener(); await ky(hang.url, { timeout: 100 }); // TimeoutError
 */
export async function hangingListener(): Promise<HangingListener> {
  const signal = new SharedArrayBuffer(4);
  const flag = new Int32Array(signal);
  const worker = new Worker(WORKER_SOURCE, { eval: true, workerData: { backlog: BACKLOG, signal } });
  const exited = new Promise<void>((resolve) => worker.once('exit', () => resolve()));
  const wake = (): void => {
    Atomics.store(flag, 0, 1);
    Atomics.notify(flag, 0);
  };
  let port: number;
  try {
    port = await new Promise<number>((resolve, reject) => {
      worker.once('message', (value: number) => resolve(value));
      worker.once('error', reject);
      worker.once('exit', (code) => reject(new Error(`hanging listener thread exited early (code ${code})`)));
    });
  } catch (error) {
    wake();
    await exited;
    throw error;
  }
  worker.unref();

  const held: Socket[] = [];
  try {
    for (let i = 0; i <= BACKLOG; i += 1) held.push(await connectHeld(port));
  } catch (error) {
    for (const socket of held) socket.destroy();
    wake();
    await exited;
    throw error;
  }

  let closing: Promise<void> | undefined;
  const close = (): Promise<void> => {
    closing ??= (async () => {
      for (const socket of held) socket.destroy();
      // Keep the process alive until the thread has closed its server and exited.
      worker.ref();
      wake();
      await exited;
    })();
    return closing;
  };
  return {
    url: originOf('127.0.0.1', port),
    port,
    held: held.length,
    close,
    [Symbol.asyncDispose]: close,
  };
}
