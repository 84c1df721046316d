/**
 * Instances as LXD 5.0 puts them on the wire (api.Instance, api.InstanceFull, api.InstanceState):
 * field names and order as LXD's structs, maps with sorted keys as Go encodes them.
 */
import { etagHash, sortedKeys, StatusCode } from '@lodge/api-types';
import type { ExpandedInstance, InstanceRuntimeState, InstanceStatusName } from '@lodge/instance';
import type { InstanceEntity } from '@lodge/state';

/** Go's zero time, which LXD shows for "never" (last_used_at of an instance never started). */
const GO_ZERO_TIME = '0001-01-01T00:00:00Z';

export const instanceUrl = (name: string) => `/1.0/instances/${encodeURIComponent(name)}`;

/** Operation resources name the instance under both paths, as LXD 5.0 does. */
export function instanceResources(names: string[]): { instances: string[]; containers: string[] } {
  return {
    instances: names.map(instanceUrl),
    containers: names.map((n) => `/1.0/containers/${encodeURIComponent(n)}`),
  };
}

const STATUS_CODES: Record<InstanceStatusName, StatusCode> = {
  Running: StatusCode.Running,
  Stopped: StatusCode.Stopped,
  Frozen: StatusCode.Frozen,
};

export interface InstanceView {
  architecture: string;
  config: Record<string, string>;
  devices: Record<string, Record<string, string>>;
  ephemeral: boolean;
  profiles: string[];
  stateful: boolean;
  description: string;
  created_at: string;
  expanded_config: Record<string, string>;
  expanded_devices: Record<string, Record<string, string>>;
  name: string;
  status: InstanceStatusName;
  status_code: number;
  last_used_at: string;
  location: string;
  type: 'container';
  project: string;
}

export interface InstanceStateView {
  status: InstanceStatusName;
  status_code: number;
  disk: Record<string, { usage: number }>;
  memory: { usage: number; usage_peak: number; swap_usage: number; swap_usage_peak: number };
  network: InstanceRuntimeState['network'];
  pid: number;
  processes: number;
  cpu: { usage: number };
}

export type InstanceFullView = InstanceView & { backups: null; state: InstanceStateView; snapshots: null };

export function renderInstance(i: ExpandedInstance): InstanceView {
  const { row, expanded, status } = i;
  return {
    architecture: row.architecture,
    config: sortedKeys(row.config),
    devices: sortedDevices(row.devices),
    ephemeral: row.ephemeral,
    profiles: [...row.profiles],
    stateful: false,
    description: row.description,
    created_at: row.createdAt.toISOString(),
    expanded_config: sortedKeys(expanded.expanded_config),
    expanded_devices: sortedDevices(expanded.expanded_devices),
    name: row.name,
    status,
    status_code: STATUS_CODES[status],
    last_used_at: row.lastUsedAt ? row.lastUsedAt.toISOString() : GO_ZERO_TIME,
    location: 'none',
    type: 'container',
    project: row.project,
  };
}

export function renderState(s: InstanceRuntimeState): InstanceStateView {
  return {
    status: s.status,
    status_code: STATUS_CODES[s.status],
    disk: s.rootUsage !== undefined ? { root: { usage: s.rootUsage } } : {},
    memory: { usage: s.memory.usage, usage_peak: s.memory.peak, swap_usage: s.memory.swap, swap_usage_peak: 0 },
    network: s.network,
    pid: s.pid,
    processes: s.processes,
    cpu: { usage: s.cpuTimeNs },
  };
}

export function renderFull(i: ExpandedInstance, state: InstanceRuntimeState): InstanceFullView {
  // the state's status is the one read with the counters; the object's must agree with it
  const base = renderInstance({ ...i, status: state.status });
  return { ...base, backups: null, state: renderState(state), snapshots: null };
}

/** What an instance's ETag hashes: its writable fields, as LXD lists them. */
export function instanceWritable(row: InstanceEntity): unknown {
  return [row.architecture, sortedKeys(row.config), sortedDevices(row.devices), row.ephemeral, row.profiles];
}

export function instanceEtag(row: InstanceEntity): string {
  return etagHash(instanceWritable(row));
}

function sortedDevices(devices: Record<string, Record<string, string>>): Record<string, Record<string, string>> {
  const out: Record<string, Record<string, string>> = {};
  for (const name of Object.keys(devices).sort()) out[name] = sortedKeys(devices[name]);
  return out;
}
