export { AddressGuard, type AddressVerdict } from './address-guard.ts';
export {
  type AgentKyOptions,
  type AgentStats,
  createAgent,
  type OriginStats,
  type ResilientAgent,
} from './agent.ts';
export { DnsCache, type DnsStats, type ResolvedAddress, type Resolver, systemResolver } from './dns-cache.ts';
export {
  AgentClosedError,
  AgentError,
  AgentOptionsError,
  AgentQueueFullError,
  BlockedAddressError,
  ConnectTimeoutError,
  DnsLookupError,
  isAgentClosedError,
  isAgentError,
  isAgentOptionsError,
  isAgentQueueFullError,
  isBlockedAddressError,
  isConnectTimeoutError,
  isDnsLookupError,
} from './errors.ts';
export type { AgentOptions, AgentTlsOptions, NormalizedAgentOptions, PemInput } from './options.ts';
export { normalizeAgentOptions } from './options.ts';
