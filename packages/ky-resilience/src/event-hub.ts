import diagnosticsChannel, { type Channel } from 'node:diagnostics_channel';
import { type ClientEventMap, type ClientEventName, channelNames, clientEventNames } from './events.ts';

type Listener<K extends ClientEventName> = (event: ClientEventMap[K]) => void;

/**
 * The events of one client: listeners registered with `on()` (or the `events` option) and the
 * `node:diagnostics_channel` channels of {@link channelNames}. A payload is built only when
 * someone listens: a listener, or a channel subscriber (`channel.hasSubscribers`).
 */
export class EventHub {
  readonly #listeners: { [K in ClientEventName]: Set<Listener<K>> };
  readonly #channels: Record<ClientEventName, Channel>;

  constructor() {
    this.#listeners = {
      attempt: new Set(),
      retry: new Set(),
      giveUp: new Set(),
      breakerStateChange: new Set(),
      breakerRejected: new Set(),
      limiterRejected: new Set(),
      timeout: new Set(),
    };
    const channels: Partial<Record<ClientEventName, Channel>> = {};
    for (const name of clientEventNames) {
      channels[name] = diagnosticsChannel.channel(channelNames[name]);
    }
    this.#channels = channels as Record<ClientEventName, Channel>;
  }

  /** Adds a listener; returns the function that removes it. */
  on<K extends ClientEventName>(name: K, listener: Listener<K>): () => void {
    const set = this.#listeners[name] as Set<Listener<K>>;
    // A wrapper, so the same function registered twice is called twice and removed once per call.
    const entry: Listener<K> = (event) => listener(event);
    set.add(entry);
    return () => {
      set.delete(entry);
    };
  }

  /** True when an event of this name would reach anyone. */
  wants(name: ClientEventName): boolean {
    return this.#listeners[name].size > 0 || this.#channels[name].hasSubscribers;
  }

  /**
   * Delivers the event built by `build()` to the listeners, then publishes it on the channel.
   * A listener's exception never reaches the request: it is rethrown from a microtask (an
   * uncaught exception, as for an `EventEmitter` without an error handler). Channel subscribers'
   * exceptions are handled by `node:diagnostics_channel` itself (rethrown on the next tick).
   */
  emit<K extends ClientEventName>(name: K, build: () => ClientEventMap[K]): void {
    const listeners = this.#listeners[name] as Set<Listener<K>>;
    const channel = this.#channels[name];
    if (listeners.size === 0 && !channel.hasSubscribers) return;
    const event: ClientEventMap[K] = build();
    Object.freeze(event);
    for (const listener of listeners) {
      try {
        listener(event);
      } catch (error) {
        queueMicrotask(() => {
          throw error;
        });
      }
    }
    if (channel.hasSubscribers) channel.publish(event);
  }
}
