import { type AgentOptions, normalizeAgentOptions, type ResilientAgent } from '@ky-resilience/agent';
import { contextKey as breakerContextKey, type CircuitBreakerOptions } from '@ky-resilience/circuit-breaker';
import {
  type HostLimiter,
  type HostLimiterOptions,
  contextKey as limiterContextKey,
} from '@ky-resilience/host-limiter';
import { type RetryOptions, contextKey as retryContextKey } from '@ky-resilience/retry';
import {
  type ResolvedTimeoutLimits,
  resolveTimeoutOptions,
  type TimeoutOptions,
  contextKey as timeoutContextKey,
} from '@ky-resilience/timeout';
import { ClientOptionsError } from './errors.ts';
import { type ClientEventListeners, type ClientEventName, isClientEventName } from './events.ts';
import {
  breakerWindowDefaultMs,
  type ClientKyOptions,
  type ClientOptions,
  clientDefaults,
  isHostLimiter,
  isPlainObject,
  isResilientAgent,
  kyOwnedOptions,
} from './options.ts';
import { pluginError } from './plugin-error.ts';

/** A tier's name, as an option of {@link ClientOptions}. */
export type TierName = 'agent' | 'hostLimiter' | 'circuitBreaker' | 'timeout' | 'retry';

/** The context key each tier's plugin reads per-request overrides from. */
export const tierContextKeys: Readonly<Record<Exclude<TierName, 'agent'>, string>> = Object.freeze({
  hostLimiter: limiterContextKey,
  circuitBreaker: breakerContextKey,
  timeout: timeoutContextKey,
  retry: retryContextKey,
});

/** The tier an event comes from (`attempt` comes from the client itself). */
const eventTiers: Readonly<
  Record<ClientEventName, Exclude<TierName, 'agent'> | 'circuitBreaker' | undefined>
> = {
  attempt: undefined,
  retry: 'retry',
  giveUp: 'retry',
  breakerStateChange: 'circuitBreaker',
  breakerRejected: 'circuitBreaker',
  limiterRejected: 'hostLimiter',
  timeout: 'timeout',
};

const topLevelKeys: readonly string[] = [
  'agent',
  'hostLimiter',
  'circuitBreaker',
  'timeout',
  'retry',
  'ky',
  'events',
  'name',
  'clock',
];

/** Where the client's transport comes from. */
export type AgentPlan =
  | { readonly kind: 'own'; readonly options: AgentOptions }
  | { readonly kind: 'shared'; readonly agent: ResilientAgent }
  | { readonly kind: 'off' };

/** The validated options, with the cross-tier defaults filled in, ready to build the tiers. */
export type ClientPlan = {
  readonly name: string | undefined;
  readonly clock: (() => number) | undefined;
  readonly agent: AgentPlan;
  /** Options for a limiter of the client's own, or a shared limiter. */
  readonly hostLimiter: HostLimiterOptions | HostLimiter | undefined;
  readonly circuitBreaker: CircuitBreakerOptions | undefined;
  readonly timeout: TimeoutOptions | undefined;
  /** The effective limits (for the checks and `describe`), when the timeout tier is on. */
  readonly limits: ResolvedTimeoutLimits | undefined;
  readonly retry: RetryOptions | undefined;
  readonly ky: ClientKyOptions;
  readonly events: Partial<ClientEventListeners>;
  /** The context keys of the tiers that are switched off (a request may not use them). */
  readonly offContextKeys: ReadonlyMap<string, string>;
  /** The events of the tiers that are switched off, with the tier (they never fire). */
  readonly offEvents: ReadonlyMap<ClientEventName, string>;
};

/** The tier's options: `undefined` (defaults), `false` (off) or a plain object. */
function tierObject(name: string, value: unknown): Record<string, unknown> | false {
  if (value === undefined) return {};
  if (value === false) return false;
  if (!isPlainObject(value)) {
    throw new ClientOptionsError(name, value, 'expected an options object or false');
  }
  return value;
}

