/**
 * The configuration keys of a managed bridge network as data (DESIGN principle 6), following
 * LXD's bridge options for what Lodge supports. Each key has a validator; the checks across keys
 * (DHCP ranges inside the subnet, NAT needing an address) follow in validateNetworkConfig.
 * An empty value means "unset", so it is never validated.
 */
import { InvalidArgumentError } from '@lodge/common';
import { parseBool, parseIntStrict, validateInterfaceName } from '@lodge/config';
import { parseDhcpRanges, parseInterfaceCidr } from '../ipam';

export interface NetworkKeyDef {
  /** the key, or a prefix pattern ending in ".*" */
  readonly key: string;
  readonly validate: (value: string) => void;
  readonly description: string;
}

const bool = (v: string) => void parseBool(v);
const mac = (v: string) => {
  if (!/^[0-9a-fA-F]{2}(:[0-9a-fA-F]{2}){5}$/.test(v) || parseInt(v.slice(0, 2), 16) & 1) {
    throw new InvalidArgumentError(`"${v}" is not a unicast MAC address such as 00:16:3e:12:34:56`);
  }
};
const addressOrWord = (family: 4 | 6) => (v: string) => {
  if (v === 'none' || v === 'auto') return;
  parseInterfaceCidr(v, family);
};
/** a lease time as dnsmasq takes it: "1h", "30m", "3600" (seconds), "infinite" */
const expiry = (v: string) => {
  if (v !== 'infinite' && !/^\d+[smhd]?$/.test(v)) throw new InvalidArgumentError(`"${v}" is not a lease time such as "1h" or "30m"`);
  if (/^\d+$/.test(v) && Number(v) < 120) throw new InvalidArgumentError('a lease time must be at least 2 minutes');
};
const domain = (v: string) => {
  if (!/^[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/.test(v) || v.length > 253) {
    throw new InvalidArgumentError(`"${v}" is not a DNS domain name`);
  }
};

export const BRIDGE_KEYS: readonly NetworkKeyDef[] = [
  { key: 'bridge.mtu', validate: (v) => void parseIntStrict(v, 68, 65535), description: 'MTU of the bridge' },
  { key: 'bridge.hwaddr', validate: mac, description: 'MAC address of the bridge' },
  { key: 'ipv4.address', validate: addressOrWord(4), description: 'The bridge\'s IPv4 address with its prefix (CIDR), "auto" (a free private subnet chosen from this host\'s own interfaces and routes) or "none"' },
  { key: 'ipv4.nat', validate: bool, description: 'Masquerade traffic from the subnet leaving through other interfaces' },
  { key: 'ipv4.dhcp', validate: bool, description: 'Run a DHCP server on the bridge (default true)' },
  { key: 'ipv4.dhcp.ranges', validate: () => undefined, description: 'Ranges handed out by DHCP ("a-b,c-d"); the whole subnet when unset' },
  { key: 'ipv4.dhcp.expiry', validate: expiry, description: 'DHCP lease time (default 1h)' },
  { key: 'ipv6.address', validate: addressOrWord(6), description: 'The bridge\'s IPv6 address with its prefix, or "none"' },
  { key: 'ipv6.nat', validate: bool, description: 'Masquerade IPv6 traffic from the subnet' },
  { key: 'ipv6.dhcp', validate: bool, description: 'Router advertisements (SLAAC) on the bridge (default true)' },
  { key: 'ipv6.dhcp.stateful', validate: bool, description: 'Hand out IPv6 addresses by DHCPv6 as well' },
  { key: 'ipv6.dhcp.ranges', validate: () => undefined, description: 'Ranges stateful DHCPv6 hands out ("a-b,c-d"); the whole subnet when unset' },
  { key: 'dns.domain', validate: domain, description: 'Domain of the instances\' names on this network (default "lodge")' },
  { key: 'user.*', validate: () => undefined, description: 'Free-form user data' },
];

export function lookupNetworkKey(key: string): NetworkKeyDef | undefined {
  return BRIDGE_KEYS.find((d) => d.key === key || (d.key.endsWith('.*') && key.startsWith(d.key.slice(0, -1)) && key.length > d.key.length - 1));
}

/**
 * Validates a bridge network's config: every key known and valid, then the keys together. An
 * "auto" address is resolved by the caller before it is stored; here it is only allowed.
 */
export function validateNetworkConfig(config: Readonly<Record<string, string>>): void {
  for (const [key, value] of Object.entries(config)) {
    const def = lookupNetworkKey(key);
    if (!def) throw new InvalidArgumentError(`Invalid option for network: "${key}"`);
    if (value === '') continue;
    try {
      def.validate(value);
    } catch (err) {
      throw new InvalidArgumentError(`Invalid value for network option "${key}": ${err instanceof Error ? err.message : String(err)}`);
    }
  }
  for (const family of [4, 6] as const) checkRanges(config, family);
}

/** `ipv<family>.dhcp.ranges` must lie in `ipv<family>.address`'s subnet. */
function checkRanges(config: Readonly<Record<string, string>>, family: 4 | 6): void {
  const address = config[`ipv${family}.address`];
  if (config[`ipv${family}.dhcp.ranges`]) {
    if (!address || address === 'none' || address === 'auto') throw new InvalidArgumentError(`"ipv${family}.dhcp.ranges" needs "ipv${family}.address" set to a subnet`);
    try {
      parseDhcpRanges(config[`ipv${family}.dhcp.ranges`], parseInterfaceCidr(address, family));
    } catch (err) {
      throw new InvalidArgumentError(`Invalid value for network option "ipv${family}.dhcp.ranges": ${err instanceof Error ? err.message : String(err)}`);
    }
  }
}

/** Network names: kernel interface names (the bridge is named after the network). */
export function validateNetworkName(name: string): void {
  try {
    validateInterfaceName(name);
  } catch (err) {
    throw new InvalidArgumentError(`Invalid network name "${name}": ${err instanceof Error ? err.message : String(err)}`);
  }
  if (name === '' || name === 'none' || name === 'auto') throw new InvalidArgumentError(`Invalid network name "${name}"`);
}
