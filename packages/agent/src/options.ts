import { X509Certificate } from 'node:crypto';
import { createSecureContext, type SecureContext } from 'node:tls';
import type { Resolver } from './dns-cache.ts';
import { AgentOptionsError } from './errors.ts';

/** Options of {@link createAgent}. Every duration is in milliseconds. */
export type AgentOptions = {
  /**
   * Connections in use across all origins (aiohttp's `limit`): requests beyond it wait, in FIFO order,
   * until one finishes. Idle keep-alive sockets do not count. `0` removes the cap.
   * @default 100
   * @example createAgent({ limit: 200 })
   */
  limit?: number;
  /**
   * Connections per origin (aiohttp's `limit_per_host`); requests beyond it wait in FIFO order in the agent's
   * queue for the origin (with `allowH2`, in undici's pool for the origin). `0` removes the cap. Must not exceed
   * `limit`.
   * @default 10
   * @example createAgent({ limitPerHost: 4 })
   */
  limitPerHost?: number;
  /**
   * Requests that may wait in the agent for a connection, across all origins: those beyond `limit` (its FIFO)
   * plus those beyond `limitPerHost` (each origin's queue). One more is refused at once with
   * `AgentQueueFullError` (`fetch` rejects with `TypeError('fetch failed')` whose `cause` is that error): it is
   * never sent. `0` means no waiting: a request that cannot have a connection at once is refused.
   * `Infinity` removes the bound. With `allowH2`, requests beyond `limitPerHost` wait in undici's pool and are
   * not counted (only those beyond `limit` are).
   * @default 10000
   * @example createAgent({ maxQueue: 1000 })
   */
  maxQueue?: number;
  /**
   * How long an idle keep-alive socket is kept. Below the common 5 s server keep-alive, so the client,
   * not the server, closes idle sockets.
   * @default 4000
   * @example createAgent({ keepAliveTimeout: 2000 })
   */
  keepAliveTimeout?: number;
  /**
   * Upper bound for a server's `Keep-Alive: timeout=N` hint, which otherwise overrides `keepAliveTimeout`.
   * @default 4000
   * @example createAgent({ keepAliveMaxTimeout: 10_000 })
   */
  keepAliveMaxTimeout?: number;
  /**
   * Time allowed to resolve the host and establish the TCP (and TLS) connection, across every address tried.
   * Enforced by a timer of the agent's own. `0` disables it.
   * @default 10000
   * @example createAgent({ connectTimeout: 2000 })
   */
  connectTimeout?: number;
  /**
   * Longest time a DNS answer is cached (aiohttp's `ttl_dns_cache`); a record's own shorter TTL wins.
   * `0` disables the cache.
   * @default 300000
   * @example createAgent({ dnsTtl: 60_000 })
   */
  dnsTtl?: number;
  /**
   * How long a failed lookup is remembered, so a dead name is not looked up in a loop. At most 10 s.
   * `EAI_AGAIN` (a temporary failure, which the retry tier retries) is not remembered.
   * @default 2000
   * @example createAgent({ dnsNegativeTtl: 500 })
   */
  dnsNegativeTtl?: number;
  /**
   * Host names kept in the DNS cache; the least recently used is evicted.
   * @default 1000
   * @example createAgent({ dnsCacheSize: 10_000 })
   */
  dnsCacheSize?: number;
  /**
   * Resolves a host name to addresses with TTLs. The default asks DNS (`dns.resolve4/resolve6` with TTLs)
   * and falls back to the system resolver (`getaddrinfo`: /etc/hosts, `localhost`).
   * @default the system's DNS
   * @example createAgent({ resolver: async (host) => [{ address: '127.0.0.1', family: 4, ttl: 30 }] })
   */
  resolver?: Resolver;
  /**
   * Refuse to connect to private, loopback, link-local and other non-public addresses (SSRF guard).
   * The check runs on the resolved address at connect time, so DNS rebinding cannot get around it.
   * @default false
   * @example createAgent({ denyPrivateAddresses: true })
   */
  denyPrivateAddresses?: boolean;
  /**
   * Addresses or CIDR ranges allowed even when `denyPrivateAddresses` would refuse them.
   * @default []
   * @example createAgent({ denyPrivateAddresses: true, allowAddresses: ['10.1.2.0/24'] })
   */
  allowAddresses?: readonly string[];
  /**
   * Addresses or CIDR ranges always refused; wins over `allowAddresses`.
   * @default []
   * @example createAgent({ denyAddresses: ['169.254.169.254'] })
   */
  denyAddresses?: readonly string[];
  /**
   * Negotiate HTTP/2 over TLS (ALPN). HTTP/1.1 otherwise.
   * @default false
   * @example createAgent({ allowH2: true })
   */
  allowH2?: boolean;
  /**
   * TLS settings for `https:` origins (and HTTP/2): a private CA to trust, a client certificate, or
   * `rejectUnauthorized: false`. The server name sent (SNI) and checked is always the request's host name,
   * never the resolved address. Node's rule applies to `ca`: it replaces the default trust store; to add to
   * it, pass `[...tls.rootCertificates, myCa]`. Validated (parsed) at creation.
   * @default {} (Node's trust store, certificates verified)
   * @example createAgent({ tls: { ca: readFileSync('internal-ca.pem') } })
   */
  tls?: AgentTlsOptions;
  /**
   * Retry once, below ky, a bodiless idempotent request (or one with an `Idempotency-Key` header) whose
   * reused keep-alive connection was closed by the server before any byte of the response came back.
   * @default true
   * @example createAgent({ retryStaleConnections: false })
   */
  retryStaleConnections?: boolean;
  /**
   * Monotonic clock in ms, used for DNS expiry.
   * @default performance.now
   * @example createAgent({ clock: () => fakeNow })
   */
  clock?: () => number;
};

