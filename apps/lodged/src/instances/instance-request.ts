/**
 * Request bodies of the instance endpoints (api.InstancesPost, api.InstancePut, api.InstancePost,
 * api.InstanceStatePut) checked and turned into use-case inputs. Shapes are checked here; config
 * keys, devices and names are checked by the use cases (one table, one place).
 */
import { randomBytes } from 'node:crypto';
import { InvalidArgumentError, NotSupportedError } from '@lodge/common';
import type { Devices } from '@lodge/config';
import type { CreateInstanceRequest, InstanceUpdate, StopRequest } from '@lodge/instance';
import type { InstanceEntity } from '@lodge/state';

type Body = Record<string, unknown>;

function asBody(body: unknown): Body {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new InvalidArgumentError('Invalid request body: expected a JSON object');
  return body as Body;
}

function optionalString(b: Body, key: string): string | undefined {
  const v = b[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'string') throw new InvalidArgumentError(`Invalid "${key}": expected a string`);
  return v;
}

function optionalBool(b: Body, key: string): boolean | undefined {
  const v = b[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'boolean') throw new InvalidArgumentError(`Invalid "${key}": expected true or false`);
  return v;
}

function optionalMap<T>(b: Body, key: string): T | undefined {
  const v = b[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'object' || Array.isArray(v)) throw new InvalidArgumentError(`Invalid "${key}": expected an object`);
  return v as T;
}

function optionalList(b: Body, key: string): string[] | undefined {
  const v = b[key];
  if (v === undefined || v === null) return undefined;
  if (!Array.isArray(v) || v.some((x) => typeof x !== 'string')) throw new InvalidArgumentError(`Invalid "${key}": expected a list of strings`);
  return v as string[];
}

/** LXD picks a name when the client gives none (`lxc launch image` without a name). */
export function generatedName(): string {
  const words = ['amber', 'brisk', 'calm', 'deft', 'eager', 'fair', 'glad', 'keen', 'lucid', 'merry', 'noble', 'quiet', 'swift', 'vivid'];
  const things = ['badger', 'cedar', 'falcon', 'heron', 'lynx', 'maple', 'otter', 'raven', 'spruce', 'trout', 'willow', 'wren'];
  const pick = (list: string[]) => list[randomBytes(1)[0] % list.length];
  return `${pick(words)}-${pick(things)}-${randomBytes(2).toString('hex')}`;
}

/** POST /1.0/instances. */
export function parseCreate(body: unknown): CreateInstanceRequest {
  const b = asBody(body);
  const type = optionalString(b, 'type');
  if (type && type !== 'container') throw new NotSupportedError(`Instance type "${type}" is not supported: Lodge runs containers only`);
  if (optionalBool(b, 'stateful')) throw new NotSupportedError('Stateful instances are not supported');
  const source = optionalMap<Body>(b, 'source') ?? { type: 'none' };
  const sourceType = optionalString(source, 'type') || 'none';
  let parsedSource: CreateInstanceRequest['source'];
  if (sourceType === 'image') {
    const server = optionalString(source, 'server');
    if (server) throw new NotSupportedError(`Images from remote servers are not supported yet (server "${server}"): import the image first`);
    const alias = optionalString(source, 'alias') || undefined;
    const fingerprint = optionalString(source, 'fingerprint') || undefined;
    if (!alias && !fingerprint) throw new InvalidArgumentError('The image source needs an alias or a fingerprint');
    parsedSource = { type: 'image', ...(alias ? { alias } : { fingerprint }) };
  } else if (sourceType === 'none') {
    parsedSource = { type: 'none' };
  } else if (['copy', 'migration', 'conversion'].includes(sourceType)) {
    throw new NotSupportedError(`Source type "${sourceType}" is not supported yet`);
  } else {
    throw new InvalidArgumentError(`Unknown source type "${sourceType}"`);
  }
  const name = b.name === undefined || b.name === '' ? generatedName() : b.name;
  return {
    name: name as string,
    source: parsedSource,
    config: optionalMap<Record<string, string>>(b, 'config'),
    devices: optionalMap<Devices>(b, 'devices'),
    profiles: optionalList(b, 'profiles'),
    ephemeral: optionalBool(b, 'ephemeral'),
    description: optionalString(b, 'description'),
  };
}

