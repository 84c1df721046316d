/**
 * The names and MACs of an instance's NICs: stable MACs in LXD's 00:16:3e prefix, kept in
 * `volatile.<dev>.hwaddr`; the interface name inside (the `name` option, else the next free ethN);
 * a fresh host-side veth name per start (`host_name`, else veth + 8 hex digits), so a restart never
 * waits for the kernel to finish tearing down the previous pair. Pure (but for randomness).
 */
import { randomBytes } from 'node:crypto';
import type { DeviceConfig, Devices } from '@lodge/config';

/** NIC devices in a stable order (by device name). */
export function nicsOf(devices: Readonly<Devices>): Array<[string, DeviceConfig]> {
  return Object.entries(devices)
    .filter(([, d]) => d.type === 'nic')
    .sort(([a], [b]) => a.localeCompare(b));
}

export function randomMac(): string {
  const b = randomBytes(3);
  return ['00', '16', '3e', ...[...b].map((x) => x.toString(16).padStart(2, '0'))].join(':');
}

export function randomHostVethName(): string {
  return `veth${randomBytes(4).toString('hex')}`;
}

/** The MAC a NIC uses: its `hwaddr` option, else the stored volatile one (undefined: none yet). */
export function nicHwaddr(device: string, d: DeviceConfig, config: Readonly<Record<string, string>>): string | undefined {
  return (d.hwaddr || config[`volatile.${device}.hwaddr`] || undefined)?.toLowerCase();
}

/** volatile.<dev>.hwaddr for every NIC that has no MAC yet (at create, and at start for NICs added since). */
export function missingNicMacs(devices: Readonly<Devices>, config: Readonly<Record<string, string>>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, d] of nicsOf(devices)) if (!nicHwaddr(name, d, config)) out[`volatile.${name}.hwaddr`] = randomMac();
  return out;
}

/** Interface names inside the instance: `name` when given, else eth0, eth1, … not taken by another NIC. */
export function nicNamesInside(devices: Readonly<Devices>): Map<string, string> {
  const nics = nicsOf(devices);
  const taken = new Set(nics.map(([, d]) => d.name).filter((n): n is string => !!n));
  const out = new Map<string, string>();
  let next = 0;
  for (const [device, d] of nics) {
    if (d.name) {
      out.set(device, d.name);
      continue;
    }
    while (taken.has(`eth${next}`)) next++;
    out.set(device, `eth${next}`);
    taken.add(`eth${next}`);
  }
  return out;
}