/** PEM text or buffer, or a list of them. */
export type PemInput = string | Buffer | readonly (string | Buffer)[];

/** The subset of `node:tls` connect options the agent accepts. */
export type AgentTlsOptions = {
  /** Trusted CA certificates (PEM), replacing Node's default trust store. */
  ca?: PemInput;
  /** Client certificate chain (PEM); requires `key`. */
  cert?: PemInput;
  /** Client private key (PEM, unencrypted); requires `cert`. Never echoed in errors. */
  key?: PemInput;
  /**
   * Verify the server's certificate against the trusted CAs and the host name.
   * @default true
   */
  rejectUnauthorized?: boolean;
};

/** Built once at creation, shared by every TLS connection. */
export type NormalizedTlsOptions = {
  secureContext: SecureContext | undefined;
  rejectUnauthorized: boolean;
};

export type NormalizedAgentOptions = {
  limit: number;
  limitPerHost: number;
  maxQueue: number;
  keepAliveTimeout: number;
  keepAliveMaxTimeout: number;
  connectTimeout: number;
  dnsTtl: number;
  dnsNegativeTtl: number;
  dnsCacheSize: number;
  resolver: Resolver | undefined;
  denyPrivateAddresses: boolean;
  allowAddresses: readonly string[];
  denyAddresses: readonly string[];
  allowH2: boolean;
  tls: NormalizedTlsOptions;
  retryStaleConnections: boolean;
  clock: () => number;
};

const MAX_TIMER = 2 ** 31 - 1;

const KNOWN: ReadonlySet<string> = new Set([
  'limit',
  'limitPerHost',
  'maxQueue',
  'keepAliveTimeout',
  'keepAliveMaxTimeout',
  'connectTimeout',
  'dnsTtl',
  'dnsNegativeTtl',
  'dnsCacheSize',
  'resolver',
  'denyPrivateAddresses',
  'allowAddresses',
  'denyAddresses',
  'allowH2',
  'tls',
  'retryStaleConnections',
  'clock',
]);

function integer(name: string, value: unknown, fallback: number, min: number, max: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw new AgentOptionsError(name, value, `an integer from ${min} to ${max}`);
  }
  return value;
}

function countOrInfinity(name: string, value: unknown, fallback: number): number {
  if (value === undefined) return fallback;
  if (value === Number.POSITIVE_INFINITY) return value;
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) {
    throw new AgentOptionsError(name, value, 'a non-negative integer, or Infinity');
  }
  return value;
}

function duration(name: string, value: unknown, fallback: number, min: number, max = MAX_TIMER): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isFinite(value) || value < min || value > max) {
    throw new AgentOptionsError(name, value, `a finite number of milliseconds from ${min} to ${max}`);
  }
  return value;
}

function bool(name: string, value: unknown, fallback: boolean): boolean {
  if (value === undefined) return fallback;
  if (typeof value !== 'boolean') throw new AgentOptionsError(name, value, 'a boolean');
  return value;
}

function fn<T>(name: string, value: unknown): T | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'function') throw new AgentOptionsError(name, value, 'a function');
  return value as T;
}

function list(name: string, value: unknown): readonly string[] {
  if (value === undefined) return [];
  if (!Array.isArray(value) || !value.every((v) => typeof v === 'string')) {
    throw new AgentOptionsError(name, value, 'an array of IP addresses or CIDR ranges');
  }
  return [...value];
}

const TLS_KNOWN: ReadonlySet<string> = new Set(['ca', 'cert', 'key', 'rejectUnauthorized']);

/** Names a value by its type only: used where the value may be key material. */
function typeOf(value: unknown): string {
  if (value === null) return '(null)';
  if (Array.isArray(value)) return '(an array)';
  if (Buffer.isBuffer(value)) return '(a Buffer)';
  return `(a ${typeof value})`;
}

function pem(
  name: string,
  value: unknown,
  secret: boolean,
): string | Buffer | (string | Buffer)[] | undefined {
  if (value === undefined) return undefined;
  const one = (v: unknown): boolean =>
    (typeof v === 'string' && v.length > 0) || (Buffer.isBuffer(v) && v.length > 0);
  if (one(value)) return value as string | Buffer;
  if (Array.isArray(value) && value.length > 0 && value.every(one)) return [...value] as (string | Buffer)[];
  throw new AgentOptionsError(
    name,
    secret ? typeOf(value) : value,
    'a non-empty PEM string or Buffer, or a non-empty array of them',
  );
}

