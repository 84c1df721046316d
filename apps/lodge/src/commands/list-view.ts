/**
 * The rows of `lodge list` from GET /1.0/instances?recursion=2, as `lxc list` shows them:
 * NAME, STATE (upper case), IPV4 and IPV6 ("addr (iface)", one per line, loopback and
 * link-local left out), TYPE (CONTAINER, "(EPHEMERAL)" when so) and SNAPSHOTS (a count).
 */
export const LIST_COLUMNS = ['NAME', 'STATE', 'IPV4', 'IPV6', 'TYPE', 'SNAPSHOTS'];

interface Address {
  family: string;
  address: string;
  scope: string;
}

export interface FullInstance {
  name: string;
  status: string;
  type?: string;
  ephemeral?: boolean;
  expanded_config?: Record<string, string>;
  config?: Record<string, string>;
  snapshots?: unknown[] | null;
  state?: { network?: Record<string, { addresses?: Address[] }> | null } | null;
}

export function addresses(i: FullInstance, family: 'inet' | 'inet6'): string[] {
  const out: string[] = [];
  for (const [iface, net] of Object.entries(i.state?.network ?? {})) {
    if (iface === 'lo') continue;
    for (const a of net.addresses ?? []) {
      if (a.family === family && a.scope !== 'link' && a.scope !== 'local') out.push(`${a.address} (${iface})`);
    }
  }
  return out.sort().reverse();
}

export function listRow(i: FullInstance): string[] {
  const type = (i.type || 'container').toUpperCase() + (i.ephemeral ? ' (EPHEMERAL)' : '');
  return [i.name, i.status.toUpperCase(), addresses(i, 'inet').join('\n'), addresses(i, 'inet6').join('\n'), type, String(i.snapshots?.length ?? 0)];
}

/**
 * `lodge list [FILTER...]`: a bare word matches names starting with it; `key=value` matches
 * the expanded config key, or `status=`/`type=` (case-insensitive). All filters must match.
 */
export function matchesFilters(i: FullInstance, filters: readonly string[]): boolean {
  return filters.every((f) => {
    const eq = f.indexOf('=');
    if (eq < 0) return i.name.startsWith(f);
    const key = f.slice(0, eq);
    const value = f.slice(eq + 1);
    if (key === 'status' || key === 'state') return i.status.toLowerCase() === value.toLowerCase();
    if (key === 'type') return (i.type || 'container').toLowerCase() === value.toLowerCase();
    if (key === 'name') return i.name === value;
    return (i.expanded_config ?? i.config ?? {})[key] === value;
  });
}
