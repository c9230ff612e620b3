import { LRUCache } from 'lru-cache';
import { HostEntry } from './host-entry.ts';
import type { ResolvedHostLimiterOptions } from './options.ts';
import { TokenBucket } from './token-bucket.ts';

/**
 * The keys the limiter knows: an LRU of at most `maxHosts` entries (idle ones expire after
 * `hostTtl`), plus the entries evicted from it while busy.
 *
 * An entry leaves the LRU (evicted by a newer key, or expired) whatever its state. One with requests
 * in flight or queued is moved to `detached` at that moment, and lookups find it there, so a key
 * never has two entries and its per-key limit holds. When it becomes idle it goes back into the
 * LRU (as the most recent entry), keeping its pause and rate-limit state. The registry thus holds
 * at most `maxHosts` entries plus the busy ones, which the global limit and the queues bound.
 */
export class Registry {
  readonly #lru: LRUCache<string, HostEntry>;
  readonly #detached: Map<string, HostEntry> = new Map();
  readonly #options: ResolvedHostLimiterOptions;

  constructor(options: ResolvedHostLimiterOptions) {
    this.#options = options;
    const dispose = (entry: HostEntry, key: string): void => {
      if (entry.busy) {
        entry.detached = true;
        this.#detached.set(key, entry);
      }
    };
    const clock = options.clock;
    this.#lru =
      options.hostTtl === false
        ? new LRUCache<string, HostEntry>({ max: options.maxHosts, dispose })
        : new LRUCache<string, HostEntry>({
            max: options.maxHosts,
            ttl: options.hostTtl,
            updateAgeOnGet: true,
            // No debounce timer per lookup (lru-cache's default `ttlResolution` starts one).
            ttlResolution: 0,
            perf: { now: clock },
            dispose,
          });
  }

  /** The entry of `key`, created (and inserted as the most recent) when there is none. */
  entryFor(key: string): HostEntry {
    const found = this.#lru.get(key) ?? (this.#detached.size > 0 ? this.#detached.get(key) : undefined);
    if (found !== undefined) return found;
    const { rate, burst, clock } = this.#options;
    const entry = new HostEntry(key, rate === false ? undefined : new TokenBucket(rate, burst, clock()));
    this.#lru.set(key, entry);
    return entry;
  }

  /**
   * The entry of `key` if there is one, without touching its recency. An expired entry that is still
   * busy counts (a lookup would move it aside); an expired idle one does not.
   */
  peek(key: string): HostEntry | undefined {
    const entry = this.#lru.peek(key, { allowStale: true });
    if (entry !== undefined) return entry.busy || this.#lru.has(key) ? entry : undefined;
    return this.#detached.get(key);
  }

  /** Called when `entry` has just become idle: a detached entry goes back into the LRU. */
  idle(entry: HostEntry): void {
    if (!entry.detached) return;
    entry.detached = false;
    this.#detached.delete(entry.key);
    this.#lru.set(entry.key, entry);
  }

  /** Entries in the LRU (expired ones not yet purged included). */
  get size(): number {
    return this.#lru.size;
  }

  /** Busy entries evicted from the LRU, kept until idle. */
  get detachedSize(): number {
    return this.#detached.size;
  }

  /**
   * Every entry: the LRU's, then the detached ones. Expired entries are purged first (a busy one
   * moves to the detached ones): the LRU's iteration skips expired entries, and would miss the
   * waiters of a key busy for longer than `hostTtl` without a lookup.
   */
  *entries(): IterableIterator<HostEntry> {
    this.#lru.purgeStale();
    for (const entry of this.#lru.values()) yield entry;
    yield* this.#detached.values();
  }
}