/**
 * The connect timeout of an agent the client creates when none is given: half the tightest limit
 * of the timeout tier (`attempt`, `headers`, `total`), at most `clientDefaults.connectTimeout`. It
 * must fire before that limit does: a connect that never completes then fails as a
 * `ConnectTimeoutError` (nothing was sent, so any method is retried) within the attempt, which is
 * left room for a slow connect and a response. An attempt timeout that fires first is still reported
 * as not sent (`sent: false`) while the connect is pending, but the attempt is then over.
 */
function derivedConnectTimeout(bound: number | undefined): number {
  if (bound === undefined) return clientDefaults.connectTimeout;
  return Math.min(clientDefaults.connectTimeout, Math.max(1, Math.floor(bound / 2)));
}

function givenNumber(value: unknown): number | undefined {
  return typeof value === 'number' && Number.isFinite(value) && value >= 0 ? value : undefined;
}

function smallest(...values: (number | false | undefined)[]): number | undefined {
  let result: number | undefined;
  for (const value of values) {
    if (typeof value === 'number' && (result === undefined || value < result)) result = value;
  }
  return result;
}

/**
 * Validates the client's own options and the rules that span tiers, and fills in the defaults
 * that depend on another tier. Each tier's own options are validated by its plugin when the
 * client builds it (and reported under the tier's path).
 */
