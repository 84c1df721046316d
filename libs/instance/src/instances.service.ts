/**
 * The instance lifecycle use cases (create, start, stop, delete, list, state, reconcile), written
 * once here and called by every transport (REST, nova RPC, tasks). Each multi-step change is
 * undone step by step when a later step fails: nothing half-made remains.
 */
import { mkdirSync, rmSync } from 'node:fs';
import { totalmem } from 'node:os';
import { join } from 'node:path';
import { Inject, Injectable } from '@nestjs/common';
import { ConflictError, InvalidArgumentError, NotFoundError, Reverter } from '@lodge/common';
import { expandConfig, findRootDisk, toRuntimeLimits, validateDevices, validateInstanceConfig } from '@lodge/config';
import type { Devices } from '@lodge/config';
import { ImageStore } from '@lodge/image';
import { Container, ContainerExit, ContainerRecord, IdMapEntry, IdRange, releaseConsoleLog, RuntimeService, SpawnOptions } from '@lodge/runtime';
import { onlineCpus } from '@lodge/runtime/cpus/cpu-allocator';
import { IdmapRepository, ImagesRepository, InstanceEntity, InstancesRepository, ProfilesRepository } from '@lodge/state';
import type { SubidRange } from '@lodge/state';
import { RootfsSource, StorageDriver } from '@lodge/storage';
import { validateInstanceName } from './instance-name';

/** Storage pools by name (the engine never knows which driver is behind one). */
export interface StoragePools {
  get(name: string): StorageDriver;
}

export interface InstanceEngineOptions {
  /** where console logs live: <logDir>/<instance>/console.log */
  logDir: string;
}

export const STORAGE_POOLS = Symbol('STORAGE_POOLS');
export const INSTANCE_ENGINE_OPTIONS = Symbol('INSTANCE_ENGINE_OPTIONS');

export type InstanceSource = { type: 'image'; alias?: string; fingerprint?: string } | { type: 'none' };

export interface CreateInstanceRequest {
  name: string;
  source: InstanceSource;
  config?: Record<string, string>;
  devices?: Devices;
  /** default: ["default"] */
  profiles?: string[];
  ephemeral?: boolean;
  description?: string;
}

export type InstanceStatusName = 'Running' | 'Stopped' | 'Frozen';

@Injectable()
export class InstancesService {
  constructor(
    private readonly instances: InstancesRepository,
    private readonly profiles: ProfilesRepository,
    private readonly images: ImagesRepository,
    private readonly idmaps: IdmapRepository,
    private readonly imageStore: ImageStore,
    private readonly runtime: RuntimeService,
    @Inject(STORAGE_POOLS) private readonly pools: StoragePools,
    @Inject(INSTANCE_ENGINE_OPTIONS) private readonly options: InstanceEngineOptions,
  ) {}

  /** Per instance whose init runs: settles once the bookkeeping after its end is done. */
  private readonly afterExit = new Map<string, Promise<void>>();

  async create(req: CreateInstanceRequest): Promise<InstanceEntity> {
    validateInstanceName(req.name);
    const config = { ...(req.config ?? {}) };
    const devices = { ...(req.devices ?? {}) };
    validateInstanceConfig(config);
    validateDevices(devices);
    const profileNames = req.profiles ?? ['default'];
    const profiles = await this.profiles.getMany(profileNames);
    const expanded = expandConfig(profiles, { config, devices, profiles: profileNames });
    const root = findRootDisk(expanded.expanded_devices);
    if (!root) throw new InvalidArgumentError('Failed to find a root disk device: add one to the instance or a profile');
    const poolName = String(root.device.pool ?? '');
    const pool = this.pools.get(poolName);

    let fingerprint: string | undefined;
    let architecture = process.arch === 'x64' ? 'x86_64' : process.arch;
    if (req.source.type === 'image') {
      const image = req.source.alias
        ? await this.images.get((await this.images.getAlias(req.source.alias)).fingerprint)
        : req.source.fingerprint
          ? await this.images.getByPrefix(req.source.fingerprint)
          : undefined;
      if (!image) throw new InvalidArgumentError('The image source needs an alias or a fingerprint');
      fingerprint = image.fingerprint;
      architecture = image.architecture;
      config['volatile.base_image'] = fingerprint;
    } else if (req.source.type !== 'none') {
      throw new InvalidArgumentError(`Unsupported source type "${(req.source as { type: string }).type}"`);
    }

    const r = new Reverter();
    try {
      // The image is unpacked into the pool once; every instance from it is a copy-on-write view.
      if (fingerprint) await this.imageStore.unpackInto(fingerprint, pool);
      await pool.createInstanceVolume(req.name, fingerprint);
      r.push('instance volume', () => pool.deleteInstanceVolume(req.name));
      let row = await this.instances.create({
        name: req.name,
        architecture,
        ephemeral: !!req.ephemeral,
        description: req.description ?? '',
        config,
        devices,
        profiles: profileNames,
        status: 'Stopped',
        storagePool: poolName,
      });
      r.push('instance row', () => this.instances.delete(req.name));
      row = await this.allocateIsolatedIdmap(row, expanded.expanded_config);
      r.commit();
      return row;
    } finally {
      await r.revert();
    }
  }

