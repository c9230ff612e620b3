import { createHash } from 'node:crypto';
import type { KyInstance } from 'ky';
import { failureReason } from './failure.ts';

/** A task update, as the app receives it. */
export type TaskUpdate = { taskId: string; version: number; userId: number; title: string };

/** Where the service logs failed deliveries (a `console`-like logger). */
export type Logger = { error: (message: string) => void };

/**
 * The Idempotency-Key of one notification: the same for every attempt and every re-send of the
 * same task version to the same subscriber, so a subscriber that remembers keys acts on it once.
 * The hash covers the update's content as well as the subscriber URL: the app keeps versions in
 * memory, so after a restart `v1` comes again with other content, and gets another key.
 */
export function idempotencyKey(update: TaskUpdate, subscriberUrl: string): string {
  const hash = createHash('sha256')
    .update(JSON.stringify([subscriberUrl, update.taskId, update.version, update.userId, update.title]))
    .digest('hex')
    .slice(0, 16);
  return `task-${update.taskId}-v${update.version}-${hash}`;
}

/**
 * The seed's `NotificationService`: sends a task notification to a webhook and reports whether it
 * was delivered. It holds no HTTP session of its own: the application's shared client (one pool,
 * per-host breakers and limits) is passed in, and closed by the application on shutdown.
 */
export class NotificationService {
  readonly #client: KyInstance;
  readonly #logger: Logger;

  constructor(client: KyInstance, logger: Logger) {
    this.#client = client;
    this.#logger = logger;
  }

  /** POSTs the notification; `true` when the subscriber answered 2xx, `false` otherwise (logged). */
  async sendTaskNotification(webhookUrl: string, update: TaskUpdate): Promise<boolean> {
    const payload = {
      user_id: update.userId,
      task_id: update.taskId,
      version: update.version,
      message: `Task updated: ${update.title}`,
      type: 'task_notification',
    };
    try {
      const response = await this.#client.post(webhookUrl, {
        json: payload,
        headers: { 'idempotency-key': idempotencyKey(update, webhookUrl) },
      });
      // The status alone decides (ky threw on a non-2xx). The subscriber's body is a user-controlled
      // URL's answer: discard it unread, so a huge or dripping one costs no memory and cannot turn
      // a 2xx into a failure.
      await response.body?.cancel();
      return true;
    } catch (error) {
      this.#logger.error(`webhook ${webhookUrl}: not delivered: ${failureReason(error)}`);
      return false;
    }
  }
}
