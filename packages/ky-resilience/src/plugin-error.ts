import { ClientOptionsError } from './errors.ts';

/**
 * Turns a plugin's options error (`AgentOptionsError`, `TimeoutOptionsError`, `RetryOptionsError`,
 * `HostLimiterOptionsError`, `CircuitBreakerOptionsError`: each has `option` and `value`) into a
 * {@link ClientOptionsError} whose `option` is the path under the client's options
 * (`'timeout.attempt'`), with the plugin's error as its `cause`. Other errors pass unchanged.
 */
export function pluginError(tier: string, error: unknown): unknown {
  if (typeof error !== 'object' || error === null) return error;
  const { option, value, message } = error as { option?: unknown; value?: unknown; message?: unknown };
  if (typeof option !== 'string') return error;
  const path = option === 'options' || option === '' ? tier : `${tier}.${option}`;
  const reason = typeof message === 'string' ? message : 'refused by the plugin';
  return new ClientOptionsError(path, value, reason, { cause: error });
}
