import { createRequire } from 'node:module';
import type { Socket } from 'node:net';
import type { buildConnector as buildConnectorType } from 'undici';
import type { AddressGuard } from './address-guard.ts';
import type { DnsCache, ResolvedAddress } from './dns-cache.ts';
import { BlockedAddressError, ConnectTimeoutError } from './errors.ts';
import type { NormalizedTlsOptions } from './options.ts';
import { stampSocketErrors } from './socket-stamp.ts';

const require = createRequire(import.meta.url);

/** Connection errors after which the next address of the host is tried. */
const FAILOVER_CODES: ReadonlySet<string> = new Set([
  'ECONNREFUSED',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EADDRNOTAVAIL',
  'ENETDOWN',
  'EHOSTDOWN',
]);

export type ConnectorOptions = {
  timeout: number;
  dns: DnsCache;
  guard: AddressGuard;
  allowH2: boolean;
  /** TLS settings for `https:` connections; the server name stays the request's host (undici derives it). */
  tls: NormalizedTlsOptions;
  /** Open sockets per origin (`protocol//host`), kept up to date by the connector. */
  sockets: Map<string, number>;
};

type ConnectOptions = buildConnectorType.Options;
type Callback = buildConnectorType.Callback;

/**
 * undici's connector (TLS session cache, ALPN, keep-alive probes) behind the agent's own DNS cache, address
 * guard, address failover and a precise connect timer that covers the lookup and every address tried.
 */
export function createConnector(options: ConnectorOptions): buildConnectorType.connector {
  // Loaded by path: the undici entry point would install a global dispatcher as a side effect.
  const buildConnector = require('undici/lib/core/connect.js') as typeof buildConnectorType;
  const { secureContext, rejectUnauthorized } = options.tls;
  // Every connect goes through `attempt` below, after the DNS cache and the guard: the TLS settings only reach
  // `tls.connect`. undici sets `servername` from the request's host (not the resolved address given as
  // `hostname`), so SNI and the certificate check use the host name.
  const base = buildConnector({
    timeout: 0,
    allowH2: options.allowH2,
    rejectUnauthorized,
    ...(secureContext === undefined ? {} : { secureContext }),
  });
  const { dns, guard, timeout, sockets } = options;

  return function connect(connectOptions: ConnectOptions, callback: Callback): void {
    const host = connectOptions.hostname;
    let settled = false;
    let current: Socket | undefined;
    let currentAddress: string | undefined;
    let timer: NodeJS.Timeout | undefined;

    const finish = (error: Error | null, socket?: Socket): void => {
      if (settled) {
        socket?.destroy();
        return;
      }
      settled = true;
      if (timer !== undefined) clearTimeout(timer);
      if (error) callback(error, null);
      else callback(null, socket!);
    };

    if (timeout > 0) {
      timer = setTimeout(() => {
        current?.destroy();
        finish(new ConnectTimeoutError(host, timeout, currentAddress));
      }, timeout);
      // Not unref'd: a connect in progress is pending work (a slow lookup holds no socket that would keep the
      // process alive). The timer is cleared as soon as the connect settles.
    }

    const attempt = (addresses: readonly ResolvedAddress[], index: number): void => {
      if (settled) return;
      const target = addresses[index]!;
      currentAddress = target.address;
      current = base({ ...connectOptions, hostname: target.address }, (error, socket) => {
        if (settled) {
          socket?.destroy();
          return;
        }
        if (error) {
          const code = (error as { code?: unknown }).code;
          if (index + 1 < addresses.length && typeof code === 'string' && FAILOVER_CODES.has(code)) {
            attempt(addresses, index + 1);
            return;
          }
          finish(error);
          return;
        }
        const origin = `${connectOptions.protocol}//${connectOptions.host ?? host}`;
        sockets.set(origin, (sockets.get(origin) ?? 0) + 1);
        (socket as Socket).once('close', () => {
          const open = (sockets.get(origin) ?? 1) - 1;
          if (open <= 0) sockets.delete(origin);
          else sockets.set(origin, open);
        });
        stampSocketErrors(socket as Socket);
        finish(null, socket as Socket);
      }) as unknown as Socket;
    };

    dns.lookup(host).then(
      (resolved) => {
        if (settled) return;
        let addresses = resolved;
        if (guard.enabled) {
          const allowed: ResolvedAddress[] = [];
          let refusal: BlockedAddressError | undefined;
          for (const entry of resolved) {
            const verdict = guard.check(entry.address);
            if (verdict.allowed) allowed.push(entry);
            else refusal ??= new BlockedAddressError(host, entry.address, verdict.reason);
          }
          if (allowed.length === 0) {
            finish(refusal ?? new BlockedAddressError(host, '(none)', 'no address'));
            return;
          }
          addresses = allowed;
        }
        attempt(addresses, 0);
      },
      (error: Error) => finish(error),
    );
  };
}