export function resolveClientOptions(options: unknown): ClientPlan {
  if (options !== undefined && !isPlainObject(options)) {
    throw new ClientOptionsError('options', options, 'expected an object');
  }
  const given: Record<string, unknown> = options ?? {};
  for (const key of Object.keys(given)) {
    if (!topLevelKeys.includes(key)) {
      throw new ClientOptionsError(key, given[key], `unknown option (known: ${topLevelKeys.join(', ')})`);
    }
  }

  const name = given.name;
  if (name !== undefined && (typeof name !== 'string' || name === '')) {
    throw new ClientOptionsError('name', name, 'expected a non-empty string');
  }
  const clock = given.clock;
  if (clock !== undefined && typeof clock !== 'function') {
    throw new ClientOptionsError('clock', clock, 'expected a function returning milliseconds');
  }

  // The tiers: on (an object), or off (false).
  const agentValue = given.agent;
  const shared = isResilientAgent(agentValue) ? agentValue : undefined;
  const agentOptions = shared === undefined ? tierObject('agent', agentValue) : undefined;
  const sharedLimiter = isHostLimiter(given.hostLimiter) ? given.hostLimiter : undefined;
  const limiter = sharedLimiter === undefined ? tierObject('hostLimiter', given.hostLimiter) : {};
  const breaker = tierObject('circuitBreaker', given.circuitBreaker);
  const timeout = tierObject('timeout', given.timeout);
  const retry = tierObject('retry', given.retry);
  const on: Record<Exclude<TierName, 'agent'>, boolean> = {
    hostLimiter: limiter !== false,
    circuitBreaker: breaker !== false,
    timeout: timeout !== false,
    retry: retry !== false,
  };

  // Timeouts: the effective limits decide the defaults of the connect timeout.
  let limits: ResolvedTimeoutLimits | undefined;
  if (timeout !== false) {
    try {
      limits = resolveTimeoutOptions(timeout).limits;
    } catch (error) {
      throw pluginError('timeout', error);
    }
  }
  // With the attempt limit off, the total bounds the connect phase (the attempt's never exceeds it).
  const connectBound = smallest(limits?.attempt, limits?.headers, limits?.total);
  const timeoutConnect = timeout === false ? undefined : timeout.connect;

  // The agent owns the connect timer; the timeout tier only labels its errors with the limit.
  let agent: AgentPlan;
  let connectLabel: number | undefined;
  if (shared !== undefined) {
    const sharedConnect = shared.options.connectTimeout;
    if (typeof timeoutConnect === 'number' && timeoutConnect !== sharedConnect) {
      throw new ClientOptionsError(
        'timeout.connect',
        timeoutConnect,
        `differs from the shared agent's connectTimeout (${sharedConnect} ms), which owns the connect timer`,
      );
    }
    agent = { kind: 'shared', agent: shared };
    if (sharedConnect > 0 && (connectBound === undefined || sharedConnect <= connectBound)) {
      connectLabel = sharedConnect;
    }
  } else if (agentOptions === false || agentOptions === undefined) {
    if (timeoutConnect !== undefined && timeoutConnect !== false) {
      throw new ClientOptionsError(
        'timeout.connect',
        timeoutConnect,
        'the agent tier is switched off (agent: false): the connect timer belongs to the agent',
      );
    }
    agent = { kind: 'off' };
  } else {
    const agentConnect = agentOptions.connectTimeout;
    const explicit = givenNumber(agentConnect);
    if (explicit !== undefined && typeof timeoutConnect === 'number' && timeoutConnect !== explicit) {
      throw new ClientOptionsError(
        'timeout.connect',
        timeoutConnect,
        `differs from agent.connectTimeout (${explicit} ms); set one of them`,
      );
    }
    if (explicit !== undefined && explicit > 0 && connectBound !== undefined && explicit > connectBound) {
      const which =
        limits?.headers === connectBound
          ? 'timeout.headers'
          : limits?.attempt === connectBound
            ? 'timeout.attempt'
            : 'timeout.total';
      throw new ClientOptionsError(
        'agent.connectTimeout',
        explicit,
        `expected at most ${which} (${connectBound} ms): the connect timeout could never fire`,
      );
    }
    const connect =
      agentConnect !== undefined
        ? agentConnect
        : typeof timeoutConnect === 'number'
          ? timeoutConnect
          : derivedConnectTimeout(connectBound);
    agent = {
      kind: 'own',
      options: { ...(agentOptions as AgentOptions), connectTimeout: connect as number },
    };
    const connectNumber = givenNumber(connect);
    if (connectNumber !== undefined && connectNumber > 0) connectLabel = connectNumber;
  }

  // The limiter's caps default to the agent's, and may not exceed them: requests beyond the
  // agent's caps would wait in its pool, inside the attempt timeout.
  let hostLimiter: HostLimiterOptions | HostLimiter | undefined = sharedLimiter;
  if (limiter !== false && sharedLimiter === undefined) {
    const caps = agentCaps(agent);
    const capLimit = caps?.limit ?? 0;
    const capPerHost = caps?.perHost ?? 0;
    const result: Record<string, unknown> = { ...limiter };
    const perKeyByOrigin = limiter.key === undefined;
    const concurrency = givenNumber(limiter.concurrency);
    const globalConcurrency = givenNumber(limiter.globalConcurrency);
    if (capLimit > 0 && globalConcurrency !== undefined && globalConcurrency > capLimit) {
      throw new ClientOptionsError(
        'hostLimiter.globalConcurrency',
        globalConcurrency,
        `expected at most the agent's limit (${capLimit}): requests beyond it would wait inside the agent, within the attempt timeout`,
      );
    }
    if (perKeyByOrigin && capPerHost > 0 && concurrency !== undefined && concurrency > capPerHost) {
      throw new ClientOptionsError(
        'hostLimiter.concurrency',
        concurrency,
        `expected at most the agent's limitPerHost (${capPerHost}): requests beyond it would wait inside the agent, within the attempt timeout`,
      );
    }
    // An agent without a cap (0) leaves the limiter none there either (Infinity); with `agent: false`
    // (or a bad agent value, which the agent reports) the limiter keeps its own defaults.
    const known = caps !== undefined;
    const agentLimit = caps !== undefined && caps.limit > 0 ? caps.limit : Number.POSITIVE_INFINITY;
    const agentPerHost = caps !== undefined && caps.perHost > 0 ? caps.perHost : Number.POSITIVE_INFINITY;
    if (limiter.globalConcurrency === undefined && known) {
      result.globalConcurrency = Math.max(agentLimit, concurrency ?? 0);
    }
    if (limiter.concurrency === undefined && perKeyByOrigin && known) {
      result.concurrency = Math.min(agentPerHost, globalConcurrency ?? agentLimit);
    }
    hostLimiter = result as HostLimiterOptions;
  }

  // The breaker's window must span at least two attempts: a window shorter than that sees at
  // most one slow failure of a host, and forgets it before the next attempt ends. With
  // `timeout.attempt` off, an attempt is bounded by `timeout.total`.
  let circuitBreaker: CircuitBreakerOptions | undefined;
  if (breaker !== false) {
    const attempt =
      typeof limits?.attempt === 'number'
        ? limits.attempt
        : typeof limits?.total === 'number'
          ? limits.total
          : undefined;
    const attemptBound =
      typeof limits?.attempt === 'number' ? 'timeout.attempt' : 'timeout.total (timeout.attempt is off)';
    const minimumWindow = attempt === undefined ? 0 : 2 * attempt;
    const result: Record<string, unknown> = { ...breaker };
    const policy = breaker.policy;
    if (policy === undefined) {
      result.policy = {
        ...clientDefaults.breakerPolicy,
        windowMs: Math.max(clientDefaults.breakerPolicy.windowMs, minimumWindow),
      };
    } else if (isPlainObject(policy) && policy.kind === 'window') {
      const windowMs = givenNumber(policy.windowMs);
      if (windowMs !== undefined && windowMs < minimumWindow) {
        throw new ClientOptionsError(
          'circuitBreaker.policy.windowMs',
          windowMs,
          `expected at least twice ${attemptBound} (${minimumWindow} ms): the window must span two attempts`,
        );
      }
      if (policy.windowMs === undefined && breakerWindowDefaultMs < minimumWindow) {
        result.policy = { ...policy, windowMs: minimumWindow };
      }
    }
    circuitBreaker = result as CircuitBreakerOptions;
  }

  // The timeout tier: the user's options, with the agent's connect timeout as the label.
  let timeoutOptions: TimeoutOptions | undefined;
  if (timeout !== false) {
    timeoutOptions = { ...(timeout as TimeoutOptions) };
    if (timeoutOptions.connect === undefined && connectLabel !== undefined) {
      timeoutOptions.connect = connectLabel;
    }
  }

  // Retry: the preset's defaults under the user's options (the backoff merged field by field).
  let retryOptions: RetryOptions | undefined;
  if (retry !== false) {
    const userBackoff = retry.backoff;
    retryOptions = { ...clientDefaults.retry, ...(retry as RetryOptions) };
    if (userBackoff === undefined || isPlainObject(userBackoff)) {
      retryOptions.backoff = { ...clientDefaults.retry.backoff, ...(userBackoff as RetryOptions['backoff']) };
    }
  }

  const ky = resolveKy(given.ky, on);
  // An instance-wide override of the timeout tier's `connect` follows the per-request rule.
  const kyTimeoutContext = isPlainObject(ky.context) ? ky.context[tierContextKeys.timeout] : undefined;
  if (on.timeout && isPlainObject(kyTimeoutContext) && 'connect' in kyTimeoutContext) {
    const agentConnect =
      agent.kind === 'own'
        ? agent.options.connectTimeout
        : agent.kind === 'shared'
          ? agent.agent.options.connectTimeout
          : undefined;
    checkConnectOverride(
      kyTimeoutContext.connect,
      agentConnect,
      `ky.context['${tierContextKeys.timeout}'].connect`,
    );
  }
  const events = resolveEvents(given.events, on);

  const offContextKeys = new Map<string, string>();
  for (const tier of ['hostLimiter', 'circuitBreaker', 'timeout', 'retry'] as const) {
    if (!on[tier]) offContextKeys.set(tierContextKeys[tier], tier);
  }

  const offEvents = new Map<ClientEventName, string>();
  for (const [event, tier] of Object.entries(eventTiers)) {
    if (tier !== undefined && !on[tier]) offEvents.set(event as ClientEventName, tier);
  }

  return {
    name: name as string | undefined,
    clock: clock as (() => number) | undefined,
    agent,
    hostLimiter,
    circuitBreaker,
    timeout: timeoutOptions,
    limits,
    retry: retryOptions,
    ky,
    events,
    offContextKeys,
    offEvents,
  };
}

