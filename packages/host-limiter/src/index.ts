export type { QueueBound, QueueFullInit, QueueRejectionInit, QueueWait } from './errors.ts';
export {
  HostLimiterClosedError,
  HostLimiterError,
  HostLimiterOptionsError,
  isHostLimiterClosedError,
  isHostLimiterError,
  isHostLimiterOptionsError,
  isQueueFullError,
  isQueueTimeoutError,
  QueueFullError,
  QueueTimeoutError,
} from './errors.ts';
export type { FetchFunction, HostLimiter, HostStats, KeyArgument, LimiterStats } from './limiter.ts';
export { createHostLimiter, hostLimiterPlugin } from './limiter.ts';
export type { HostLimiterOptions, HostLimiterRequestOptions, Timers } from './options.ts';
export { contextKey, defaultHostLimiterOptions, maxTimeoutMs } from './options.ts';
