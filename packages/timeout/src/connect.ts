import { ConnectTimeoutError } from './errors.ts';

const connectTimeoutCode = 'UND_ERR_CONNECT_TIMEOUT';

function codeOf(value: unknown): unknown {
  return typeof value === 'object' && value !== null ? (value as { code?: unknown }).code : undefined;
}

/**
 * The connect-timeout error inside a failed fetch: the agent's (or undici's) error with code
 * `UND_ERR_CONNECT_TIMEOUT`, found on the error itself or as its `cause`
 * (`TypeError('fetch failed', { cause })`). `undefined` for any other failure.
 */
export function findConnectTimeout(error: unknown): object | undefined {
  if (codeOf(error) === connectTimeoutCode) return error as object;
  const cause =
    typeof error === 'object' && error !== null ? (error as { cause?: unknown }).cause : undefined;
  if (codeOf(cause) === connectTimeoutCode) return cause as object;
  return undefined;
}

/**
 * The connect limit to report: the agent's own figure (`timeout` on its error), else the
 * `timeout: Nms` in undici's message, else the plugin's `connect` option, else `NaN` (unknown).
 */
function connectLimitOf(cause: object, configured: number | false): number {
  const timeout = (cause as { timeout?: unknown }).timeout;
  if (typeof timeout === 'number' && Number.isFinite(timeout)) return timeout;
  const message = (cause as { message?: unknown }).message;
  const match = typeof message === 'string' ? /timeout: (\d+)\s*ms/i.exec(message) : null;
  if (match?.[1] !== undefined) return Number(match[1]);
  return configured === false ? Number.NaN : configured;
}

/**
 * Maps a fetch failure to a {@link ConnectTimeoutError} when it is a connect timeout (`host` is
 * called only then).
 */
export function mapConnectTimeout(
  error: unknown,
  context: {
    host: () => string;
    attempt: number;
    request: Request | undefined;
    connect: number | false;
    /** True when a request of the attempt had been written before (a redirect's earlier hop). */
    sent: boolean;
  },
): ConnectTimeoutError | undefined {
  const cause = findConnectTimeout(error);
  if (cause === undefined) return undefined;
  return new ConnectTimeoutError({
    host: context.host(),
    attempt: context.attempt,
    limit: connectLimitOf(cause, context.connect),
    request: context.request,
    cause,
    sent: context.sent,
  });
}
