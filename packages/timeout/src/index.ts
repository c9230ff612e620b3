export type { ResilienceTimeoutErrorInit, TimeoutPhase } from './errors.ts';
export {
  AttemptTimeoutError,
  BodyIdleTimeoutError,
  ConnectTimeoutError,
  HeadersTimeoutError,
  isAttemptTimeoutError,
  isBodyIdleTimeoutError,
  isConnectTimeoutError,
  isHeadersTimeoutError,
  isResilienceTimeoutError,
  isTimeoutOptionsError,
  isTotalTimeoutError,
  ResilienceTimeoutError,
  TimeoutOptionsError,
  TotalTimeoutError,
} from './errors.ts';
export type { ResolvedTimeoutLimits, TimeoutLimits, TimeoutOptions, Timers } from './options.ts';
export { contextKey, defaultTimeoutLimits, maxTimeoutMs, resolveTimeoutOptions } from './options.ts';
export { timeoutPlugin } from './plugin.ts';
