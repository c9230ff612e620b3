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
