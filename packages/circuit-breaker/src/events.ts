import type { CircuitOpenError, RejectedState } from './errors.ts';

/** A breaker's state. */
export type CircuitStateName = 'closed' | 'open' | 'half-open' | 'isolated';

/**
 * Why a breaker changed state.
 *
 * - `failures`: the trip policy opened a closed circuit;
 * - `probe-due`: the open period ended and a call came: the circuit turned half-open;
 * - `probe-failed`: a half-open probe failed: the circuit re-opened (for the backoff's next duration);
 * - `probes-succeeded`: every half-open probe succeeded: the circuit closed;
 * - `isolated`: `isolate(host)` was called;
 * - `reset`: `reset(host)` was called;
 * - `restored`: `restore(snapshot)` replaced the breaker.
 */
export type StateChangeReason =
  | 'failures'
  | 'probe-due'
  | 'probe-failed'
  | 'probes-succeeded'
  | 'isolated'
  | 'reset'
  | 'restored';

/** Why a call was counted as a failure. */
export type FailureDetail =
  /** The response's status counts as a failure. */
  | { readonly kind: 'status'; readonly status: number }
  /** The fetch rejected with an error that counts as a failure. */
  | { readonly kind: 'error'; readonly error: unknown }
  /** The response head took `durationMs`, not less than `slowCallMs`. */
  | { readonly kind: 'slow'; readonly status: number; readonly durationMs: number };

/** Passed to `onStateChange`. */
export type StateChangeEvent = {
  /** The breaker's key (the origin by default). */
  readonly host: string;
  readonly from: CircuitStateName;
  readonly to: CircuitStateName;
  readonly reason: StateChangeReason;
  /** The clock's time of the change. */
  readonly at: number;
  /** When `to` is `open`: when probes will be let through (clock ms). */
  readonly nextProbeAt: number | undefined;
  /** The last failure the breaker saw (the one that opened it, for `failures` and `probe-failed`). */
  readonly lastFailure: FailureDetail | undefined;
};

/** Passed to `onRejected`. */
export type RejectedEvent = {
  /** The breaker's key (the origin by default). */
  readonly host: string;
  /** The state that turned the call away. */
  readonly state: RejectedState;
  /** The error the call rejects with. */
  readonly error: CircuitOpenError;
  /** The request, when known. */
  readonly request: Request | undefined;
};

/**
 * Called on each state change. It runs inside the breaker's bookkeeping: an exception thrown here
 * does not disturb it, and is rethrown from a microtask (an uncaught exception).
 */
export type OnStateChange = (event: StateChangeEvent) => void;

/** Called when a call is turned away. An exception thrown here is rethrown from a microtask. */
export type OnRejected = (event: RejectedEvent) => void;

/** Calls `listener` with `event`; an exception is rethrown from a microtask, never here. */
export function emit<E>(listener: ((event: E) => void) | undefined, event: E): void {
  if (listener === undefined) return;
  try {
    listener(event);
  } catch (error) {
    queueMicrotask(() => {
      throw error;
    });
  }
}
