/**
 * `ipv4.dhcp.ranges` (`a-b,c-d`) and the address pools a network hands out from. As in LXD,
 * dynamic addresses come from the DHCP ranges, or from the whole subnet when none are set; the
 * gateway, the network address and (IPv4) the broadcast address are never in a pool.
 */
import { InvalidArgumentError } from '@lodge/common';
import { formatIp, parseIp } from './ip-address';
import { broadcastAddress, formatSubnet, InterfaceCidr, subnetContains } from './subnet';

/** Inclusive address range. */
export interface AddressRange {
  start: bigint;
  end: bigint;
}

/**
 * Parses `a-b[,c-d...]` against the network's subnet: both ends inside it, start <= end, no range
 * covering the network or broadcast address, no two ranges overlapping. Sorted by start.
 */
export function parseDhcpRanges(text: string, cidr: InterfaceCidr): AddressRange[] {
  const { subnet } = cidr;
  const ranges: AddressRange[] = [];
  for (const part of text.split(',').map((p) => p.trim())) {
    const dash = part.indexOf('-');
    if (dash < 0) throw new InvalidArgumentError(`Invalid DHCP range "${part}": expected <start>-<end>`);
    const [a, b] = [part.slice(0, dash).trim(), part.slice(dash + 1).trim()].map((t) => parseIp(t, subnet.family));
    for (const ip of [a, b]) {
      if (!subnetContains(subnet, ip)) {
        throw new InvalidArgumentError(`DHCP range "${part}" is not within the subnet ${formatSubnet(subnet)}`);
      }
    }
    if (a.value > b.value) throw new InvalidArgumentError(`Invalid DHCP range "${part}": start is after end`);
    if (a.value === subnet.network || (subnet.family === 4 && b.value === broadcastAddress(subnet))) {
      throw new InvalidArgumentError(`DHCP range "${part}" includes the network or broadcast address`);
    }
    ranges.push({ start: a.value, end: b.value });
  }
  ranges.sort((x, y) => (x.start < y.start ? -1 : x.start > y.start ? 1 : 0));
  for (let i = 1; i < ranges.length; i++) {
    if (ranges[i].start <= ranges[i - 1].end) throw new InvalidArgumentError(`DHCP ranges overlap in "${text}"`);
  }
  return ranges;
}

/** The host addresses of the subnet: all but the network and (IPv4) broadcast address. */
export function hostRange(cidr: InterfaceCidr): AddressRange {
  const last = broadcastAddress(cidr.subnet);
  return { start: cidr.subnet.network + 1n, end: cidr.subnet.family === 4 ? last - 1n : last };
}

/**
 * The pools dynamic addresses come from: the given ranges (or the whole host range) with the
 * gateway cut out, so a range around the gateway becomes two.
 */
export function dhcpPools(cidr: InterfaceCidr, ranges?: AddressRange[]): AddressRange[] {
  const gw = cidr.address.value;
  const out: AddressRange[] = [];
  for (const r of ranges && ranges.length > 0 ? ranges : [hostRange(cidr)]) {
    if (gw < r.start || gw > r.end) out.push(r);
    else {
      if (gw > r.start) out.push({ start: r.start, end: gw - 1n });
      if (gw < r.end) out.push({ start: gw + 1n, end: r.end });
    }
  }
  return out;
}

/** `a-b` text of a range, e.g. for logs and dnsmasq. */
export function formatRange(r: AddressRange, family: 4 | 6): [string, string] {
  return [formatIp({ family, value: r.start }), formatIp({ family, value: r.end })];
}
