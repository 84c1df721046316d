/**
 * dnsmasq's lease file. IPv4 lines: `<expiry> <mac> <ip> <hostname|*> <client-id|*>`; then a
 * `duid <server duid>` line and IPv6 lines: `<expiry> <iaid> <ip6> <hostname|*> <client duid>`.
 * Expiry 0 means an infinite lease.
 */
export interface DhcpLease {
  family: 4 | 6;
  /** the client's MAC (IPv6: taken from a link-layer DUID, '' when the DUID has none) */
  hwaddr: string;
  address: string;
  hostname: string | null;
  /** null for an infinite lease */
  expiry: Date | null;
}

const MAC = /^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/i;

export function parseLeases(text: string): DhcpLease[] {
  const out: DhcpLease[] = [];
  for (const raw of text.split('\n')) {
    const f = raw.trim().split(/\s+/);
    if (f.length < 4 || f[0] === 'duid' || !/^\d+$/.test(f[0])) continue;
    const expirySec = Number(f[0]);
    const v6 = f[2].includes(':');
    out.push({
      family: v6 ? 6 : 4,
      hwaddr: v6 ? macFromDuid(f[4] ?? '') : MAC.test(f[1]) ? f[1].toLowerCase() : '',
      address: f[2],
      hostname: f[3] === '*' ? null : f[3],
      expiry: expirySec === 0 ? null : new Date(expirySec * 1000),
    });
  }
  return out;
}

/** The Ethernet MAC in a DUID-LLT (type 1) or DUID-LL (type 3), or ''. */
function macFromDuid(duid: string): string {
  const b = duid.toLowerCase().split(':');
  if (b.length < 4 || b[0] !== '00' || b[2] !== '00' || b[3] !== '01') return '';
  const mac = b[1] === '01' ? b.slice(8, 14) : b[1] === '03' ? b.slice(4, 10) : [];
  return mac.length === 6 ? mac.join(':') : '';
}
