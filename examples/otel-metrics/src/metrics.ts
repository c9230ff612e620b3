import diagnosticsChannel from 'node:diagnostics_channel';
import type { Attributes, Meter } from '@opentelemetry/api';
import type {
  AttemptEvent,
  BreakerRejectedEvent,
  BreakerStateChangeEvent,
  GiveUpEvent,
  LimiterRejectedEvent,
  RetryEvent,
  TimeoutEvent,
} from 'ky-resilience';

/** The instruments' names (OpenTelemetry naming: dot-separated, lower case, unit in `unit`). */
export const metricNames = {
  attempts: 'http.client.resilience.attempts',
  attemptDuration: 'http.client.resilience.attempt.duration',
  retries: 'http.client.resilience.retries',
  giveUps: 'http.client.resilience.give_ups',
  breakerTransitions: 'http.client.resilience.breaker.transitions',
  rejections: 'http.client.resilience.rejections',
  timeouts: 'http.client.resilience.timeouts',
} as const;

/** Attempt latency buckets, in ms: loopback calls land in the first ones, timeouts in the last. */
const durationBuckets = [1, 2, 5, 10, 25, 50, 100, 250, 500, 1_000, 2_500, 5_000, 10_000];

/** The outcome label of an attempt: its status class (`2xx`, `5xx`) or the error's name. */
function outcomeOf(event: AttemptEvent): string {
  if (event.status !== undefined) return `${Math.floor(event.status / 100)}xx`;
  const error = event.error;
  return error instanceof Error ? error.name : 'error';
}

/**
 * Subscribes OpenTelemetry instruments to the `ky-resilience:*` diagnostics channels. Nothing
 * here touches a client: every client of the process (any number of them, created anywhere) is
 * measured, and the `client` label tells them apart. Returns the function that unsubscribes.
 *
 * The channel names and payloads are the documented ones of `ky-resilience` (its README); a
 * metrics library could subscribe to them the same way without importing the package at all.
 */
export function subscribeMetrics(meter: Meter): () => void {
  const attempts = meter.createCounter(metricNames.attempts, {
    description: 'Attempts made (each try of a call, retries included), by outcome',
    unit: '{attempt}',
  });
  const attemptDuration = meter.createHistogram(metricNames.attemptDuration, {
    description: 'Attempt latency, from the attempt start (queue wait included) to its outcome',
    unit: 'ms',
    advice: { explicitBucketBoundaries: durationBuckets },
  });
  const retries = meter.createCounter(metricNames.retries, {
    description: 'Retries scheduled, by reason',
    unit: '{retry}',
  });
  const giveUps = meter.createCounter(metricNames.giveUps, {
    description: 'Calls that failed for good, by the reason they were not retried',
    unit: '{call}',
  });
  const breakerTransitions = meter.createCounter(metricNames.breakerTransitions, {
    description: 'Circuit breaker state changes',
    unit: '{transition}',
  });
  const rejections = meter.createCounter(metricNames.rejections, {
    description: 'Attempts turned away before sending: by the circuit breaker or the host limiter',
    unit: '{attempt}',
  });
  const timeouts = meter.createCounter(metricNames.timeouts, {
    description: 'Timeouts, by tier (phase)',
    unit: '{timeout}',
  });

  const handlers: Record<string, (message: unknown) => void> = {
    'ky-resilience:attempt': (message) => {
      const event = message as AttemptEvent;
      const labels: Attributes = {
        client: event.client,
        'server.address': event.host,
        'http.request.method': event.method,
        outcome: outcomeOf(event),
      };
      attempts.add(1, labels);
      attemptDuration.record(event.durationMs, labels);
    },
    'ky-resilience:retry': (message) => {
      const event = message as RetryEvent;
      retries.add(1, { client: event.client, 'server.address': event.host, reason: event.reason });
    },
    'ky-resilience:give-up': (message) => {
      const event = message as GiveUpEvent;
      giveUps.add(1, { client: event.client, 'server.address': event.host, reason: event.reason });
    },
    'ky-resilience:breaker:state-change': (message) => {
      const event = message as BreakerStateChangeEvent;
      breakerTransitions.add(1, {
        client: event.client,
        'server.address': event.host,
        from: event.from,
        to: event.to,
      });
    },
    'ky-resilience:breaker:rejected': (message) => {
      const event = message as BreakerRejectedEvent;
      rejections.add(1, {
        client: event.client,
        'server.address': event.host,
        tier: 'breaker',
        reason: event.state,
      });
    },
    'ky-resilience:limiter:rejected': (message) => {
      const event = message as LimiterRejectedEvent;
      rejections.add(1, {
        client: event.client,
        'server.address': event.host,
        tier: 'limiter',
        reason: event.reason,
      });
    },
    'ky-resilience:timeout': (message) => {
      const event = message as TimeoutEvent;
      timeouts.add(1, { client: event.client, 'server.address': event.host, phase: event.phase });
    },
  };

  for (const [name, handler] of Object.entries(handlers)) diagnosticsChannel.subscribe(name, handler);
  return () => {
    for (const [name, handler] of Object.entries(handlers)) diagnosticsChannel.unsubscribe(name, handler);
  };
}