/**
 * The agent's caps (0 = none), as the agent computes them, or `undefined` without an agent
 * (`agent: false`). The agent's own validation runs here (the limiter's caps derive from these, and
 * the limiter is built first), so a bad `limit` or `limitPerHost` is reported as the agent's option.
 */
function agentCaps(agent: AgentPlan): { limit: number; perHost: number } | undefined {
  if (agent.kind === 'off') return undefined;
  let options: { limit: number; limitPerHost: number };
  try {
    options = agent.kind === 'shared' ? agent.agent.options : normalizeAgentOptions(agent.options);
  } catch (error) {
    throw pluginError('agent', error);
  }
  return { limit: options.limit, perHost: options.limitPerHost };
}

function resolveKy(value: unknown, on: Readonly<Record<string, boolean>>): ClientKyOptions {
  if (value === undefined) return {};
  if (!isPlainObject(value)) {
    throw new ClientOptionsError('ky', value, 'expected a ky options object');
  }
  for (const key of Object.keys(value)) {
    const owner = kyOwnedOptions[key];
    if (owner !== undefined) {
      throw new ClientOptionsError(`ky.${key}`, value[key], `owned by the client: ${owner}`);
    }
  }
  const context = value.context;
  if (context !== undefined && isPlainObject(context)) {
    for (const [tier, key] of Object.entries(tierContextKeys)) {
      if (!on[tier] && context[key] !== undefined) {
        throw new ClientOptionsError(
          `ky.context['${key}']`,
          context[key],
          `the ${tier} tier is switched off (${tier}: false)`,
        );
      }
    }
  }
  return value as ClientKyOptions;
}

