export { clientSideErrorCodes, defaultIsFailure, isFailureError, isFailureStatus } from './classify.ts';
export type { CircuitOpenErrorInit, RejectedState } from './errors.ts';
export {
  CircuitBreakerOptionsError,
  CircuitOpenError,
  CircuitSnapshotError,
  isCircuitBreakerOptionsError,
  isCircuitOpenError,
  isCircuitSnapshotError,
} from './errors.ts';
export type {
  CircuitStateName,
  FailureDetail,
  OnRejected,
  OnStateChange,
  RejectedEvent,
  StateChangeEvent,
  StateChangeReason,
} from './events.ts';
export type { HostBreakerInfo, HostSnapshot } from './host-breaker.ts';
export type {
  BreakerPolicy,
  CallOutcome,
  CircuitBreakerOptions,
  CircuitBreakerRequestOptions,
} from './options.ts';
export { contextKey, defaultHalfOpenAfter, defaultPolicy } from './options.ts';
export type { CircuitBreakerSnapshot, CircuitBreakerStats, FetchFunction, HostArgument } from './registry.ts';
export { CircuitBreakerRegistry, circuitBreakerPlugin } from './registry.ts';
export type { WindowBreakerSettings, WindowBreakerState } from './window-breaker.ts';
export { WindowBreaker } from './window-breaker.ts';
