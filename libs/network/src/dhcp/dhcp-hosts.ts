/**
 * dnsmasq's `--dhcp-hostsfile`: one reservation per line, `<mac>,<ipv4>[,<hostname>]`. Every
 * allocation Lodge made (static or picked) is written here, so dnsmasq hands each NIC the address
 * the database holds for it. Values are checked so no line can smuggle in another option.
 */
import { InvalidArgumentError } from '@lodge/common';
import { formatIp, parseIp } from '../ipam';

export interface DhcpReservation {
  hwaddr: string;
  ipv4?: string;
  hostname?: string;
}

const MAC = /^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/;
const HOSTNAME = /^[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?$/;

/** Whether a name may stand as a reservation's host name (one DNS label). */
export function isDhcpHostname(name: string): boolean {
  return HOSTNAME.test(name);
}

export function normalizeMac(text: string): string {
  const mac = text.trim().toLowerCase();
  if (!MAC.test(mac)) throw new InvalidArgumentError(`Invalid MAC address "${text}"`);
  return mac;
}

function line(r: DhcpReservation): string {
  const parts = [normalizeMac(r.hwaddr)];
  if (r.ipv4 !== undefined) parts.push(formatIp(parseIp(r.ipv4, 4)));
  if (r.hostname !== undefined) {
    if (!HOSTNAME.test(r.hostname)) throw new InvalidArgumentError(`Invalid DHCP host name "${r.hostname}"`);
    parts.push(r.hostname);
  }
  return parts.join(',');
}

/** The file's text; sorted by MAC so an unchanged set gives an unchanged file. */
export function renderDhcpHosts(reservations: DhcpReservation[]): string {
  const lines = reservations.map(line).sort();
  return lines.length ? `${lines.join('\n')}\n` : '';
}

/** Reads back a file written by renderDhcpHosts (other lines are skipped). */
export function parseDhcpHosts(text: string): DhcpReservation[] {
  const out: DhcpReservation[] = [];
  for (const raw of text.split('\n')) {
    const [hwaddr, ...rest] = raw.trim().split(',');
    if (!hwaddr || !MAC.test(hwaddr)) continue;
    const r: DhcpReservation = { hwaddr };
    for (const f of rest) {
      if (/^\d+\.\d+\.\d+\.\d+$/.test(f)) r.ipv4 = f;
      else if (f) r.hostname = f;
    }
    out.push(r);
  }
  return out;
}
