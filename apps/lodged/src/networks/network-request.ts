/**
 * The bodies of the /1.0/networks requests (api.NetworksPost, api.NetworkPut, api.NetworkPost),
 * shape-checked as LXD 5.0 reads them. Pure: the config keys are checked by the network's
 * driver (NetworksService), not here.
 *
 * Go clients marshal nil maps as `null`, so a null or absent config is an empty one; an empty
 * config value means "unset" (`lxc network unset`).
 */
import { InvalidArgumentError } from '@lodge/common';

/** The writable fields of a network (api.NetworkPut). */
export interface NetworkWritable {
  config: Record<string, string>;
  description: string;
}

export interface NewNetwork extends NetworkWritable {
  name: string;
  /** "bridge" when not given, as LXD */
  type: string;
}

/** POST /1.0/networks: {name, description, type, config}. */
export function parseNetworksPost(body: unknown): NewNetwork {
  const o = asObject(body);
  if (o.name === undefined || o.name === null || o.name === '') throw new InvalidArgumentError('No name provided');
  if (typeof o.name !== 'string') throw new InvalidArgumentError('Invalid network name: expected a string');
  const type = o.type ?? 'bridge';
  if (typeof type !== 'string') throw new InvalidArgumentError('Invalid network type: expected a string');
  return { name: o.name, type: type === '' ? 'bridge' : type, ...readWritable(o, { config: {}, description: '' }) };
}

/** PUT /1.0/networks/{name}: replaces config and description (absent ones become empty, as in LXD). */
export function parseNetworkPut(body: unknown): NetworkWritable {
  return readWritable(asObject(body), { config: {}, description: '' });
}

/** PATCH /1.0/networks/{name}: the description when given; config keys merge over the current ones. */
export function parseNetworkPatch(body: unknown, current: NetworkWritable): NetworkWritable {
  const given = readWritable(asObject(body), { config: {}, description: current.description });
  return { config: { ...current.config, ...given.config }, description: given.description };
}

/** POST /1.0/networks/{name} (rename): {name}. */
export function parseNetworkRename(body: unknown): string {
  const o = asObject(body);
  if (o.name === undefined || o.name === null || o.name === '') throw new InvalidArgumentError('No name provided');
  if (typeof o.name !== 'string') throw new InvalidArgumentError('Invalid network name: expected a string');
  return o.name;
}

function readWritable(o: Record<string, unknown>, defaults: NetworkWritable): NetworkWritable {
  const description = o.description ?? defaults.description;
  if (typeof description !== 'string') throw new InvalidArgumentError('Invalid description: expected a string');
  const config = o.config ?? defaults.config;
  if (!isPlainObject(config) || Object.values(config).some((v) => typeof v !== 'string')) {
    throw new InvalidArgumentError('Invalid config: expected an object of string keys and string values');
  }
  return { config: config as Record<string, string>, description };
}

function asObject(body: unknown): Record<string, unknown> {
  if (!isPlainObject(body)) throw new InvalidArgumentError('Invalid request body: expected a JSON object');
  return body;
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
