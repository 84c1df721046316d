/**
 * Which network a NIC device is on, and who uses a network: the profiles whose devices name it
 * and the instances whose expanded devices do (LXD's used_by). Pure.
 */
import { expandConfig } from '@lodge/config';
import type { DeviceConfig, Devices } from '@lodge/config';

/** The network (managed, or a host interface) a device is on; undefined for other devices. */
export function networkOfDevice(d: DeviceConfig): string | undefined {
  if (d.type !== 'nic') return undefined;
  return d.network || d.parent || undefined;
}

export function devicesUse(devices: Readonly<Devices>, network: string): boolean {
  return Object.values(devices).some((d) => networkOfDevice(d) === network);
}

export interface ProfileLike {
  name: string;
  config: Record<string, string>;
  devices: Record<string, unknown>;
}

export interface InstanceLike {
  name: string;
  config: Record<string, string>;
  devices: Record<string, unknown>;
  profiles: string[];
}

/** API URLs of the profiles and instances that use `network`, profiles first, each sorted. */
export function networkUsers(network: string, profiles: readonly ProfileLike[], instances: readonly InstanceLike[]): string[] {
  const byName = new Map(profiles.map((p) => [p.name, p]));
  const usingProfiles = profiles.filter((p) => devicesUse(p.devices as Devices, network)).map((p) => `/1.0/profiles/${encodeURIComponent(p.name)}`);
  const usingInstances = instances
    .filter((i) => {
      const present = i.profiles.filter((n) => byName.has(n));
      const layers = present.map((n) => ({ ...byName.get(n)!, devices: byName.get(n)!.devices as Devices }));
      const { expanded_devices } = expandConfig(layers, { config: i.config, devices: i.devices as Devices, profiles: present });
      return devicesUse(expanded_devices, network);
    })
    .map((i) => `/1.0/instances/${encodeURIComponent(i.name)}`);
  return [...usingProfiles.sort(), ...usingInstances.sort()];
}