  async start(name: string): Promise<Container> {
    const row = await this.instances.get(name);
    if (this.runtime.get(name)) throw new ConflictError('The instance is already running');
    const expanded = await this.expand(row);
    const cfg = expanded.expanded_config;
    const pool = this.pools.get(row.storagePool ?? 'default');
    const logDir = join(this.options.logDir, name);
    mkdirSync(logDir, { recursive: true, mode: 0o700 });
    const env = Object.entries(cfg)
      .filter(([k]) => k.startsWith('environment.'))
      .map(([k, v]) => `${k.slice('environment.'.length)}=${v}`);
    const container = await this.runtime.spawn({
      name,
      ...rootfsOptions(await pool.rootfsSource(name)),
      ...(await this.idmapOf(row)),
      hostname: name,
      privileged: cfg['security.privileged'] === 'true',
      env,
      limits: toRuntimeLimits(cfg, { memoryBytes: totalmem(), onlineCpus: onlineCpus() }),
      consoleLog: join(logDir, 'console.log'),
    });
    try {
      await this.instances.update(name, { status: 'Running', runtime: container.describe() as unknown as Record<string, unknown> });
    } catch (err) {
      await container.stop({ force: true });
      throw err;
    }
    this.watchExit(row, container);
    return container;
  }

  async stop(name: string, o: { force?: boolean; timeoutMs?: number } = {}): Promise<ContainerExit> {
    const row = await this.instances.get(name);
    const container = this.runtime.get(name);
    if (!container) throw new ConflictError('The instance is already stopped');
    const exit = await container.stop({ force: o.force, timeoutMs: o.timeoutMs });
    // The exit watch does the bookkeeping (row, ephemeral removal); wait for it to be done.
    await this.afterExit.get(name);
    return exit;
  }

  async delete(name: string): Promise<void> {
    const row = await this.instances.get(name);
    if (this.runtime.get(name)) throw new ConflictError('The instance is running, stop it first');
    const pool = this.pools.get(row.storagePool ?? 'default');
    await pool.deleteInstanceVolume(name).catch((err) => {
      if (!(err instanceof NotFoundError)) throw err;
    });
    await this.instances.delete(name);
    // the console log is append-only while it exists: lift that before removing it
    releaseConsoleLog(join(this.options.logDir, name, 'console.log'));
    rmSync(join(this.options.logDir, name), { recursive: true, force: true });
  }

  /** Status as LXD reports it: from the runtime (what really runs), not the stored wish. */
  status(name: string): InstanceStatusName {
    const c = this.runtime.get(name);
    if (!c || c.state === 'stopped') return 'Stopped';
    return c.state === 'frozen' ? 'Frozen' : 'Running';
  }

  /**
   * At daemon start: re-adopt every container the database says runs. Then, as LXD does, start
   * what should run: boot.autostart=true, or boot.autostart unset and running when the host went
   * down (its container is gone). What does not come back is marked stopped (an ephemeral
   * instance is removed).
   */
  async reconcile(): Promise<{ adopted: string[]; started: string[]; stopped: string[] }> {
    const adopted: string[] = [];
    const started: string[] = [];
    const stopped: string[] = [];
    for (const row of await this.instances.list()) {
      const record = row.runtime as unknown as ContainerRecord | null;
      const container = row.status === 'Running' && record ? await this.runtime.adopt(record) : undefined;
      if (container) {
        adopted.push(row.name);
        this.watchExit(row, container);
        continue;
      }
      const autostart = (await this.expand(row)).expanded_config['boot.autostart'];
      const wasRunning = row.status === 'Running';
      if (autostart === 'true' || (autostart === undefined && wasRunning && !row.ephemeral)) {
        if (wasRunning) await this.instances.update(row.name, { status: 'Stopped', runtime: null });
        try {
          await this.start(row.name);
          started.push(row.name);
          continue;
        } catch {
          // it cannot start now: it stays stopped, as reported below
        }
      }
      if (wasRunning) {
        stopped.push(row.name);
        await this.afterStop(row);
      }
    }
    return { adopted, started, stopped };
  }

