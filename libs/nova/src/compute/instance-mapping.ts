import type { Devices } from '@lodge/config';
import { validateInstanceName } from '@lodge/instance';
import { InvalidNovaObjectError, NovaObject } from '../objects/nova-object';

/** Config keys that carry nova's identity of a Lodge instance (user.* keys: Lodge never reads them). */
export const NOVA_UUID_KEY = 'user.nova.uuid';
export const NOVA_PROJECT_KEY = 'user.nova.project_id';
export const NOVA_IMAGE_KEY = 'user.nova.image_ref';

/**
 * The container's name: nova's instance.name (`instance-%08x` of the database id). The name also
 * becomes paths (storage, the config drive under <stateDir>/nova/config-drives/<name>), so a name
 * from the wire must be a valid instance name: "../../x" would otherwise be a path outside them.
 */
export function containerName(instance: NovaObject): string {
  let name: string;
  if (instance.has('name') && typeof instance.get('name') === 'string') {
    name = instance.str('name');
  } else {
    const id = instance.int('id');
    if (id < 0) throw new InvalidNovaObjectError(`Instance.id must not be negative, got ${id}`);
    name = `instance-${id.toString(16).padStart(8, '0')}`;
  }
  try {
    validateInstanceName(name);
  } catch (err) {
    throw new InvalidNovaObjectError(`Instance.name: ${(err as Error).message}`);
  }
  return name;
}

/**
 * nova-lxd's flavor mapping, onto Lodge config keys: vcpus -> limits.cpu (a CPU count),
 * memory_mb -> limits.memory, the `lxd:*` extra specs -> security keys (present and truthy:
 * any non-empty string but "false"/"0"/"no"), environment.product_name so cloud-init's
 * OpenStack detection works, and the nova uuid as a tag.
 */
export function instanceConfig(instance: NovaObject): Record<string, string> {
  const flavor = instance.obj('flavor', 'Flavor');
  if (!flavor) throw new InvalidNovaObjectError('Instance.flavor is missing');
  const vcpus = flavor.int('vcpus');
  const memoryMb = flavor.int('memory_mb');
  if (vcpus < 1) throw new InvalidNovaObjectError(`flavor vcpus must be at least 1, got ${vcpus}`);
  if (memoryMb < 1) throw new InvalidNovaObjectError(`flavor memory_mb must be at least 1, got ${memoryMb}`);
  const specs = extraSpecs(flavor);
  const config: Record<string, string> = {
    'limits.cpu': String(vcpus),
    'limits.memory': `${memoryMb}MiB`,
    'environment.product_name': 'OpenStack Nova',
    [NOVA_UUID_KEY]: instance.str('uuid'),
  };
  const project = instance.get('project_id');
  if (typeof project === 'string') config[NOVA_PROJECT_KEY] = project;
  const image = instance.get('image_ref');
  if (typeof image === 'string' && image) config[NOVA_IMAGE_KEY] = image;
  if (truthy(specs['lxd:privileged_allowed'])) config['security.privileged'] = 'true';
  if (truthy(specs['lxd:nested_allowed'])) config['security.nesting'] = 'true';
  if (truthy(specs['lxd:isolated'])) config['security.idmap.isolated'] = 'true';
  return config;
}

/**
 * The root disk on `pool`; `root_gb` becomes its size where the pool can enforce quotas
 * (0 means "the image's size" in nova: no size).
 */
export function rootDevice(instance: NovaObject, pool: string, quotas: boolean): Devices {
  const flavor = instance.obj('flavor', 'Flavor');
  const rootGb = flavor ? flavor.int('root_gb', 0) : 0;
  const root: Record<string, string> = { type: 'disk', path: '/', pool };
  if (quotas && rootGb > 0) root.size = `${rootGb}GiB`;
  return { root };
}

/** The MiB a `limits.memory` set by instanceConfig() holds; null for any other value. */
export function memoryLimitMb(config: Record<string, string>): number | null {
  const m = /^(\d+)MiB$/.exec(config['limits.memory'] ?? '');
  return m ? Number(m[1]) : null;
}

function extraSpecs(flavor: NovaObject): Record<string, string> {
  const v = flavor.get('extra_specs');
  if (v === undefined || v === null) return {};
  if (typeof v !== 'object' || Array.isArray(v)) throw new InvalidNovaObjectError('Flavor.extra_specs must be a dict');
  return v as Record<string, string>;
}

function truthy(v: unknown): boolean {
  if (typeof v !== 'string') return false;
  return v !== '' && !['false', '0', 'no', 'off'].includes(v.trim().toLowerCase());
}
