/**
 * Storage driver registry keyed by name. Built-in drivers are discovered from the folders under
 * `drivers/`: each folder's index exports `driver: StorageDriverDefinition`, so adding a driver
 * (btrfs, zfs, ...) is adding one folder. Others can be registered at run time.
 */
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { AlreadyExistsError, InvalidArgumentError, NotFoundError } from '@lodge/common';
import { StorageDriver, StorageDriverDefinition } from './storage-driver';

const NAME_RE = /^[a-z][a-z0-9-]{0,31}$/;

export class StorageDriverRegistry {
  private readonly drivers = new Map<string, StorageDriverDefinition>();

  /** A registry holding every driver folder under drivers/. */
  static withBuiltins(): StorageDriverRegistry {
    const registry = new StorageDriverRegistry();
    for (const def of builtinDrivers()) registry.register(def);
    return registry;
  }

  register(def: StorageDriverDefinition): void {
    if (!def || !NAME_RE.test(def.name)) throw new InvalidArgumentError(`invalid storage driver name "${def?.name}"`);
    if (this.drivers.has(def.name)) throw new AlreadyExistsError(`storage driver "${def.name}" is already registered`);
    this.drivers.set(def.name, def);
  }

  get(name: string): StorageDriverDefinition {
    const def = this.drivers.get(name);
    if (!def) throw new NotFoundError(`unknown storage driver "${name}" (available: ${this.names().join(', ') || 'none'})`);
    return def;
  }

  names(): string[] {
    return [...this.drivers.keys()].sort();
  }

  /** Binds a driver to the pool directory at `poolPath`. */
  open(driverName: string, poolPath: string, config: Record<string, string> = {}): StorageDriver {
    return this.get(driverName).open(poolPath, config);
  }
}

function builtinDrivers(): StorageDriverDefinition[] {
  const root = join(__dirname, 'drivers');
  const out: StorageDriverDefinition[] = [];
  for (const d of readdirSync(root, { withFileTypes: true })) {
    if (!d.isDirectory()) continue;
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const mod = require(join(root, d.name)) as { driver?: StorageDriverDefinition };
    if (!mod.driver) throw new Error(`storage driver folder "${d.name}" exports no "driver"`);
    out.push(mod.driver);
  }
  return out;
}
