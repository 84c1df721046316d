/** How a profile leaves the API (api.Profile of LXD 5.0) and its ETag. */
import { etagHash, sortedKeys } from '@lodge/api-types';
import type { ProfileEntity } from '@lodge/state';
import type { ProfileWritable } from './profile-request';

/** api.Profile: the writable fields first (Go's embedded ProfilePut), then name and used_by. */
export interface ApiProfile extends ProfileWritable {
  name: string;
  used_by: string[];
}

export function profileUrl(name: string): string {
  return `/1.0/profiles/${encodeURIComponent(name)}`;
}

/** used_by entries: instance URLs (without `?project=default`, as LXD strips it). */
export function instanceUrl(name: string): string {
  return `/1.0/instances/${encodeURIComponent(name)}`;
}

export function toApiProfile(p: ProfileEntity, usedBy: readonly string[]): ApiProfile {
  return {
    config: sortedKeys(p.config ?? {}),
    description: p.description,
    devices: sortedDevices(p.devices ?? {}),
    name: p.name,
    used_by: usedBy.map(instanceUrl),
  };
}

/** What LXD hashes for a profile's ETag: [config, description, devices], map keys sorted as Go writes them. */
export function profileEtagFields(p: ProfileWritable): unknown {
  return [sortedKeys(p.config), p.description, sortedDevices(p.devices)];
}

export function profileEtag(p: ProfileWritable): string {
  return etagHash(profileEtagFields(p));
}

function sortedDevices(devices: ProfileWritable['devices']): ProfileWritable['devices'] {
  const out: ProfileWritable['devices'] = {};
  for (const name of Object.keys(devices).sort()) out[name] = sortedKeys(devices[name]);
  return out;
}
