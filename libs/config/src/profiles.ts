/**
 * Profile expansion (LXD semantics): the instance's profiles apply in the instance's order, then
 * the instance's own config and devices. Config merges key by key (a later layer wins); devices
 * merge by name and a later device replaces an earlier one whole. A device of type "none" in a
 * later layer removes the inherited device of that name, and is itself left out. Empty config
 * values are "unset" (LXD does not store them) and take no part.
 */
import { InvalidArgumentError } from '@lodge/common';
import { DEVICE_TYPES, type DeviceConfig, type Devices } from './devices';
import { lookupConfigKey } from './instance-keys';

export interface ProfileLayer {
  name: string;
  config: Readonly<Record<string, string>>;
  devices: Readonly<Devices>;
}

export interface InstanceLayer {
  config: Readonly<Record<string, string>>;
  devices: Readonly<Devices>;
  /** profile names, in the order they apply */
  profiles: readonly string[];
}

export interface Expanded {
  expanded_config: Record<string, string>;
  expanded_devices: Devices;
}

/**
 * Expands an instance over its profiles. `profiles` may hold more profiles than the instance uses
 * (e.g. all of a project's); only the named ones apply, in the instance's order. Throws
 * InvalidArgumentError for a profile named twice or not found.
 */
export function expandConfig(profiles: readonly ProfileLayer[], instance: InstanceLayer): Expanded {
  const byName = new Map(profiles.map((p) => [p.name, p]));
  const seen = new Set<string>();
  const layers: { config: Readonly<Record<string, string>>; devices: Readonly<Devices> }[] = [];
  for (const name of instance.profiles) {
    if (seen.has(name)) throw new InvalidArgumentError(`Duplicate profile found in request: "${name}"`);
    seen.add(name);
    const p = byName.get(name);
    if (!p) throw new InvalidArgumentError(`Requested profile "${name}" doesn't exist`);
    layers.push(p);
  }
  layers.push(instance);

  const expanded_config: Record<string, string> = {};
  const devices = new Map<string, DeviceConfig>();
  for (const layer of layers) {
    for (const [k, v] of Object.entries(layer.config)) if (v !== '') expanded_config[k] = v;
    for (const [name, d] of Object.entries(layer.devices)) {
      if (d.type === 'none') devices.delete(name);
      else devices.set(name, { ...d });
    }
  }
  const expanded_devices: Devices = {};
  for (const name of [...devices.keys()].sort()) expanded_devices[name] = devices.get(name)!;
  return { expanded_config: sortKeys(expanded_config), expanded_devices };
}

function sortKeys(config: Record<string, string>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const k of Object.keys(config).sort()) out[k] = config[k];
  return out;
}

export interface ConfigChange {
  key: string;
  /** undefined: the key was not set before */
  old?: string;
  /** undefined: the key is removed */
  new?: string;
  /** the change reaches the running instance now (the key's liveUpdate); false: next start */
  live: boolean;
}

export interface DeviceChange {
  name: string;
  change: 'added' | 'removed' | 'changed';
  old?: DeviceConfig;
  new?: DeviceConfig;
  /** the device type can be hot-plugged (none can yet) */
  live: boolean;
}

export interface LiveUpdateDiff {
  config: ConfigChange[];
  devices: DeviceChange[];
  /** every change can be applied to the running instance */
  allLive: boolean;
  /** the keys (and "device:<name>") that need a restart to take effect */
  needsRestart: string[];
}

/**
 * What changed between two expanded states, and whether each change can be applied to a running
 * instance. The engine applies the live ones and refuses or schedules the others. Unknown keys
 * count as not live (they cannot have passed validation anyway).
 */
export function diffLiveUpdate(
  oldExpanded: Partial<Expanded> | undefined,
  newExpanded: Partial<Expanded>,
): LiveUpdateDiff {
  const oc = oldExpanded?.expanded_config ?? {};
  const nc = newExpanded.expanded_config ?? {};
  const config: ConfigChange[] = [];
  for (const key of [...new Set([...Object.keys(oc), ...Object.keys(nc)])].sort()) {
    const o = oc[key] || undefined;
    const n = nc[key] || undefined;
    if (o === n) continue;
    const change: ConfigChange = { key, live: lookupConfigKey(key)?.liveUpdate ?? false };
    if (o !== undefined) change.old = o;
    if (n !== undefined) change.new = n;
    config.push(change);
  }
  const od = oldExpanded?.expanded_devices ?? {};
  const nd = newExpanded.expanded_devices ?? {};
  const devices: DeviceChange[] = [];
  const hotplug = (d: DeviceConfig | undefined) => (d ? (DEVICE_TYPES[d.type]?.hotplug ?? false) : true);
  for (const name of [...new Set([...Object.keys(od), ...Object.keys(nd)])].sort()) {
    const o = od[name];
    const n = nd[name];
    if (o && n && sameDevice(o, n)) continue;
    const change: DeviceChange = {
      name,
      change: !o ? 'added' : !n ? 'removed' : 'changed',
      live: hotplug(o) && hotplug(n),
    };
    if (o) change.old = o;
    if (n) change.new = n;
    devices.push(change);
  }
  const needsRestart = [...config.filter((c) => !c.live).map((c) => c.key), ...devices.filter((d) => !d.live).map((d) => `device:${d.name}`)];
  return { config, devices, allLive: needsRestart.length === 0, needsRestart };
}

function sameDevice(a: DeviceConfig, b: DeviceConfig): boolean {
  const ka = Object.keys(a).filter((k) => a[k] !== '');
  const kb = Object.keys(b).filter((k) => b[k] !== '');
  return ka.length === kb.length && ka.every((k) => a[k] === b[k]);
}