  /**
   * security.idmap.isolated: the instance gets a host id range of its own (security.idmap.size
   * ids, 65536 by default), never shared with another instance or with the default map, kept for
   * its lifetime (so files in its own layer keep their owners) and freed with its row.
   */
  private async allocateIsolatedIdmap(row: InstanceEntity, cfg: Record<string, string>): Promise<InstanceEntity> {
    if (cfg['security.idmap.isolated'] !== 'true' || cfg['security.privileged'] === 'true') return row;
    const size = Number(cfg['security.idmap.size'] || 65536);
    const { uidMap, gidMap } = this.runtime.defaultIdMaps();
    const { uid, gid } = this.runtime.subordinateRanges();
    const alloc = await this.idmaps.allocate(row.id, size, {
      uid: withoutRange(uid, uidMap[0]),
      gid: withoutRange(gid, gidMap[0]),
    });
    return this.instances.patchConfig(row.name, { 'volatile.idmap.base': String(alloc.hostUidBase) });
  }

  /** The instance's own id maps when it has an isolated range; the runtime's default otherwise. */
  private async idmapOf(row: InstanceEntity): Promise<Pick<SpawnOptions, 'uidMap' | 'gidMap'>> {
    if (!row.config['volatile.idmap.base']) return {};
    const alloc = await this.idmaps.get(row.id);
    const map = (outside: number): IdMapEntry[] => [{ inside: 0, outside, count: alloc.size }];
    return { uidMap: map(alloc.hostUidBase), gidMap: map(alloc.hostGidBase) };
  }

  private async expand(row: InstanceEntity) {
    const profiles = await this.profiles.getMany(row.profiles);
    return expandConfig(profiles, { config: row.config, devices: row.devices as Devices, profiles: row.profiles });
  }

  /**
   * Bookkeeping once init is gone, however it ended (stopped here, halted or rebooted from inside,
   * killed): the one place it happens. stop() waits for it through afterExit.
   */
  private watchExit(row: InstanceEntity, container: Container): void {
    const done = container.exited.then(async () => {
      if (this.runtime.get(row.name)) return; // a new start already tracks it
      try {
        await this.afterStop(row);
      } finally {
        if (this.afterExit.get(row.name) === done) this.afterExit.delete(row.name);
      }
    });
    done.catch(() => undefined); // nobody may be waiting: stop() reports the error when it waits
    this.afterExit.set(row.name, done);
  }

  private async afterStop(row: InstanceEntity): Promise<void> {
    await this.instances.update(row.name, { status: 'Stopped', runtime: null }).catch((err) => {
      if (!(err instanceof NotFoundError)) throw err;
    });
    if (row.ephemeral) await this.delete(row.name).catch(() => undefined);
  }
}

/** Subordinate ranges minus the default map's ids: isolated ranges never share ids with it. */
function withoutRange(ranges: readonly IdRange[], taken: IdMapEntry): SubidRange[] {
  const out: SubidRange[] = [];
  const tStart = taken.outside;
  const tEnd = taken.outside + taken.count;
  for (const r of ranges) {
    const end = r.start + r.count;
    if (end <= tStart || r.start >= tEnd) {
      out.push({ start: r.start, count: r.count });
      continue;
    }
    if (r.start < tStart) out.push({ start: r.start, count: tStart - r.start });
    if (end > tEnd) out.push({ start: tEnd, count: end - tEnd });
  }
  return out;
}

/** Spawn options that show a storage volume to the runtime (see RootfsSource). */
export function rootfsOptions(src: RootfsSource): Pick<SpawnOptions, 'rootfs' | 'rootfsOverlay'> {
  return src.kind === 'overlay'
    ? { rootfs: src.mountpoint, rootfsOverlay: { lower: src.lower, upper: src.upper, work: src.work, lowerMount: src.lowerMount } }
    : { rootfs: src.path };
}
