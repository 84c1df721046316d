/**
 * The nftables rules of one managed network, in a table of Lodge's own (`inet lodge_<network>`),
 * so Lodge never edits rules it did not write and removing a network is dropping its table.
 *
 * The script replaces the table in one transaction (declare, delete, define): applying it again,
 * e.g. after a daemon restart, gives the same table, and a failing script changes nothing.
 */
import { InvalidArgumentError } from '@lodge/common';
import { formatSubnet, parseSubnet } from '../ipam';

export interface NetworkRulesSpec {
  /** nft table name (family inet), e.g. networkTableName('lodgebr0') */
  table: string;
  /** the bridge interface */
  bridge: string;
  /** IPv4 subnet (`10.0.3.0/24`, or the bridge address `10.0.3.1/24`) and whether to masquerade it */
  ipv4?: { subnet: string; nat: boolean };
  ipv6?: { subnet: string; nat: boolean };
}

const TABLE_PREFIX = 'lodge_';
/** nft identifiers start with a letter or `_`; the rest may also hold digits, `.`, `-`, `/`. */
const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_.-]{0,63}$/;
const IFNAME = /^[A-Za-z0-9_.-]{1,15}$/;

export function networkTableName(network: string): string {
  return checkTable(`${TABLE_PREFIX}${network}`);
}

export function isLodgeTable(name: string): boolean {
  return name.startsWith(TABLE_PREFIX);
}

function checkTable(name: string): string {
  if (!IDENTIFIER.test(name)) throw new InvalidArgumentError(`"${name}" cannot be an nftables table name`);
  return name;
}

/** The script that (re)defines the network's table. */
export function renderNetworkRules(spec: NetworkRulesSpec): string {
  const table = checkTable(spec.table);
  if (!IFNAME.test(spec.bridge)) throw new InvalidArgumentError(`Invalid interface name "${spec.bridge}"`);
  const br = `"${spec.bridge}"`;
  const nat: string[] = [];
  for (const [family, cfg] of [['ip', spec.ipv4], ['ip6', spec.ipv6]] as const) {
    if (!cfg?.nat) continue;
    const subnet = formatSubnet(parseSubnet(cfg.subnet, family === 'ip' ? 4 : 6));
    // traffic from the subnet to anywhere but the subnet leaves with the host's address
    nat.push(`${family} saddr ${subnet} ${family} daddr != ${subnet} masquerade`);
  }
  const chains = [
    chain('postrouting', 'type nat hook postrouting priority srcnat; policy accept;', nat),
    // what the bridge's own DHCP and DNS server needs from the instances (DHCPv6 and router
    // solicitations too); accepted here so a host firewall's default table policy is not the only say
    chain('input', 'type filter hook input priority filter; policy accept;', [
      `iifname ${br} udp dport { 53, 67, 547 } accept`,
      `iifname ${br} tcp dport 53 accept`,
      `iifname ${br} icmpv6 type { nd-router-solicit, nd-neighbor-solicit, nd-neighbor-advert } accept`,
    ]),
    chain('forward', 'type filter hook forward priority filter; policy accept;', [`iifname ${br} accept`, `oifname ${br} accept`]),
  ];
  return `table inet ${table}\ndelete table inet ${table}\ntable inet ${table} {\n${chains.join('\n')}\n}\n`;
}

/** The script that removes the table, whether or not it exists. */
export function renderTableRemoval(table: string): string {
  checkTable(table);
  return `table inet ${table}\ndelete table inet ${table}\n`;
}

function chain(name: string, base: string, rules: string[]): string {
  return [`  chain ${name} {`, `    ${base}`, ...rules.map((r) => `    ${r}`), '  }'].join('\n');
}
