import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { ResilientClient } from 'ky-resilience';
import { type Logger, NotificationService, type TaskUpdate } from './notification-service.ts';

export type Delivery = { url: string; delivered: boolean };

export type NotifierApp = {
  /** The app's base URL (`http://127.0.0.1:<port>`). */
  url: string;
  /** The subscriber URLs registered so far. */
  subscribers(): string[];
  /**
   * Clean shutdown: stops accepting connections, lets the task updates in progress finish their
   * deliveries, then closes the shared client (and its connection pool).
   */
  close(): Promise<void>;
};

export type NotifierAppOptions = {
  /** The shared client; the app closes it on shutdown. */
  client: ResilientClient;
  logger: Logger;
  /** Default 0: any free port on 127.0.0.1. */
  port?: number;
};

const MAX_BODY = 64 * 1024;

class HttpError extends Error {
  readonly status: number;
  constructor(status: number, message: string) {
    super(message);
    this.name = 'HttpError';
    this.status = status;
  }
}

async function readJson(req: IncomingMessage): Promise<Record<string, unknown>> {
  let size = 0;
  const chunks: Buffer[] = [];
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_BODY) throw new HttpError(413, 'body too large');
    chunks.push(chunk);
  }
  try {
    const value: unknown = JSON.parse(Buffer.concat(chunks).toString('utf8'));
    if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new Error('not an object');
    return value as Record<string, unknown>;
  } catch {
    throw new HttpError(400, 'expected a JSON object');
  }
}

function send(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
}

/**
 * The task app, on 127.0.0.1:
 * - `POST /subscriptions` `{ "url": "https://..." }`: registers a webhook (http or https only);
 * - `PUT /tasks/:id` `{ "userId": 1, "title": "..." }`: records a new version of the task and
 *   notifies every subscriber; answers `{ taskId, version, deliveries: [{ url, delivered }] }`.
 */
export async function startNotifierApp(options: NotifierAppOptions): Promise<NotifierApp> {
  const notifications = new NotificationService(options.client, options.logger);
  const subscribers = new Set<string>();
  const versions = new Map<string, number>();
  const inProgress = new Set<Promise<void>>();

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const path = new URL(req.url ?? '/', 'http://app').pathname;
    if (req.method === 'POST' && path === '/subscriptions') {
      const { url } = await readJson(req);
      let parsed: URL;
      try {
        parsed = new URL(String(url));
      } catch {
        throw new HttpError(400, 'url: not a URL');
      }
      if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:')
        throw new HttpError(400, 'url: http or https only');
      const known = subscribers.has(parsed.href);
      subscribers.add(parsed.href);
      send(res, known ? 200 : 201, { url: parsed.href });
      return;
    }
    const task = /^\/tasks\/([\w-]{1,64})$/.exec(path);
    if (req.method === 'PUT' && task !== null) {
      const body = await readJson(req);
      const taskId = task[1]!;
      const version = (versions.get(taskId) ?? 0) + 1;
      versions.set(taskId, version);
      const update: TaskUpdate = {
        taskId,
        version,
        userId: Number(body.userId ?? 0),
        title: String(body.title ?? ''),
      };
      const deliveries: Delivery[] = await Promise.all(
        [...subscribers].map(async (url) => ({
          url,
          delivered: await notifications.sendTaskNotification(url, update),
        })),
      );
      send(res, 200, { taskId, version, deliveries });
      return;
    }
    throw new HttpError(404, 'not found');
  };

  const server = createServer((req, res) => {
    const work = handle(req, res).catch((error: unknown) => {
      if (error instanceof HttpError) send(res, error.status, { error: error.message });
      else {
        options.logger.error(`internal error: ${String(error)}`);
        if (!res.headersSent) send(res, 500, { error: 'internal error' });
      }
    });
    inProgress.add(work);
    void work.finally(() => inProgress.delete(work));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  let closing: Promise<void> | undefined;

  return {
    url: `http://127.0.0.1:${port}`,
    subscribers: () => [...subscribers],
    close() {
      closing ??= (async () => {
        const closed = new Promise<void>((resolve) => server.close(() => resolve()));
        server.closeIdleConnections();
        await Promise.all(inProgress);
        server.closeAllConnections();
        await closed;
        await options.client.close();
      })();
      return closing;
    },
  };
}
