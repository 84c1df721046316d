/**
 * Managed `bridge` networks on the host: a Linux bridge named after the network with its
 * addresses, Lodge's own nftables table (NAT, DHCP/DNS accepted), and a dnsmasq serving DHCP
 * with a reservation for every NIC the database holds an address for. apply() is idempotent:
 * it makes what is missing and corrects what differs, at create, update and daemon start alike.
 */
import { chmod, mkdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { InvalidArgumentError, NotFoundError } from '@lodge/common';
import { parseBool } from '@lodge/config';
import { DhcpReservation, DnsmasqSpec, DnsmasqSupervisor } from '../dhcp';
import { chooseAutoSubnet, formatInterfaceCidr, formatIp, formatSubnet, maskPrefix, parseInterfaceCidr, parseRoutes, parseSubnet, subnetsOverlap } from '../ipam';
import { NetworkFirewall, networkTableName } from '../nft';
import { HostLinks } from './host-links';

export interface BridgeDriverOptions {
  /** where each network keeps its dnsmasq files: <dir>/<network>/ */
  dir: string;
  /** private blocks `ipv4.address=auto` carves /24s from (judged by this host's own addresses only) */
  autoSubnetPool: string[];
}

export interface BridgeNetwork {
  name: string;
  config: Readonly<Record<string, string>>;
}

/** What a driver can do, for callers to branch on (never on the driver's name). */
export interface NetworkDriverCapabilities {
  addresses: boolean;
  dhcp: boolean;
  nat: boolean;
}

const isSet = (v: string | undefined): v is string => !!v && v !== 'none' && v !== 'auto';
const flag = (v: string | undefined, dflt: boolean): boolean => (v === undefined || v === '' ? dflt : parseBool(v));

export class BridgeDriver {
  readonly type = 'bridge';
  readonly capabilities: NetworkDriverCapabilities = { addresses: true, dhcp: true, nat: true };

  constructor(
    private readonly links: HostLinks,
    private readonly firewall: NetworkFirewall,
    private readonly dnsmasq: DnsmasqSupervisor,
    private readonly options: BridgeDriverOptions,
  ) {}

  /**
   * The config to store: at creation LXD's defaults filled in (ipv4.address auto with NAT, no
   * IPv6); "auto" resolved to a subnet that no interface or route of this host and no other Lodge
   * network uses. An explicit subnet that overlaps one of those is refused. (An update stores what
   * it is given: a key left out is unset, as in LXD.)
   */
  async resolveConfig(
    name: string,
    config: Readonly<Record<string, string>>,
    others: BridgeNetwork[],
    o: { creating: boolean },
  ): Promise<Record<string, string>> {
    const c: Record<string, string> = { ...config };
    if (o.creating && c['ipv4.address'] === undefined) c['ipv4.address'] = 'auto';
    if (o.creating && c['ipv6.address'] === undefined) c['ipv6.address'] = 'none';
    const hostAddresses = (await this.links.listAddresses()).filter((a) => a.ifname !== name && a.scope !== 'host' && a.scope !== 'link');
    const hostRoutes = await readHostRoutes(name);
    const theirs = others.filter((o) => o.name !== name);
    for (const family of [4, 6] as const) {
      const key = `ipv${family}.address`;
      const ownSubnets = theirs.map((o) => o.config[key]).filter(isSet);
      const hostSubnets = [
        ...hostAddresses.filter((a) => a.family === family).map((a) => `${a.address}/${a.prefix}`),
        ...(family === 4 ? hostRoutes : []),
      ];
      if (c[key] === 'auto') {
        if (family === 6) throw new InvalidArgumentError('"ipv6.address" auto is not supported: give a prefix (e.g. fd42:1:2:3::1/64) or "none"');
        c[key] = formatInterfaceCidr(chooseAutoSubnet({ pool: this.options.autoSubnetPool, hostSubnets, taken: ownSubnets, random: Math.random }));
        if (c['ipv4.nat'] === undefined) c['ipv4.nat'] = 'true';
        continue;
      }
      if (!isSet(c[key])) continue;
      const mine = parseSubnet(c[key], family);
      for (const other of theirs) {
        if (isSet(other.config[key]) && subnetsOverlap(mine, parseSubnet(other.config[key], family))) {
          throw new InvalidArgumentError(`The subnet ${formatSubnet(mine)} overlaps network "${other.name}" (${other.config[key]})`);
        }
      }
      for (const route of family === 4 ? hostRoutes : []) {
        if (subnetsOverlap(mine, parseSubnet(route, 4))) throw new InvalidArgumentError(`The subnet ${formatSubnet(mine)} overlaps the host's route to ${route}`);
      }
      for (const a of hostAddresses.filter((h) => h.family === family)) {
        if (subnetsOverlap(mine, parseSubnet(`${a.address}/${a.prefix}`, family))) {
          throw new InvalidArgumentError(`The subnet ${formatSubnet(mine)} overlaps the host's ${a.address}/${a.prefix} on ${a.ifname}`);
        }
      }
    }
    return c;
  }

  /** Makes the host match the network: bridge, addresses, firewall table, forwarding, DHCP. */
  async apply(net: BridgeNetwork, reservations: DhcpReservation[], o: { restartDhcp?: boolean } = {}): Promise<void> {
    const { name, config } = net;
    const mtu = config['bridge.mtu'] ? Number(config['bridge.mtu']) : undefined;
    const link = (await this.links.listLinks()).find((l) => l.name === name);
    if (link && link.kind !== 'bridge') {
      throw new InvalidArgumentError(`The host already has an interface "${name}" that is not a bridge`);
    }
    if (!link) await this.links.createBridge(name, { mtu, hwaddr: config['bridge.hwaddr'] || undefined });
    else if (mtu !== undefined && link.mtu !== mtu) await this.links.setMtu(name, mtu);

    const wanted = [config['ipv4.address'], config['ipv6.address']].filter(isSet).map((a) => formatInterfaceCidr(parseInterfaceCidr(a)));
    const present = (await this.links.listAddresses(name)).filter((a) => a.scope === 'global').map((a) => `${a.address}/${a.prefix}`);
    for (const a of present) if (!wanted.includes(a)) await this.links.delAddress(name, a);
    for (const a of wanted) if (!present.includes(a)) await this.links.addAddress(name, a);
    await this.links.setUp(name);

    const v4 = isSet(config['ipv4.address']) ? config['ipv4.address'] : undefined;
    const v6 = isSet(config['ipv6.address']) ? config['ipv6.address'] : undefined;
    const nat4 = !!v4 && flag(config['ipv4.nat'], false);
    const nat6 = !!v6 && flag(config['ipv6.nat'], false);
    if (v4 || v6) {
      await this.firewall.apply({
        table: networkTableName(name),
        bridge: name,
        ipv4: v4 ? { subnet: v4, nat: nat4 } : undefined,
        ipv6: v6 ? { subnet: v6, nat: nat6 } : undefined,
      });
    } else {
      await this.firewall.remove(networkTableName(name));
    }
    // NAT routes the subnet's traffic through the host, as LXD turns forwarding on for it; it is
    // never turned off again (other networks of the host may rely on it)
    if (nat4) await writeFile('/proc/sys/net/ipv4/ip_forward', '1');
    if (nat6) await writeFile('/proc/sys/net/ipv6/conf/all/forwarding', '1');

    const spec = this.dhcpSpec(net);
    if (!spec) {
      await this.dnsmasq.stop({ bridge: name, dir: this.dirOf(name) });
      return;
    }
    if (o.restartDhcp) await this.dnsmasq.restart(spec, reservations);
    else await this.dnsmasq.start(spec, reservations);
  }

  /** The reservations dnsmasq serves: one per NIC with an address on the network. */
  async setReservations(name: string, reservations: DhcpReservation[]): Promise<void> {
    await this.dnsmasq.setReservations({ bridge: name, dir: this.dirOf(name) }, reservations);
  }

  /** Everything apply() made, gone; what is already gone is fine. */
  async remove(name: string): Promise<void> {
    await this.dnsmasq.stop({ bridge: name, dir: this.dirOf(name) });
    await this.firewall.remove(networkTableName(name));
    await this.links.deleteLink(name).catch((err) => {
      if (!(err instanceof NotFoundError)) throw err;
    });
    await rm(this.dirOf(name), { recursive: true, force: true });
  }

  async leases(name: string) {
    return this.dnsmasq.leases({ dir: this.dirOf(name) });
  }

  private dirOf(name: string): string {
    return join(this.options.dir, name);
  }

  /** dnsmasq settings, or undefined when the network serves no DHCP (no address, or ipv4.dhcp=false and no IPv6). */
  private dhcpSpec(net: BridgeNetwork): DnsmasqSpec | undefined {
    const c = net.config;
    const v4 = isSet(c['ipv4.address']) && flag(c['ipv4.dhcp'], true) ? c['ipv4.address'] : undefined;
    const v6 = isSet(c['ipv6.address']) && flag(c['ipv6.dhcp'], true) ? c['ipv6.address'] : undefined;
    if (!v4 && !v6) return undefined;
    return {
      bridge: net.name,
      dir: this.dirOf(net.name),
      // every Lodge NIC has a reservation; the ranges bound what the IPAM picks (NicDevices)
      ipv4: v4 ? { address: v4, leaseTime: c['ipv4.dhcp.expiry'] || undefined, reservedOnly: true } : undefined,
      ipv6: v6 ? { address: v6, stateful: flag(c['ipv6.dhcp.stateful'], false), ranges: c['ipv6.dhcp.ranges'] || undefined } : undefined,
      domain: c['dns.domain'] || undefined,
      mtu: c['bridge.mtu'] ? Number(c['bridge.mtu']) : undefined,
    };
  }

  /**
   * Makes sure dnsmasq's unprivileged user can reach the networks' directory: it re-reads the
   * reservations there after dropping root. Search permission (o+x) on the daemon's state
   * directory is all it needs, as LXD's 0711 state directory gives it; nothing becomes listable.
   */
  async prepareDir(): Promise<void> {
    await mkdir(this.options.dir, { recursive: true, mode: 0o711 });
    const parent = dirname(this.options.dir);
    const mode = (await stat(parent)).mode & 0o7777;
    if (!(mode & 0o001)) await chmod(parent, mode | 0o001);
  }
}

/**
 * The host's IPv4 routes (not the default route, not the network's own bridge) as CIDRs, from
 * /proc/net/route: subnets reached through a gateway are in use somewhere even when no address of
 * this host is in them.
 */
async function readHostRoutes(ownBridge: string): Promise<string[]> {
  const text = await readFile('/proc/net/route', 'utf8').catch(() => '');
  return parseRoutes(text)
    .filter((r) => r.iface !== ownBridge && r.mask !== 0)
    .map((r) => `${formatIp({ family: 4, value: BigInt(r.dest) })}/${maskPrefix(r.mask)}`);
}
