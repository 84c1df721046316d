/**
 * Choosing a NIC's address on a managed network. The pick is pure: the caller passes the addresses
 * already taken (from the allocations table) and the state layer inserts the result under a unique
 * constraint, so a race can only make an insert fail and retry, never hand out an address twice.
 */
import { InvalidArgumentError } from '@lodge/common';
import { formatIp, parseIp } from './ip-address';
import { AddressRange, dhcpPools } from './dhcp-ranges';
import { addressInSubnet, broadcastAddress, formatInterfaceCidr, InterfaceCidr } from './subnet';

/** Canonical set of taken addresses (text in any form, e.g. "10.0.3.7" from PostgreSQL's inet). */
function takenSet(used: Iterable<string>, family: 4 | 6): Set<bigint> {
  const set = new Set<bigint>();
  for (const t of used) {
    const ip = parseIp(t.replace(/\/\d+$/, ''));
    if (ip.family === family) set.add(ip.value);
  }
  return set;
}

/**
 * The lowest free address of the network's DHCP pools (the ranges, or the whole subnet), never the
 * gateway, network or broadcast address; undefined when the pools are full.
 */
export function nextFreeAddress(cidr: InterfaceCidr, used: Iterable<string>, ranges?: AddressRange[]): string | undefined {
  const taken = takenSet(used, cidr.subnet.family);
  for (const pool of dhcpPools(cidr, ranges)) {
    for (let v = pool.start; v <= pool.end; v++) {
      if (!taken.has(v)) return formatIp({ family: cidr.subnet.family, value: v });
    }
  }
  return undefined;
}

/**
 * A NIC's static `ipv4.address` (or ipv6): it must lie in the network's subnet (anywhere, also
 * outside the DHCP ranges, as in LXD) and be neither the gateway nor the network or broadcast
 * address. Returns the canonical text.
 */
export function validateStaticAddress(cidr: InterfaceCidr, text: string): string {
  const ip = addressInSubnet(text, cidr.subnet);
  if (ip.value === cidr.address.value) {
    throw new InvalidArgumentError(`Address "${text}" is the gateway address of the network (${formatInterfaceCidr(cidr)})`);
  }
  if (ip.value === cidr.subnet.network || (ip.family === 4 && ip.value === broadcastAddress(cidr.subnet))) {
    throw new InvalidArgumentError(`Address "${text}" is the network or broadcast address of the subnet`);
  }
  return formatIp(ip);
}
