/**
 * The command line of the dnsmasq that serves one managed bridge, as LXD runs one per bridge.
 * Only the bridge is served (bind-interfaces on its own addresses). DNS answers only for the
 * network's domain from DHCP names: no resolv.conf, no /etc/hosts and no upstream server, so it
 * never forwards a query anywhere.
 */
import { InvalidArgumentError } from '@lodge/common';
import { dhcpPools, formatIp, formatRange, formatSubnet, ipv4Netmask, parseDhcpRanges, parseInterfaceCidr } from '../ipam';
import { join } from 'node:path';

export interface DnsmasqSpec {
  /** the bridge interface */
  bridge: string;
  /** the network's state directory (pid, leases and hosts files live here) */
  dir: string;
  /** `ipv4.address` (`10.0.3.1/24`) with `ipv4.dhcp.ranges` and the lease time (`1h`) */
  ipv4?: {
    address: string;
    ranges?: string;
    leaseTime?: string;
    /**
     * Answer only MACs with a reservation (Lodge's NICs): every address then comes from the
     * database's allocation, never from dnsmasq's own pick, so no address is handed out twice
     * even when a client asks before its reservation was re-read.
     */
    reservedOnly?: boolean;
  };
  /** `ipv6.address` (`fd42::1/64`): router advertisements for SLAAC, or stateful DHCPv6 from ranges */
  ipv6?: { address: string; stateful?: boolean; ranges?: string; leaseTime?: string };
  /** `dns.domain` (default `lodge`) */
  domain?: string;
  /** `bridge.mtu`, advertised to DHCP clients */
  mtu?: number;
  /** unprivileged user and group dnsmasq runs as after binding (default `dnsmasq`/`nogroup`) */
  user?: string;
  group?: string;
}

export interface DnsmasqFiles {
  pidFile: string;
  leaseFile: string;
  hostsFile: string;
}

export function dnsmasqFiles(dir: string): DnsmasqFiles {
  return { pidFile: join(dir, 'dnsmasq.pid'), leaseFile: join(dir, 'leases'), hostsFile: join(dir, 'dhcp-hosts') };
}

const IFNAME = /^[A-Za-z0-9_.-]{1,15}$/;
const DOMAIN = /^[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/;
const LEASE_TIME = /^(\d+[smhdw]?|infinite)$/;
const USER = /^[a-z_][a-z0-9_-]{0,31}$/;

export function dnsmasqArgs(spec: DnsmasqSpec): string[] {
  if (!IFNAME.test(spec.bridge)) throw new InvalidArgumentError(`Invalid interface name "${spec.bridge}"`);
  const domain = spec.domain ?? 'lodge';
  if (!DOMAIN.test(domain)) throw new InvalidArgumentError(`Invalid DNS domain "${domain}"`);
  const user = spec.user ?? 'dnsmasq';
  const group = spec.group ?? 'nogroup';
  if (!USER.test(user) || !USER.test(group)) throw new InvalidArgumentError('Invalid dnsmasq user or group');
  if (!spec.ipv4 && !spec.ipv6) throw new InvalidArgumentError('dnsmasq needs an IPv4 or IPv6 address to serve');
  const f = dnsmasqFiles(spec.dir);
  const args = [
    '--strict-order',
    '--bind-interfaces',
    '--except-interface=lo',
    `--interface=${spec.bridge}`,
    '--no-ping',
    '--dhcp-no-override',
    '--dhcp-authoritative',
    '--dhcp-rapid-commit',
    '--quiet-dhcp',
    '--quiet-dhcp6',
    '--quiet-ra',
    `--pid-file=${f.pidFile}`,
    `--dhcp-leasefile=${f.leaseFile}`,
    `--dhcp-hostsfile=${f.hostsFile}`,
    '--conf-file=/dev/null',
    '--no-resolv',
    '--no-hosts',
    '--no-negcache',
    `--local=/${domain}/`,
    `--domain=${domain}`,
    `--user=${user}`,
    `--group=${group}`,
  ];
  if (spec.ipv4) {
    const cidr = parseInterfaceCidr(spec.ipv4.address, 4);
    const lease = leaseTime(spec.ipv4.leaseTime);
    const mask = ipv4Netmask(cidr.subnet.prefix);
    const ranges = spec.ipv4.ranges ? parseDhcpRanges(spec.ipv4.ranges, cidr) : undefined;
    args.push(`--listen-address=${formatIp(cidr.address)}`);
    for (const pool of spec.ipv4.reservedOnly ? [] : dhcpPools(cidr, ranges)) {
      const [a, b] = formatRange(pool, 4);
      args.push(`--dhcp-range=${a},${b},${mask},${lease}`);
    }
    // reservations (static ipv4.address) may lie anywhere in the subnet, also outside the pools
    args.push(`--dhcp-range=${formatIp({ family: 4, value: cidr.subnet.network })},static,${mask},${lease}`);
    if (spec.mtu !== undefined) {
      if (!Number.isInteger(spec.mtu) || spec.mtu < 576 || spec.mtu > 65535) throw new InvalidArgumentError(`Invalid MTU ${spec.mtu}`);
      args.push(`--dhcp-option-force=26,${spec.mtu}`);
    }
  }
  if (spec.ipv6) {
    const cidr = parseInterfaceCidr(spec.ipv6.address, 6);
    const lease = leaseTime(spec.ipv6.leaseTime);
    args.push(`--listen-address=${formatIp(cidr.address)}`, '--enable-ra');
    if (spec.ipv6.stateful) {
      // the given ranges, or (as LXD) the whole subnet but the bridge's own address
      const ranges = spec.ipv6.ranges ? parseDhcpRanges(spec.ipv6.ranges, cidr) : undefined;
      for (const pool of dhcpPools(cidr, ranges)) {
        const [a, b] = formatRange(pool, 6);
        args.push(`--dhcp-range=${a},${b},${cidr.subnet.prefix},${lease}`);
      }
    } else {
      // SLAAC from the advertised prefix, DHCPv6 only for information (DNS)
      args.push(`--dhcp-range=::,constructor:${spec.bridge},ra-stateless,ra-names,${formatSubnet(cidr.subnet).split('/')[1]},${lease}`);
    }
  }
  return args;
}

function leaseTime(t: string | undefined): string {
  const v = t ?? '1h';
  if (!LEASE_TIME.test(v)) throw new InvalidArgumentError(`Invalid DHCP lease time "${v}"`);
  return v;
}
