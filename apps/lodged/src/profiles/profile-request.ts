/**
 * The bodies of the /1.0/profiles requests (api.ProfilesPost, api.ProfilePut, api.ProfilePost),
 * read and validated as LXD 5.0 reads them. Pure: no state, so the rules are unit-tested.
 *
 * Go clients marshal nil maps as `null` (`lxc profile create` sends `"config":null`), so a null or
 * absent config/devices is an empty one. Config values that are empty strings mean "unset" (that
 * is how `lxc profile unset` works): they are validated, then dropped before storing.
 */
import { InvalidArgumentError } from '@lodge/common';
import { compactConfig, validateDevices, validateInstanceConfig } from '@lodge/config';
import type { Devices } from '@lodge/config';

/** The writable fields of a profile (api.ProfilePut). */
export interface ProfileWritable {
  config: Record<string, string>;
  description: string;
  devices: Devices;
}

export interface NewProfile extends ProfileWritable {
  name: string;
}

/** Profile names as LXD 5.0 accepts them: not empty, no "/", not "." or "..". */
export function validateProfileName(name: unknown): asserts name is string {
  if (name === undefined || name === null || name === '') throw new InvalidArgumentError('No name provided');
  if (typeof name !== 'string') throw new InvalidArgumentError('Invalid profile name: expected a string');
  if (name.includes('/')) throw new InvalidArgumentError('Profile names may not contain slashes');
  if (name === '.' || name === '..') throw new InvalidArgumentError(`Invalid profile name '${name}'`);
}

/** POST /1.0/profiles: {name, description, config, devices}. */
export function parseProfilesPost(body: unknown): NewProfile {
  const o = asObject(body);
  validateProfileName(o.name);
  return { name: o.name, ...validateProfileWritable(readWritable(o, { config: {}, description: '', devices: {} })) };
}

/** PUT /1.0/profiles/{name}: replaces the writable fields (absent ones become empty, as in LXD). */
export function parseProfilePut(body: unknown): ProfileWritable {
  return validateProfileWritable(readWritable(asObject(body), { config: {}, description: '', devices: {} }));
}

/**
 * PATCH /1.0/profiles/{name}: the description only when given; config keys and devices (whole,
 * by name) merge over the current ones. An empty config value removes the key.
 */
export function parseProfilePatch(body: unknown, current: ProfileWritable): ProfileWritable {
  const o = asObject(body);
  const given = readWritable(o, { config: {}, description: current.description, devices: {} });
  return validateProfileWritable({
    config: { ...current.config, ...given.config },
    description: given.description,
    devices: { ...current.devices, ...given.devices },
  });
}

/** POST /1.0/profiles/{name} (rename): {name}. */
export function parseProfileRename(body: unknown): string {
  const o = asObject(body);
  validateProfileName(o.name);
  return o.name;
}

/** Validates the fields and returns them as stored: config without its empty ("unset") values. */
export function validateProfileWritable(w: ProfileWritable): ProfileWritable {
  validateInstanceConfig(w.config, { profile: true });
  validateDevices(w.devices);
  return { config: compactConfig(w.config), description: w.description, devices: w.devices };
}

/** The fields of a request body, shape-checked only (absent or null ones from `defaults`). */
function readWritable(o: Record<string, unknown>, defaults: ProfileWritable): ProfileWritable {
  const description = o.description ?? defaults.description;
  if (typeof description !== 'string') throw new InvalidArgumentError('Invalid description: expected a string');
  const config = o.config ?? defaults.config;
  const devices = o.devices ?? defaults.devices;
  // Shape errors here; key and device rules in validateProfileWritable.
  if (!isPlainObject(config)) throw new InvalidArgumentError('Invalid config: expected an object of string keys and string values');
  if (!isPlainObject(devices)) throw new InvalidArgumentError('Invalid devices: expected an object of device name to device');
  return { config: config as Record<string, string>, description, devices: devices as Devices };
}

function asObject(body: unknown): Record<string, unknown> {
  if (!isPlainObject(body)) throw new InvalidArgumentError('Invalid request body: expected a JSON object');
  return body;
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