function resolveEvents(value: unknown, on: Readonly<Record<string, boolean>>): Partial<ClientEventListeners> {
  if (value === undefined) return {};
  if (!isPlainObject(value)) {
    throw new ClientOptionsError('events', value, 'expected an object of listeners by event name');
  }
  for (const [key, listener] of Object.entries(value)) {
    if (!isClientEventName(key)) {
      throw new ClientOptionsError(`events.${key}`, listener, 'unknown event');
    }
    if (listener === undefined) continue;
    if (typeof listener !== 'function') {
      throw new ClientOptionsError(`events.${key}`, listener, 'expected a function');
    }
    const tier = eventTiers[key];
    if (tier !== undefined && !on[tier]) {
      throw new ClientOptionsError(
        `events.${key}`,
        listener,
        `the ${tier} tier is switched off (${tier}: false): this event never fires`,
      );
    }
  }
  return value as Partial<ClientEventListeners>;
}

/**
 * A per-request `connect` of the timeout tier must be the agent's connect timeout (`false` when the
 * agent has none, or there is no agent): the agent owns the timer, and a request cannot change it.
 */
export function checkConnectOverride(value: unknown, agentConnect: number | undefined, path?: string): void {
  if (value === undefined) return;
  const option = path ?? `context['${tierContextKeys.timeout}'].connect`;
  if (agentConnect === undefined) {
    if (value === false) return;
    throw new ClientOptionsError(
      option,
      value,
      'the agent tier is switched off (agent: false): the connect timer belongs to the agent',
    );
  }
  if (value === agentConnect || (value === false && agentConnect === 0)) return;
  throw new ClientOptionsError(
    option,
    value,
    `differs from the agent's connectTimeout (${agentConnect === 0 ? 'off' : `${agentConnect} ms`}), which owns the connect timer: a request cannot change it`,
  );
}