function tlsOptions(value: unknown): NormalizedTlsOptions {
  if (value === undefined) return { secureContext: undefined, rejectUnauthorized: true };
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new AgentOptionsError('tls', value, 'an object');
  }
  const given = value as Record<string, unknown>;
  for (const key of Object.keys(given)) {
    if (!TLS_KNOWN.has(key)) {
      const secret = key === 'key' || key === 'passphrase' || key === 'pfx';
      throw new AgentOptionsError(
        `tls.${key}`,
        secret ? typeOf(given[key]) : given[key],
        key === 'servername'
          ? 'not set: the server name is always the request host'
          : 'one of ca, cert, key, rejectUnauthorized (unknown key)',
      );
    }
  }
  const ca = pem('tls.ca', given.ca, false);
  const cert = pem('tls.cert', given.cert, true);
  const key = pem('tls.key', given.key, true);
  const rejectUnauthorized = bool('tls.rejectUnauthorized', given.rejectUnauthorized, true);
  if ((cert === undefined) !== (key === undefined)) {
    const missing = cert === undefined ? 'tls.cert' : 'tls.key';
    const present = cert === undefined ? 'tls.key' : 'tls.cert';
    throw new AgentOptionsError(missing, undefined, `set together with ${present}`);
  }
  if (ca === undefined && cert === undefined) return { secureContext: undefined, rejectUnauthorized };
  // Parsed here, once: a bad PEM fails at creation, and connections share one context.
  let secureContext: SecureContext;
  if (ca !== undefined) {
    // createSecureContext skips an unparsable CA silently; each entry must hold a certificate.
    for (const entry of Array.isArray(ca) ? ca : [ca]) {
      try {
        new X509Certificate(entry);
      } catch {
        throw new AgentOptionsError('tls.ca', typeOf(entry), 'PEM certificates that parse');
      }
    }
  }
  try {
    secureContext = createSecureContext({ ca, cert, key });
  } catch {
    // OpenSSL's message is not echoed: it is kept short of anything derived from the key material.
    throw new AgentOptionsError('tls.cert', typeOf(cert), 'a PEM certificate chain matching tls.key');
  }
  return { secureContext, rejectUnauthorized };
}

/** Validates every option; throws {@link AgentOptionsError} naming the first bad one. */
export function normalizeAgentOptions(options: AgentOptions | undefined): NormalizedAgentOptions {
  if (options === undefined) options = {};
  if (typeof options !== 'object' || options === null || Array.isArray(options)) {
    throw new AgentOptionsError('options', options, 'an object');
  }
  for (const key of Object.keys(options)) {
    if (!KNOWN.has(key))
      throw new AgentOptionsError(
        key,
        (options as Record<string, unknown>)[key],
        'a known option (unknown key)',
      );
  }
  const limit = integer('limit', options.limit, 100, 0, 1_000_000);
  const limitPerHost = integer(
    'limitPerHost',
    options.limitPerHost,
    Math.min(10, limit === 0 ? 10 : limit),
    0,
    1_000_000,
  );
  if (limit !== 0 && limitPerHost > limit) {
    throw new AgentOptionsError('limitPerHost', limitPerHost, `at most limit (${limit})`);
  }
  const keepAliveTimeout = duration('keepAliveTimeout', options.keepAliveTimeout, 4000, 1);
  const keepAliveMaxTimeout = duration(
    'keepAliveMaxTimeout',
    options.keepAliveMaxTimeout,
    Math.max(4000, keepAliveTimeout),
    1,
  );
  if (keepAliveMaxTimeout < keepAliveTimeout) {
    throw new AgentOptionsError(
      'keepAliveMaxTimeout',
      keepAliveMaxTimeout,
      `at least keepAliveTimeout (${keepAliveTimeout})`,
    );
  }
  const clock = fn<() => number>('clock', options.clock) ?? (() => performance.now());
  return {
    limit,
    limitPerHost,
    maxQueue: countOrInfinity('maxQueue', options.maxQueue, 10_000),
    keepAliveTimeout,
    keepAliveMaxTimeout,
    connectTimeout: duration('connectTimeout', options.connectTimeout, 10_000, 0),
    dnsTtl: duration('dnsTtl', options.dnsTtl, 300_000, 0),
    dnsNegativeTtl: duration('dnsNegativeTtl', options.dnsNegativeTtl, 2000, 0, 10_000),
    dnsCacheSize: integer('dnsCacheSize', options.dnsCacheSize, 1000, 1, 10_000_000),
    resolver: fn<Resolver>('resolver', options.resolver),
    denyPrivateAddresses: bool('denyPrivateAddresses', options.denyPrivateAddresses, false),
    allowAddresses: list('allowAddresses', options.allowAddresses),
    denyAddresses: list('denyAddresses', options.denyAddresses),
    allowH2: bool('allowH2', options.allowH2, false),
    tls: tlsOptions(options.tls),
    retryStaleConnections: bool('retryStaleConnections', options.retryStaleConnections, true),
    clock,
  };
}
