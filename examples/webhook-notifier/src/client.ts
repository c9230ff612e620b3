import type { Resolver } from '@ky-resilience/agent';
import { createClient, type ResilientClient } from 'ky-resilience';

export type NotifierClientOptions = {
  /**
   * How subscriber host names resolve. The SSRF guard checks every address it returns, right
   * before connecting. Default: DNS.
   */
  resolver?: Resolver;
  /** Addresses allowed despite the guard (the demo and the tests allow 127.0.0.1, where they run). */
  allowAddresses?: string[];
  /** Retries per notification (each with the same Idempotency-Key). */
  retries?: number;
  /**
   * The breakers' clock (epoch ms, default `Date.now`): it decides when an open circuit lets a
   * probe through. The scenario holds it still, so a circuit that opened stays open for the run.
   */
  breakerClock?: () => number;
};

/**
 * The application's one HTTP client for webhooks. Subscriber URLs come from users, so:
 * - the agent refuses private, loopback, link-local and metadata addresses (SSRF guard), checked
 *   on each resolved address right before connecting (DNS rebinding cannot get around it);
 * - each subscriber host gets its own circuit breaker and concurrency limit, so a dead or slow
 *   subscriber neither holds every connection nor delays the others. The breaker counts failures
 *   in a row, not a ratio over a window: a subscriber gets a few notifications a minute, and five
 *   failed attempts in a row (two notifications, retries included) say it is down. Open, it
 *   refuses at once for 5 s, doubling up to 60 s while its probes fail;
 * - a POST is retried only because every notification carries an Idempotency-Key;
 * - the subscriber's answer body is never read (the status decides), so it is not buffered either.
 */
export function createNotifierClient(options: NotifierClientOptions = {}): ResilientClient {
  return createClient({
    name: 'webhooks',
    agent: {
      limit: 50,
      // A backstop above the host limiter's 4: the limiter holds the per-host limit, and queues the
      // rest outside the attempt timer.
      limitPerHost: 8,
      connectTimeout: 2_000,
      denyPrivateAddresses: true,
      allowAddresses: options.allowAddresses ?? [],
      ...(options.resolver === undefined ? {} : { resolver: options.resolver }),
    },
    hostLimiter: { concurrency: 4, maxQueue: 100, queueTimeout: 5_000 },
    circuitBreaker: {
      policy: { kind: 'consecutive', failures: 5 },
      ...(options.breakerClock === undefined ? {} : { clock: options.breakerClock }),
    },
    timeout: { total: 10_000, attempt: 3_000 },
    retry: {
      limit: options.retries ?? 2,
      backoff: { strategy: 'full', base: 50, cap: 1_000 },
      // The service reads the status only and discards the body.
      bufferBody: false,
    },
    ky: { headers: { 'user-agent': 'task-app-webhooks/1.0' } },
  });
}
