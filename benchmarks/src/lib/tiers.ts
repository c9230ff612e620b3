/**
 * What each client under test carries (retry, breaker, budget), as the tables print it. The preset's and the
 * plugins' descriptions are read from the packages' exported defaults, so they follow the code; the peers'
 * are written out from their documented defaults (see `clients.ts`).
 */
import { defaultPolicy } from '@ky-resilience/circuit-breaker';
import {
  defaultRetryBudgetOptions,
  defaultRetrySettings,
  type RetryBudgetOptions,
} from '@ky-resilience/retry';
import { defaultTimeoutLimits } from '@ky-resilience/timeout';
import { clientDefaults } from 'ky-resilience';

/**
 * A client's resilience machinery in words; "none" where it has no such mechanism. `perHost` is the cap on
 * connections (and limiter slots) per host, which decides how a slow or dead host queues the calls behind it.
 */
export type Tiers = { retry: string; breaker: string; budget: string; perHost: string };

/** Node's fetch (its undici Agent): no cap on connections per origin. */
export const fetchPerHost = "none (Node's fetch: connections per origin unbounded)";
/** got and axios on Node's `http.globalAgent`: `maxSockets` Infinity. */
export const httpAgentPerHost = 'none (Node http.globalAgent: maxSockets Infinity)';

/**
 * The preset's caps as its client reports them (`ClientWorker.inspect()` of a preset: `caps`), e.g.
 * `agent 10 connections/host, 100 in all; host limiter 10/host`.
 */
export function presetPerHost(caps: {
  agentPerHost?: number;
  agentLimit?: number;
  limiterPerHost?: number;
}): string {
  const agent = `agent ${caps.agentPerHost ?? '?'} connections/host, ${caps.agentLimit === 0 ? 'no cap' : (caps.agentLimit ?? '?')} in all`;
  return `${agent}; host limiter ${caps.limiterPerHost ?? 'none'}/host`;
}

/** `200 ms`, `10 s`, `1.5 s`. */
export function duration(ms: number): string {
  return ms < 1000 ? `${ms} ms` : `${ms / 1000} s`;
}

type Backoff = { strategy?: string; base?: number; factor?: number; cap?: number };

/** `3 retries, decorrelated-v2 jitter (base 200 ms, factor 2, cap 10 s)`. */
export function retryLabel(limit: number, backoff: Backoff): string {
  const b = { ...defaultRetrySettings.backoff, ...backoff };
  return `${limit} ${limit === 1 ? 'retry' : 'retries'}, ${b.strategy} jitter (base ${duration(b.base)}, factor ${b.factor}, cap ${duration(b.cap)})`;
}

/** `per host, 20 tokens; a failure −1, a success +0.5, +1/s; retries above 10`. */
export function budgetLabel(options: RetryBudgetOptions = {}): string {
  const b = { ...defaultRetryBudgetOptions, ...options };
  return (
    `per host, ${b.capacity} tokens; a failure −1, a success +${b.ratio}, +${b.minRetriesPerSecond}/s; ` +
    `retries above ${b.capacity / 2}`
  );
}

const presetRetry = clientDefaults.retry as { limit: number; backoff: Backoff };
const presetPolicy = clientDefaults.breakerPolicy;
/** The preset widens the breaker's window to two attempt timeouts when that is longer. */
const presetWindowMs = Math.max(presetPolicy.windowMs, 2 * (defaultTimeoutLimits.attempt || 0));
/** The circuit breaker's default open periods (`defaultHalfOpenAfter()`: 5 s, doubling up to 60 s). */
const openPeriods = 'open 5 s, doubling to 60 s';

/** The preset's retry with `backoff` merged over its default backoff, as `createClient()` merges it. */
export function presetRetryLabel(backoff: Backoff = {}): string {
  return retryLabel(presetRetry.limit, { ...presetRetry.backoff, ...backoff });
}

/** The preset's defaults (`createClient()` of ky-resilience). */
export const presetTiers: Tiers = {
  retry: presetRetryLabel(),
  // Replaced by what the client reports after a run (see `perHostCaps` in faults.ts).
  perHost: 'agent limitPerHost, host limiter (default)',
  breaker: `per host, > ${presetPolicy.threshold * 100} % of ≥ ${presetPolicy.minimumCalls} attempts failed in ${duration(presetWindowMs)}; ${openPeriods}`,
  budget: budgetLabel(),
};

/** `@ky-resilience/retry` with its defaults. */
export const retryPluginTiers: Tiers = {
  retry: retryLabel(defaultRetrySettings.limit, defaultRetrySettings.backoff),
  breaker: 'none',
  budget: budgetLabel(),
  perHost: fetchPerHost,
};

/** `@ky-resilience/circuit-breaker` with its defaults. */
export const breakerPluginLabel: string = `per origin, ${defaultPolicy.kind === 'consecutive' ? `${defaultPolicy.failures} failures in a row` : defaultPolicy.kind}, ${openPeriods}`;

/** `@ky-resilience/timeout` with its defaults. */
export const timeoutPluginLabel: string = (['total', 'attempt', 'connect', 'headers', 'bodyIdle'] as const)
  .filter((phase) => typeof defaultTimeoutLimits[phase] === 'number')
  .map(
    (phase) =>
      `${phase === 'bodyIdle' ? 'body idle' : phase} ${duration(defaultTimeoutLimits[phase] as number)}`,
  )
  .join(', ');

const none: Tiers = { retry: 'none', breaker: 'none', budget: 'none', perHost: fetchPerHost };

/** ky's own retry (ky 2: `limit: 2`, delay 0.3 s × 2ⁿ⁻¹, no jitter). */
export const kyTiers: Tiers = { ...none, retry: '2 retries, 0.3 s × 2ⁿ⁻¹' };

/** The peers with their defaults. */
export const peerTiers: Readonly<
  Record<'got' | 'axios' | 'ofetch' | 'p-retry' | 'opossum' | 'cockatiel', Tiers>
> = {
  got: { ...none, retry: '2 retries, 1 s × 2ⁿ⁻¹ + ≤ 100 ms', perHost: httpAgentPerHost },
  axios: { ...none, retry: '3 retries, no delay', perHost: httpAgentPerHost },
  ofetch: { ...none, retry: '1 retry, no delay' },
  'p-retry': { ...none, retry: '10 retries, 1 s × 2ⁿ⁻¹' },
  opossum: { ...none, breaker: 'one for all hosts, 50 % errors in 10 s, half-open after 30 s; 10 s timeout' },
  cockatiel: {
    ...none,
    retry: '3 retries, decorrelated jitter from 128 ms',
    breaker: 'one for all hosts, 5 failures in a row, half-open after 10 s',
  },
};

/** The tiers in one cell: the parts that are not "none", joined. */
export function carries(tiers: Tiers): string {
  const parts = [
    tiers.retry === 'none' ? undefined : `retry: ${tiers.retry}`,
    tiers.breaker === 'none' ? undefined : `breaker: ${tiers.breaker}`,
    tiers.budget === 'none' ? undefined : `budget: ${tiers.budget}`,
  ].filter((p) => p !== undefined);
  return parts.length === 0 ? 'none' : parts.join('; ');
}
