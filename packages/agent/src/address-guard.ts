import { BlockList, isIP } from 'node:net';
import { AgentOptionsError } from './errors.ts';

/** Ranges that are not public unicast addresses: private, loopback, link-local, CGNAT, multicast, reserved... */
const NON_PUBLIC_V4: readonly [string, number][] = [
  ['0.0.0.0', 8],
  ['10.0.0.0', 8],
  ['100.64.0.0', 10],
  ['127.0.0.0', 8],
  ['169.254.0.0', 16],
  ['172.16.0.0', 12],
  ['192.0.0.0', 24],
  ['192.0.2.0', 24],
  ['192.88.99.0', 24],
  ['192.168.0.0', 16],
  ['198.18.0.0', 15],
  ['198.51.100.0', 24],
  ['203.0.113.0', 24],
  ['224.0.0.0', 4],
  ['240.0.0.0', 4],
];
const NON_PUBLIC_V6: readonly [string, number][] = [
  // The unspecified address and the deprecated IPv4-compatible addresses (::a.b.c.d), loopback included.
  ['::', 96],
  // The local-use NAT64 prefix (RFC 8215): network-specific, never global.
  ['64:ff9b:1::', 48],
  ['::1', 128],
  ['100::', 64],
  ['2001:db8::', 32],
  ['fc00::', 7],
  ['fe80::', 10],
  ['fec0::', 10],
  ['ff00::', 8],
];

function parseRange(option: string, entry: string, list: BlockList): void {
  const [address, prefixText, extra] = entry.trim().split('/');
  const family = isIP(address ?? '');
  const max = family === 6 ? 128 : 32;
  // Digits only: `Number` would read "" (a trailing slash) as 0, a range matching every address of the family.
  const prefix =
    prefixText === undefined ? max : /^\d{1,3}$/.test(prefixText) ? Number(prefixText) : Number.NaN;
  if (family === 0 || extra !== undefined || !Number.isInteger(prefix) || prefix < 0 || prefix > max) {
    throw new AgentOptionsError(
      option,
      entry,
      'an IP address or CIDR range such as "10.0.0.0/8" or "fd00::/8"',
    );
  }
  list.addSubnet(address!, prefix, family === 6 ? 'ipv6' : 'ipv4');
}

/**
 * An IPv6 address as the URL parser writes it (lower case, zeros compressed, no leading zeros), so that every
 * spelling of an address reads the same: `64:ff9b:0:0:0:0:7f00:1` and `0064:ff9b::7f00:1` are `64:ff9b::7f00:1`.
 */
function canonicalV6(address: string): string {
  try {
    return new URL(`http://[${address}]/`).hostname.slice(1, -1);
  } catch {
    return address.toLowerCase();
  }
}

/** The address embedded in an IPv4-mapped (::ffff:a.b.c.d) or NAT64 (64:ff9b::/96) IPv6 address. */
function embeddedV4(address: string): string | undefined {
  const lower = canonicalV6(address);
  const mapped = /^(?:::ffff:|64:ff9b::)(\d+\.\d+\.\d+\.\d+)$/.exec(lower);
  if (mapped) return mapped[1];
  const hex = /^(?:::ffff:|64:ff9b::)([0-9a-f]{1,4}):([0-9a-f]{1,4})$/.exec(lower);
  if (hex) {
    const hi = Number.parseInt(hex[1]!, 16);
    const lo = Number.parseInt(hex[2]!, 16);
    return `${hi >> 8}.${hi & 255}.${lo >> 8}.${lo & 255}`;
  }
  return undefined;
}

export type AddressVerdict = { allowed: true } | { allowed: false; reason: string };

/**
 * Decides, per resolved address, whether the agent may connect to it. `denyAddresses` always wins; then
 * `allowAddresses`; then, with `denyPrivateAddresses`, every non-public range is refused.
 */
export class AddressGuard {
  readonly enabled: boolean;
  readonly #denyPrivate: boolean;
  readonly #allow = new BlockList();
  readonly #deny = new BlockList();
  readonly #nonPublic = new BlockList();

  constructor(options: {
    denyPrivateAddresses: boolean;
    allowAddresses: readonly string[];
    denyAddresses: readonly string[];
  }) {
    this.#denyPrivate = options.denyPrivateAddresses;
    for (const entry of options.allowAddresses) parseRange('allowAddresses', entry, this.#allow);
    for (const entry of options.denyAddresses) parseRange('denyAddresses', entry, this.#deny);
    for (const [a, p] of NON_PUBLIC_V4) this.#nonPublic.addSubnet(a, p, 'ipv4');
    for (const [a, p] of NON_PUBLIC_V6) this.#nonPublic.addSubnet(a, p, 'ipv6');
    this.enabled = this.#denyPrivate || options.denyAddresses.length > 0;
  }

  check(address: string): AddressVerdict {
    const family = isIP(address);
    if (family === 0) return { allowed: false, reason: 'not an IP address' };
    const v4 = family === 6 ? embeddedV4(address) : undefined;
    const matches = (list: BlockList): boolean =>
      list.check(address, family === 6 ? 'ipv6' : 'ipv4') || (v4 !== undefined && list.check(v4, 'ipv4'));
    if (matches(this.#deny)) return { allowed: false, reason: 'the address is in denyAddresses' };
    if (matches(this.#allow)) return { allowed: true };
    if (this.#denyPrivate && matches(this.#nonPublic)) {
      return { allowed: false, reason: 'the address is not public (denyPrivateAddresses)' };
    }
    return { allowed: true };
  }
}
