import { promises as dns } from 'node:dns';
import { isIP } from 'node:net';
import { LRUCache } from 'lru-cache';
import { DnsLookupError } from './errors.ts';

/** One resolved address. `ttl` is the record's TTL in seconds, when the resolver knows it. */
export type ResolvedAddress = { address: string; family: 4 | 6; ttl?: number };

/** Resolves a host name. Rejects with an error carrying a `code` (`ENOTFOUND`, ...) on failure. */
export type Resolver = (hostname: string) => Promise<readonly ResolvedAddress[]>;

export type DnsStats = { hits: number; misses: number; entries: number; failures: number };

type Entry =
  | { ok: true; addresses: readonly ResolvedAddress[]; expiresAt: number; next: number }
  | { ok: false; error: unknown; code: string; expiresAt: number };

const SOFT_FAILURES: ReadonlySet<string> = new Set([
  'ENOTFOUND',
  'ENODATA',
  'ECONNREFUSED',
  'ETIMEOUT',
  'ESERVFAIL',
  'EREFUSED',
  'ENOTIMP',
  'EBADRESP',
  'ECANCELLED',
  'EAI_AGAIN',
]);

function errorCode(error: unknown): string {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : 'ENOTFOUND';
}

/**
 * The default resolver: DNS with record TTLs (`resolve4`/`resolve6` with `{ ttl: true }`), falling back to the
 * system resolver (`getaddrinfo`, which reads /etc/hosts) when DNS has no answer. `localhost` and `*.localhost`
 * go straight to the system resolver.
 */
export const systemResolver: Resolver = async (hostname) => {
  const lower = hostname.toLowerCase();
  if (lower !== 'localhost' && !lower.endsWith('.localhost')) {
    const [v4, v6] = await Promise.allSettled([
      dns.resolve4(hostname, { ttl: true }),
      dns.resolve6(hostname, { ttl: true }),
    ]);
    const found: ResolvedAddress[] = [];
    if (v4.status === 'fulfilled')
      for (const r of v4.value) found.push({ address: r.address, family: 4, ttl: r.ttl });
    if (v6.status === 'fulfilled')
      for (const r of v6.value) found.push({ address: r.address, family: 6, ttl: r.ttl });
    if (found.length > 0) return found;
    const failure = v4.status === 'rejected' ? v4.reason : v6.status === 'rejected' ? v6.reason : undefined;
    if (failure !== undefined && !SOFT_FAILURES.has(errorCode(failure))) throw failure;
  }
  const all = await dns.lookup(hostname, { all: true, order: 'verbatim' });
  return all.map((r) => ({ address: r.address, family: r.family === 6 ? 6 : 4 }));
};

/**
 * A bounded DNS cache: answers live for min(record TTL, `ttl`), failures but `EAI_AGAIN` for `negativeTtl`; the least recently
 * used host is evicted past `max` entries. Concurrent lookups of one host share a single query. Each call of
 * {@link DnsCache.lookup} returns the addresses rotated by one, so connections spread over a host's addresses.
 */
export class DnsCache {
  readonly #resolver: Resolver;
  readonly #ttl: number;
  readonly #negativeTtl: number;
  readonly #clock: () => number;
  readonly #entries: LRUCache<string, Entry>;
  readonly #pending = new Map<string, Promise<Entry>>();
  #hits = 0;
  #misses = 0;
  #failures = 0;
  /** Bumped by every invalidation: a lookup started before it does not cache its answer. */
  #generation = 0;

  constructor(options: {
    resolver: Resolver;
    ttl: number;
    negativeTtl: number;
    max: number;
    clock: () => number;
  }) {
    this.#resolver = options.resolver;
    this.#ttl = options.ttl;
    this.#negativeTtl = options.negativeTtl;
    this.#clock = options.clock;
    this.#entries = new LRUCache({ max: options.max });
  }

  /** Addresses of `hostname`, rotated by one at each call. IP literals are returned as they are. */
  async lookup(hostname: string): Promise<readonly ResolvedAddress[]> {
    const family = isIP(hostname);
    if (family !== 0) return [{ address: hostname, family: family === 6 ? 6 : 4 }];
    let entry = this.#entries.get(hostname);
    let fromCache = false;
    if (entry !== undefined && entry.expiresAt > this.#clock()) {
      this.#hits++;
      fromCache = true;
    } else {
      if (entry !== undefined) this.#entries.delete(hostname);
      this.#misses++;
      entry = await this.#resolve(hostname);
    }
    if (!entry.ok) {
      throw new DnsLookupError(hostname, entry.code, fromCache, entry.error);
    }
    const { addresses } = entry;
    if (addresses.length <= 1) return addresses;
    const start = entry.next % addresses.length;
    entry.next = start + 1;
    return start === 0 ? addresses : [...addresses.slice(start), ...addresses.slice(0, start)];
  }

  /**
   * Forgets one host (after a connection failure, say) or every host. A lookup already under way still
   * answers its callers, but its answer is not cached, and later callers start a lookup of their own.
   */
  invalidate(hostname?: string): void {
    this.#generation++;
    if (hostname === undefined) {
      this.#entries.clear();
      this.#pending.clear();
    } else {
      this.#entries.delete(hostname);
      this.#pending.delete(hostname);
    }
  }

  stats(): DnsStats {
    return { hits: this.#hits, misses: this.#misses, entries: this.#entries.size, failures: this.#failures };
  }

  #resolve(hostname: string): Promise<Entry> {
    const pending = this.#pending.get(hostname);
    if (pending !== undefined) return pending;
    const promise: Promise<Entry> = this.#query(hostname).finally(() => {
      if (this.#pending.get(hostname) === promise) this.#pending.delete(hostname);
    });
    this.#pending.set(hostname, promise);
    return promise;
  }

  async #query(hostname: string): Promise<Entry> {
    // An invalidation while the lookup is under way makes its answer stale: it is not cached.
    const generation = this.#generation;
    let entry: Entry;
    try {
      const answer = await this.#resolver(hostname);
      if (!Array.isArray(answer) || answer.length === 0) {
        const error = Object.assign(new Error(`no addresses for ${hostname}`), { code: 'ENOTFOUND' });
        throw error;
      }
      let ttl = this.#ttl;
      for (const record of answer) {
        if (typeof record.ttl === 'number' && Number.isFinite(record.ttl) && record.ttl >= 0) {
          ttl = Math.min(ttl, record.ttl * 1000);
        }
      }
      entry = { ok: true, addresses: answer, expiresAt: this.#clock() + ttl, next: 0 };
      if (ttl > 0 && generation === this.#generation) this.#entries.set(hostname, entry);
    } catch (error) {
      this.#failures++;
      const code = errorCode(error);
      entry = { ok: false, error, code, expiresAt: this.#clock() + this.#negativeTtl };
      // EAI_AGAIN is the resolver's own "temporary failure, try again": the one DNS failure a retry is
      // for (the retry tier retries it), so it is not remembered. Lookups under way are still shared.
      if (code !== 'EAI_AGAIN' && this.#negativeTtl > 0 && this.#ttl > 0 && generation === this.#generation) {
        this.#entries.set(hostname, entry);
      }
    }
    return entry;
  }
}
