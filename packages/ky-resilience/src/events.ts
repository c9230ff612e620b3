import type { RetryDecisionReason } from '@ky-resilience/retry';
import type { TimeoutPhase } from '@ky-resilience/timeout';

/** A circuit breaker's state (as `@ky-resilience/circuit-breaker` names them). */
export type BreakerState = 'closed' | 'open' | 'half-open' | 'isolated';

/** Why a circuit breaker changed state (see `@ky-resilience/circuit-breaker`). */
export type BreakerStateChangeReason =
  | 'failures'
  | 'probe-due'
  | 'probe-failed'
  | 'probes-succeeded'
  | 'isolated'
  | 'reset'
  | 'restored';

/**
 * One attempt ended: its fetch returned a response (with the retry tier's body buffering, once
 * the body is in memory) or rejected. Emitted once per attempt, including attempts turned away by
 * the circuit breaker or the host limiter.
 */
export type AttemptEvent = {
  /** The client's name. */
  readonly client: string;
  /** `new URL(url).host` (port included when not the default). */
  readonly host: string;
  /** The request method, upper-case. */
  readonly method: string;
  /** The request URL. */
  readonly url: string;
  /** The attempt number, from 1. */
  readonly attempt: number;
  /** The response status, when the attempt produced a response. */
  readonly status?: number | undefined;
  /** What the attempt rejected with, when it did not produce a response. */
  readonly error?: unknown;
  /**
   * Clock milliseconds from the attempt's start (its fetch called, before any wait in the host
   * limiter's queue) to its end (the response, after body buffering, or the rejection).
   */
  readonly durationMs: number;
};

/** A retry was scheduled (the retry tier's `onRetry`). */
export type RetryEvent = {
  readonly client: string;
  /** `new URL(url).host`. */
  readonly host: string;
  /** The attempt about to be made after the delay (2 for the first retry). */
  readonly attempt: number;
  /** The delay before it, in milliseconds. */
  readonly delay: number;
  /**
   * The failure being retried: `'status 503'`, `'ECONNRESET'`, `'timeout:headers'`...; `'forced'` (or
   * `'forced: <code>'`) for a retry an `afterResponse` hook forced.
   */
  readonly reason: string;
  /** Whether the delay is the jittered backoff, the server's Retry-After, or a forcing `afterResponse` hook's own. */
  readonly delaySource: 'backoff' | 'retry-after' | 'hook';
  /** The failed attempt's error. */
  readonly error: Error;
};

/** A call failed for good (the retry tier's `onGiveUp`). */
export type GiveUpEvent = {
  readonly client: string;
  /** `new URL(url).host`. */
  readonly host: string;
  /** Attempts made. */
  readonly attempts: number;
  /** The error the call rejects with. */
  readonly error: Error;
  /** Why it was not retried (again). */
  readonly reason: RetryDecisionReason;
};

/** A circuit breaker changed state. */
export type BreakerStateChangeEvent = {
  readonly client: string;
  /** The host (`host:port`) when the breaker's key is an origin (the default), else the key. */
  readonly host: string;
  /** The breaker's key (the origin by default). */
  readonly key: string;
  readonly from: BreakerState;
  readonly to: BreakerState;
  readonly reason: BreakerStateChangeReason;
  /** When `to` is `open`: when probes will be let through (the breaker's clock, ms). */
  readonly nextProbeAt: number | undefined;
};

/** A circuit breaker turned an attempt away (`CircuitOpenError`): nothing was sent. */
export type BreakerRejectedEvent = {
  readonly client: string;
  /** The host (`host:port`) when the breaker's key is an origin (the default), else the key. */
  readonly host: string;
  /** The breaker's key. */
  readonly key: string;
  /** The state that turned the attempt away. */
  readonly state: 'open' | 'half-open' | 'isolated';
};

/** The host limiter turned an attempt away (`QueueFullError` or `QueueTimeoutError`): nothing was sent. */
export type LimiterRejectedEvent = {
  readonly client: string;
  /** The host (`host:port`) when the limiter's key is an origin (the default), else the key. */
  readonly host: string;
  /** The limiter's key. */
  readonly key: string;
  readonly reason: 'queue-full' | 'queue-timeout';
};

/** A timeout tier fired. */
export type TimeoutEvent = {
  readonly client: string;
  /** `new URL(url).host`. */
  readonly host: string;
  /** `'total' | 'attempt' | 'connect' | 'headers' | 'bodyIdle'`. */
  readonly phase: TimeoutPhase;
  /** The attempt number, from 1 (for `total`: the attempt running or last run). */
  readonly attempt: number;
  /** The limit that was exceeded, in ms (`NaN` for a connect timeout whose figure is unknown). */
  readonly limit: number;
  /**
   * Whether the request had started to be written when time ran out (the error's `sent`): `false` when the
   * agent reports it was still waiting for a slot, a lookup or a connect; `undefined` when unknown.
   */
  readonly sent: boolean | undefined;
};

/** Every event of a client, by name. */
export type ClientEventMap = {
  attempt: AttemptEvent;
  retry: RetryEvent;
  giveUp: GiveUpEvent;
  breakerStateChange: BreakerStateChangeEvent;
  breakerRejected: BreakerRejectedEvent;
  limiterRejected: LimiterRejectedEvent;
  timeout: TimeoutEvent;
};

/** An event's name. */
export type ClientEventName = keyof ClientEventMap;

/** A listener per event name, as the `events` option takes them. */
export type ClientEventListeners = { [K in ClientEventName]: (event: ClientEventMap[K]) => void };

/** The `node:diagnostics_channel` channel of each event. */
export const channelNames: Readonly<Record<ClientEventName, string>> = Object.freeze({
  attempt: 'ky-resilience:attempt',
  retry: 'ky-resilience:retry',
  giveUp: 'ky-resilience:give-up',
  breakerStateChange: 'ky-resilience:breaker:state-change',
  breakerRejected: 'ky-resilience:breaker:rejected',
  limiterRejected: 'ky-resilience:limiter:rejected',
  timeout: 'ky-resilience:timeout',
});

/** Every event name, in a stable order. */
export const clientEventNames: readonly ClientEventName[] = Object.freeze(
  Object.keys(channelNames) as ClientEventName[],
);

/** True when `value` is one of the {@link ClientEventName}s. */
export function isClientEventName(value: unknown): value is ClientEventName {
  return typeof value === 'string' && Object.hasOwn(channelNames, value);
}
