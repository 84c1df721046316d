/** The text of `lodge info NAME`, laid out as `lxc info` lays it out. */
import { humanBytes } from '../output/progress';

interface InstanceInfo {
  name: string;
  status: string;
  type?: string;
  architecture: string;
  created_at: string;
  last_used_at: string;
  ephemeral?: boolean;
  profiles?: string[];
  description?: string;
  state?: {
    pid: number;
    processes: number;
    cpu?: { usage: number };
    memory?: { usage: number; usage_peak: number; swap_usage?: number };
    network?: Record<string, { type?: string; state?: string; hwaddr?: string; host_name?: string; mtu?: number; addresses?: Array<{ family: string; address: string; netmask: string; scope: string }>; counters?: { bytes_received: number; bytes_sent: number; packets_received: number; packets_sent: number } }> | null;
    disk?: Record<string, { usage: number }> | null;
  } | null;
  snapshots?: Array<{ name: string; created_at: string }> | null;
}

/** `2024/05/01 12:34 UTC`, as lxc prints times; empty for Go's zero time (never). */
export function infoTime(iso: string): string {
  if (!iso || iso.startsWith('0001-01-01')) return '';
  const d = new Date(iso);
  const p = (n: number) => String(n).padStart(2, '0');
  return `${d.getUTCFullYear()}/${p(d.getUTCMonth() + 1)}/${p(d.getUTCDate())} ${p(d.getUTCHours())}:${p(d.getUTCMinutes())} UTC`;
}

export function renderInfo(i: InstanceInfo): string {
  const lines = [
    `Name: ${i.name}`,
    `Status: ${i.status.toUpperCase()}`,
    `Type: ${i.type || 'container'}${i.ephemeral ? ' (ephemeral)' : ''}`,
    `Architecture: ${i.architecture}`,
  ];
  const s = i.state;
  if (s && s.pid > 0) lines.push(`PID: ${s.pid}`);
  lines.push(`Created: ${infoTime(i.created_at)}`);
  const used = infoTime(i.last_used_at);
  if (used) lines.push(`Last Used: ${used}`);
  if (i.description) lines.push(`Description: ${i.description}`);
  if (s && i.status !== 'Stopped') {
    lines.push('', 'Resources:', `  Processes: ${s.processes}`);
    const disks = Object.entries(s.disk ?? {});
    if (disks.length) {
      lines.push('  Disk usage:');
      for (const [dev, d] of disks) lines.push(`    ${dev}: ${humanBytes(d.usage)}`);
    }
    if (s.cpu) lines.push('  CPU usage:', `    CPU usage (in seconds): ${Math.floor(s.cpu.usage / 1e9)}`);
    if (s.memory) {
      lines.push('  Memory usage:', `    Memory (current): ${humanBytes(s.memory.usage)}`);
      if (s.memory.usage_peak) lines.push(`    Memory (peak): ${humanBytes(s.memory.usage_peak)}`);
    }
    const nets = Object.entries(s.network ?? {});
    if (nets.length) {
      lines.push('  Network usage:');
      for (const [iface, n] of nets) {
        lines.push(`    ${iface}:`);
        if (n.type) lines.push(`      Type: ${n.type}`);
        if (n.state) lines.push(`      State: ${n.state.toUpperCase()}`);
        if (n.host_name) lines.push(`      Host interface: ${n.host_name}`);
        if (n.hwaddr) lines.push(`      MAC address: ${n.hwaddr}`);
        if (n.mtu) lines.push(`      MTU: ${n.mtu}`);
        if (n.counters) {
          lines.push(`      Bytes received: ${humanBytes(n.counters.bytes_received)}`, `      Bytes sent: ${humanBytes(n.counters.bytes_sent)}`);
          lines.push(`      Packets received: ${n.counters.packets_received}`, `      Packets sent: ${n.counters.packets_sent}`);
        }
        const addrs = n.addresses ?? [];
        if (addrs.length) {
          lines.push('      IP addresses:');
          for (const a of addrs) lines.push(`        ${a.family}:  ${a.address}/${a.netmask} (${a.scope})`);
        }
      }
    }
  }
  if (i.snapshots?.length) {
    lines.push('', 'Snapshots:');
    for (const snap of i.snapshots) lines.push(`  ${snap.name} (taken at ${infoTime(snap.created_at)})`);
  }
  return lines.join('\n') + '\n';
}
