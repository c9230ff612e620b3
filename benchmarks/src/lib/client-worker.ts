import { type ChildProcess, fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { ClientName, ClientOptions } from './clients.ts';
import type { LoadResult } from './load.ts';
import type { OpenLoopPlan, OpenLoopResult } from './open-loop.ts';
import type { ParentMessage, WorkerMessage } from './protocol.ts';

const WORKER = fileURLToPath(new URL('./worker.ts', import.meta.url));

export type ClientWorkerOptions = {
  /** Extra Node flags for the child, e.g. `['--cpu-prof', '--cpu-prof-dir=prof']`. */
  execArgv?: readonly string[];
};

/**
 * One client under test in a process of its own, so that what one client imports (npm undici's global
 * dispatcher) or leaves behind (sockets, heap) cannot affect another. Runs are sent one at a time.
 */
export class ClientWorker {
  readonly name: ClientName;
  readonly options: ClientOptions;
  readonly #child: ChildProcess;
  readonly #pending = new Map<number, { resolve: (m: WorkerMessage) => void; reject: (e: Error) => void }>();
  readonly #ready: Promise<void>;
  readonly #exited: Promise<void>;
  #nextId = 1;

  constructor(name: ClientName, options: ClientOptions = {}, workerOptions: ClientWorkerOptions = {}) {
    this.name = name;
    this.options = options;
    const execArgv = [...process.execArgv, ...(workerOptions.execArgv ?? [])];
    if (execArgv.includes('--cpu-prof')) {
      // Name the profile after the client, so that a directory of profiles can be told apart.
      const suffix = options.limitPerHost === undefined ? '' : `-${options.limitPerHost}`;
      execArgv.push(`--cpu-prof-name=${name}${suffix}.${Date.now()}.cpuprofile`);
    }
    this.#child = fork(WORKER, [name, JSON.stringify(options)], {
      execArgv,
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    this.#exited = new Promise((resolve) => this.#child.once('exit', () => resolve()));
    this.#ready = new Promise((resolve, reject) => {
      const onExit = (code: number | null): void =>
        reject(new Error(`worker ${name} exited early (${code})`));
      this.#child.once('exit', onExit);
      this.#child.on('message', (message: WorkerMessage) => {
        if (message.type === 'ready') {
          this.#child.off('exit', onExit);
          resolve();
          return;
        }
        const waiter = this.#pending.get(message.id);
        if (waiter === undefined) return;
        this.#pending.delete(message.id);
        if (message.type === 'failed') waiter.reject(new Error(`worker ${name}: ${message.error}`));
        else waiter.resolve(message);
      });
    });
    this.#child.once('exit', (code) => {
      for (const waiter of this.#pending.values())
        waiter.reject(new Error(`worker ${name} exited (${code})`));
      this.#pending.clear();
    });
  }

  ready(): Promise<void> {
    return this.#ready;
  }

  #ask(message: ParentMessage & { id: number }): Promise<WorkerMessage> {
    return new Promise((resolve, reject) => {
      this.#pending.set(message.id, { resolve, reject });
      this.#child.send(message);
    });
  }

  /** Runs one closed-loop load; rejects if any request failed. */
  async run(url: string, requests: number, concurrency: number): Promise<LoadResult> {
    await this.#ready;
    const reply = await this.#ask({ type: 'run', id: this.#nextId++, url, requests, concurrency });
    if (reply.type !== 'result') throw new Error(`worker ${this.name}: unexpected reply ${reply.type}`);
    if (reply.result.errors > 0) {
      throw new Error(
        `${this.name}: ${reply.result.errors} of ${requests} requests failed; first: ${reply.result.firstError}`,
      );
    }
    return reply.result;
  }

  /** Runs one open-loop plan; failed calls are part of the result. */
  async openLoop(plan: OpenLoopPlan): Promise<OpenLoopResult> {
    await this.#ready;
    const reply = await this.#ask({ type: 'open-loop', id: this.#nextId++, plan });
    if (reply.type !== 'calls') throw new Error(`worker ${this.name}: unexpected reply ${reply.type}`);
    return reply.result;
  }

  /** Closes the client and builds a fresh one in the same process. */
  async renew(): Promise<void> {
    await this.#ready;
    const reply = await this.#ask({ type: 'renew', id: this.#nextId++ });
    if (reply.type !== 'renewed') throw new Error(`worker ${this.name}: unexpected reply ${reply.type}`);
  }

  /** The client's own account of its process (see `Client.inspect`). */
  async inspect(): Promise<Record<string, unknown>> {
    await this.#ready;
    const reply = await this.#ask({ type: 'inspect', id: this.#nextId++ });
    if (reply.type !== 'facts') throw new Error(`worker ${this.name}: unexpected reply ${reply.type}`);
    return reply.facts;
  }

  /** Closes the client and waits for the process to exit (killing it if it does not within 5 s). */
  async close(): Promise<void> {
    if (this.#child.exitCode !== null || this.#child.signalCode !== null) return;
    if (this.#child.connected) this.#child.send({ type: 'close' } satisfies ParentMessage);
    const timer = setTimeout(() => this.#child.kill(), 5_000);
    timer.unref();
    await this.#exited;
    clearTimeout(timer);
  }
}
