/**
 * A network namespace's IPv4 main routing table as /proc/<pid>/net/route (or the host's
 * /proc/net/route) shows it: one line per route, addresses as little-endian hex. Read for an
 * instance's interface addresses and for the subnets `ipv4.address=auto` must avoid.
 */

export interface Ipv4Route {
  iface: string;
  /** destination, as a 32-bit number */
  dest: number;
  /** netmask, as a 32-bit number (0 for the default route) */
  mask: number;
}

/** The routes of a /proc/net/route text. */
export function parseRoutes(text: string): Ipv4Route[] {
  const routes: Ipv4Route[] = [];
  for (const line of text.split('\n').slice(1)) {
    const f = line.trim().split(/\s+/);
    if (f.length < 8) continue;
    routes.push({ iface: f[0], dest: leHexToInt(f[1]), mask: leHexToInt(f[7]) });
  }
  return routes;
}

/** The prefix length of a netmask. */
export function maskPrefix(mask: number): number {
  let c = 0;
  for (let v = mask >>> 0; v; v >>>= 1) c += v & 1;
  return c;
}

function leHexToInt(hex: string): number {
  const n = parseInt(hex, 16);
  return (((n & 0xff) << 24) | (((n >>> 8) & 0xff) << 16) | (((n >>> 16) & 0xff) << 8) | ((n >>> 24) & 0xff)) >>> 0;
}
