/**
 * The network interfaces of a running instance as its own network namespace sees them, read from
 * the host without entering it: /proc/<init pid>/net/* is that namespace's view, and the sysfs the
 * container mounted (reached through /proc/<pid>/root) shows its own devices. Plain file reads, no
 * helper process per instance, so listing many instances stays cheap.
 *
 * IPv4 addresses come from fib_trie (the "/32 host LOCAL" leaves) joined with the main routing
 * table for the interface and prefix; IPv6 from if_inet6; counters from net/dev.
 */
import { maskPrefix, parseRoutes } from '@lodge/network';
import type { InterfaceCounters, Ipv4Route } from '@lodge/network';
import type { PinnedFiles } from '@lodge/runtime';

export type { InterfaceCounters };

export interface InterfaceAddress {
  family: 'inet' | 'inet6';
  address: string;
  /** prefix length as a decimal string, as LXD reports it ("8", "64") */
  netmask: string;
  scope: 'global' | 'link' | 'local';
}


export interface InterfaceState {
  addresses: InterfaceAddress[];
  counters: InterfaceCounters;
  hwaddr: string;
  host_name: string;
  mtu: number;
  state: 'up' | 'down';
  type: 'loopback' | 'broadcast' | 'point-to-point';
}

/** Counters per interface from a net/dev text. */
export function parseNetDev(text: string): Map<string, InterfaceCounters> {
  const out = new Map<string, InterfaceCounters>();
  for (const line of text.split('\n').slice(2)) {
    const colon = line.indexOf(':');
    if (colon < 0) continue;
    const name = line.slice(0, colon).trim();
    const f = line.slice(colon + 1).trim().split(/\s+/).map(Number);
    if (!name || f.length < 16) continue;
    out.set(name, {
      bytes_received: f[0],
      packets_received: f[1],
      errors_received: f[2],
      packets_dropped_inbound: f[3],
      bytes_sent: f[8],
      packets_sent: f[9],
      errors_sent: f[10],
      packets_dropped_outbound: f[11],
    });
  }
  return out;
}

/** IPv6 addresses per interface from an if_inet6 text. */
export function parseIfInet6(text: string): Map<string, InterfaceAddress[]> {
  const out = new Map<string, InterfaceAddress[]>();
  for (const line of text.split('\n')) {
    const f = line.trim().split(/\s+/);
    if (f.length < 6 || f[0].length !== 32) continue;
    const groups = f[0].match(/.{4}/g)!.map((g) => parseInt(g, 16).toString(16));
    const scopeBits = parseInt(f[3], 16) & 0xf0;
    const scope = scopeBits === 0x20 ? 'link' : scopeBits === 0x10 ? 'local' : 'global';
    const list = out.get(f[5]) ?? [];
    list.push({ family: 'inet6', address: compressIpv6(groups), netmask: String(parseInt(f[2], 16)), scope });
    out.set(f[5], list);
  }
  return out;
}

/** The addresses assigned to this namespace: the "/32 host LOCAL" leaves of fib_trie. */
export function parseLocalIpv4(fibTrie: string): string[] {
  const found = new Set<string>();
  let leaf: string | undefined;
  for (const line of fibTrie.split('\n')) {
    const l = line.trim();
    if (l.startsWith('|-- ')) leaf = l.slice(4);
    else if (leaf && /^\/32 host LOCAL/.test(l)) found.add(leaf);
  }
  return [...found];
}

/** Which interface (and prefix) an IPv4 address of the namespace belongs to. */
export function ipv4Owner(address: string, routes: readonly Ipv4Route[]): { iface: string; prefix: number } | undefined {
  const a = ipv4ToInt(address);
  if (a >>> 24 === 127) return { iface: 'lo', prefix: 8 };
  let best: { iface: string; prefix: number } | undefined;
  for (const r of routes) {
    if (r.mask === 0 || ((a & r.mask) >>> 0) !== r.dest) continue;
    const prefix = maskPrefix(r.mask);
    if (!best || prefix > best.prefix) best = { iface: r.iface, prefix };
  }
  return best;
}

/**
 * Reads the interfaces of a running container's network namespace; an empty map when it is gone.
 * The /proc/<pid>/net files are the kernel's view of that namespace (host procfs: trusted); mtu,
 * flags, type and address come from the sysfs the container mounted, read without following
 * anything the container could point elsewhere (PinnedFiles.readInContainer). Every file is
 * kept open while the container runs and re-read in one syscall: see PinnedFiles.
 */
export function readInstanceNetwork(pid: number, files: PinnedFiles): Record<string, InterfaceState> {
  const proc = `/proc/${pid}/net`;
  const counters = parseNetDev(files.read(`${proc}/dev`) ?? '');
  if (counters.size === 0) return {};
  const v6 = parseIfInet6(files.read(`${proc}/if_inet6`) ?? '');
  const locals = parseLocalIpv4(files.read(`${proc}/fib_trie`) ?? '');
  const v4 = new Map<string, InterfaceAddress[]>();
  if (locals.length > 0) {
    const routes = parseRoutes(files.read(`${proc}/route`) ?? '');
    for (const address of locals) {
      const owner = ipv4Owner(address, routes);
      if (!owner) continue;
      const list = v4.get(owner.iface) ?? [];
      list.push({ family: 'inet', address, netmask: String(owner.prefix), scope: address.startsWith('127.') ? 'local' : 'global' });
      v4.set(owner.iface, list);
    }
  }
  const out: Record<string, InterfaceState> = {};
  for (const name of [...counters.keys()].sort()) {
    // /sys/class/net/<name> is a symlink; virtual devices (lo, veth, ...) live here
    const attr = (file: string) => files.readInContainer(pid, ['sys', 'devices', 'virtual', 'net', name, file])?.trim() ?? '';
    // the link kind from its flags (IFF_LOOPBACK, IFF_POINTOPOINT): one file fewer per interface
    // than sysfs `type`, which adds up over 1000 instances listed with their state
    const flags = parseInt(attr('flags') || '0', 16);
    const loopback = (flags & IFF_LOOPBACK) !== 0 || name === 'lo';
    out[name] = {
      addresses: [...(v4.get(name) ?? []), ...(v6.get(name) ?? [])],
      counters: counters.get(name)!,
      hwaddr: loopback ? '' : attr('address'),
      type: loopback ? 'loopback' : (flags & IFF_POINTOPOINT) !== 0 ? 'point-to-point' : 'broadcast',
      host_name: '',
      mtu: Number(attr('mtu')) || 0,
      state: (flags & 0x1) === 1 ? 'up' : 'down',
    };
  }
  return out;
}

const IFF_LOOPBACK = 0x8;
const IFF_POINTOPOINT = 0x10;

function ipv4ToInt(address: string): number {
  return address.split('.').reduce((acc, part) => ((acc << 8) | Number(part)) >>> 0, 0);
}

/** RFC 5952 text: the longest run (>= 2) of zero groups becomes "::". */
function compressIpv6(groups: string[]): string {
  let bestStart = -1;
  let bestLen = 0;
  for (let i = 0; i < groups.length; ) {
    if (groups[i] !== '0') {
      i++;
      continue;
    }
    let j = i;
    while (j < groups.length && groups[j] === '0') j++;
    if (j - i > bestLen) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  if (bestLen < 2) return groups.join(':');
  return `${groups.slice(0, bestStart).join(':')}::${groups.slice(bestStart + bestLen).join(':')}`;
}
