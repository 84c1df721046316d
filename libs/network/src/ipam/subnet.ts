/**
 * Subnets and interface addresses in CIDR form. A managed network's `ipv4.address` is an
 * interface address: `10.0.3.1/24` is the bridge's own (gateway) address plus the prefix of the
 * subnet it serves, so its host bits must not be all zero (the network) or, for IPv4, all one
 * (the broadcast) — LXD refuses both as well.
 */
import { InvalidArgumentError } from '@lodge/common';
import { ADDRESS_BITS, formatIp, IpAddress, IpFamily, parseIp, tryParseIp } from './ip-address';

export interface Subnet {
  family: IpFamily;
  /** the network address (host bits zero) */
  network: bigint;
  prefix: number;
}

/** An address on an interface together with the subnet it is in. */
export interface InterfaceCidr {
  address: IpAddress;
  subnet: Subnet;
}

function mask(family: IpFamily, prefix: number): bigint {
  const bits = BigInt(ADDRESS_BITS[family]);
  return ((1n << bits) - 1n) ^ ((1n << (bits - BigInt(prefix))) - 1n);
}

function splitCidr(text: string, family?: IpFamily): { ip: IpAddress; prefix: number } {
  const slash = text.indexOf('/');
  const ip = slash > 0 ? tryParseIp(text.slice(0, slash)) : undefined;
  const bits = text.slice(slash + 1);
  if (!ip || (family !== undefined && ip.family !== family) || !/^(0|[1-9][0-9]{0,2})$/.test(bits)) {
    throw new InvalidArgumentError(`Invalid CIDR "${text}"${family ? ` (an IPv${family} address and a prefix length)` : ''}`);
  }
  const prefix = Number(bits);
  if (prefix > ADDRESS_BITS[ip.family]) throw new InvalidArgumentError(`Invalid prefix length in "${text}"`);
  return { ip, prefix };
}

/** The subnet an address with a prefix lies in: `10.0.3.7/24` -> 10.0.3.0/24 (host bits dropped). */
export function parseSubnet(text: string, family?: IpFamily): Subnet {
  const { ip, prefix } = splitCidr(text, family);
  return { family: ip.family, network: ip.value & mask(ip.family, prefix), prefix };
}

/**
 * A bridge address with its prefix, e.g. `10.0.3.1/24`. Refuses the subnet's network address and
 * (IPv4) broadcast address as the interface address, and subnets too small to hold a host beside
 * the gateway (IPv4 /31 and /32, IPv6 /127 and /128).
 */
export function parseInterfaceCidr(text: string, family?: IpFamily): InterfaceCidr {
  const { ip, prefix } = splitCidr(text, family);
  const subnet: Subnet = { family: ip.family, network: ip.value & mask(ip.family, prefix), prefix };
  if (ADDRESS_BITS[ip.family] - prefix < 2) {
    throw new InvalidArgumentError(`The subnet of "${text}" is too small for a managed network`);
  }
  if (ip.value === subnet.network) {
    throw new InvalidArgumentError(`"${text}" is the network address of its subnet, not a host address`);
  }
  if (ip.family === 4 && ip.value === broadcastAddress(subnet)) {
    throw new InvalidArgumentError(`"${text}" is the broadcast address of its subnet, not a host address`);
  }
  return { address: ip, subnet };
}

/** The last address of the subnet (IPv4: the broadcast address). */
export function broadcastAddress(s: Subnet): bigint {
  return s.network | ((1n << BigInt(ADDRESS_BITS[s.family] - s.prefix)) - 1n);
}

export function subnetSize(s: Subnet): bigint {
  return 1n << BigInt(ADDRESS_BITS[s.family] - s.prefix);
}

export function subnetContains(s: Subnet, ip: IpAddress): boolean {
  return ip.family === s.family && (ip.value & mask(s.family, s.prefix)) === s.network;
}

/** Two subnets overlap when one contains the other's network address (CIDR blocks nest or are disjoint). */
export function subnetsOverlap(a: Subnet, b: Subnet): boolean {
  if (a.family !== b.family) return false;
  const prefix = Math.min(a.prefix, b.prefix);
  const m = mask(a.family, prefix);
  return (a.network & m) === (b.network & m);
}

/** `10.0.3.0/24` */
export function formatSubnet(s: Subnet): string {
  return `${formatIp({ family: s.family, value: s.network })}/${s.prefix}`;
}

/** `10.0.3.1/24` */
export function formatInterfaceCidr(c: InterfaceCidr): string {
  return `${formatIp(c.address)}/${c.subnet.prefix}`;
}

/** The dotted netmask of an IPv4 prefix (dnsmasq and udhcpc speak it): 24 -> 255.255.255.0 */
export function ipv4Netmask(prefix: number): string {
  return formatIp({ family: 4, value: mask(4, prefix) });
}

/** Parses `text` as an address of `subnet`'s family and checks that it lies inside it. */
export function addressInSubnet(text: string, subnet: Subnet): IpAddress {
  const ip = parseIp(text, subnet.family);
  if (!subnetContains(subnet, ip)) {
    throw new InvalidArgumentError(`Address "${text}" is not within the subnet ${formatSubnet(subnet)}`);
  }
  return ip;
}
