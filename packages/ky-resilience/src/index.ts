export {
  type ClientCloseOptions,
  type ClientExtras,
  type ClientStats,
  createClient,
  type ResilientClient,
} from './client.ts';
export {
  ClientClosedError,
  ClientCloseTimeoutError,
  ClientOptionsError,
  isClientClosedError,
  isClientCloseTimeoutError,
  isClientOptionsError,
} from './errors.ts';
export type {
  AttemptEvent,
  BreakerRejectedEvent,
  BreakerState,
  BreakerStateChangeEvent,
  BreakerStateChangeReason,
  ClientEventListeners,
  ClientEventMap,
  ClientEventName,
  GiveUpEvent,
  LimiterRejectedEvent,
  RetryEvent,
  TimeoutEvent,
} from './events.ts';
export { channelNames, clientEventNames, isClientEventName } from './events.ts';
export type { ClientKyOptions, ClientOptions, ClientTierOptions } from './options.ts';
export { clientDefaults } from './options.ts';