/** The writable fields as they are now. */
export function writableOf(row: InstanceEntity): InstanceUpdate {
  return {
    config: { ...row.config },
    devices: structuredClone(row.devices) as Devices,
    profiles: [...row.profiles],
    ephemeral: row.ephemeral,
    description: row.description,
  };
}

function refuseUnsupported(b: Body, row: InstanceEntity): void {
  if (optionalString(b, 'restore')) throw new NotSupportedError('Snapshots are not supported yet');
  if (optionalBool(b, 'stateful')) throw new NotSupportedError('Stateful instances are not supported');
  const arch = optionalString(b, 'architecture');
  if (arch && arch !== row.architecture) throw new InvalidArgumentError(`The architecture of an instance cannot change (it is ${row.architecture})`);
}

/** PUT /1.0/instances/{name}: the body replaces every writable field (absent = empty, as in LXD). */
export function parsePut(body: unknown, row: InstanceEntity): InstanceUpdate {
  const b = asBody(body);
  refuseUnsupported(b, row);
  return {
    config: optionalMap<Record<string, string>>(b, 'config') ?? {},
    devices: optionalMap<Devices>(b, 'devices') ?? {},
    profiles: optionalList(b, 'profiles') ?? [],
    ephemeral: optionalBool(b, 'ephemeral') ?? false,
    description: optionalString(b, 'description') ?? '',
  };
}

/** PATCH /1.0/instances/{name}: config and devices merge key by key; other given fields replace. */
export function parsePatch(body: unknown, row: InstanceEntity): InstanceUpdate {
  const b = asBody(body);
  refuseUnsupported(b, row);
  const current = writableOf(row);
  const config = optionalMap<Record<string, string>>(b, 'config');
  const devices = optionalMap<Devices>(b, 'devices');
  return {
    config: config ? { ...current.config, ...config } : current.config,
    devices: devices ? { ...current.devices, ...devices } : current.devices,
    profiles: optionalList(b, 'profiles') ?? current.profiles,
    ephemeral: optionalBool(b, 'ephemeral') ?? current.ephemeral,
    description: optionalString(b, 'description') ?? current.description,
  };
}

/** POST /1.0/instances/{name}: a rename (`lxc rename`, `lxc move` on one server). */
export function parseRename(body: unknown, row: InstanceEntity): string {
  const b = asBody(body);
  if (optionalBool(b, 'migration')) throw new NotSupportedError('Migration is not supported yet');
  const pool = optionalString(b, 'pool');
  if (pool && pool !== row.storagePool) throw new NotSupportedError('Moving an instance to another storage pool is not supported yet');
  const project = optionalString(b, 'project');
  if (project && project !== row.project) throw new NotSupportedError('Moving an instance to another project is not supported yet');
  const name = optionalString(b, 'name');
  if (!name) throw new InvalidArgumentError('A new name is required');
  return name;
}

export type StateAction = 'start' | 'stop' | 'restart' | 'freeze' | 'unfreeze';

export interface StateChange extends StopRequest {
  action: StateAction;
}

const ACTIONS: readonly StateAction[] = ['start', 'stop', 'restart', 'freeze', 'unfreeze'];

/**
 * PUT /1.0/instances/{name}/state. `timeout` is in seconds; LXD's -1 (the `lxc stop` default)
 * and 0 leave the engine's own limit for a clean halt before init is killed.
 */
export function parseStateChange(body: unknown): StateChange {
  const b = asBody(body);
  const action = b.action;
  if (typeof action !== 'string' || !(ACTIONS as readonly string[]).includes(action)) {
    throw new InvalidArgumentError(`Unknown action ${JSON.stringify(action ?? '')}`);
  }
  if (optionalBool(b, 'stateful')) throw new NotSupportedError('Stateful stop and start are not supported');
  const timeout = b.timeout;
  if (timeout !== undefined && timeout !== null && (typeof timeout !== 'number' || !Number.isInteger(timeout))) {
    throw new InvalidArgumentError('Invalid "timeout": expected a whole number of seconds');
  }
  const force = optionalBool(b, 'force') ?? false;
  return { action: action as StateAction, force, ...(typeof timeout === 'number' && timeout > 0 ? { timeoutMs: timeout * 1000 } : {}) };
}
