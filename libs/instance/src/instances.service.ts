/**
 * The instance lifecycle use cases (create, start, stop, delete, list, state, reconcile), written
 * once here and called by every transport (REST, nova RPC, tasks). Each multi-step change is
 * undone step by step when a later step fails: nothing half-made remains.
 */
import { randomUUID } from 'node:crypto';
import { appendFileSync, existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { totalmem } from 'node:os';
import { dirname, join } from 'node:path';
import { Inject, Injectable, OnApplicationShutdown } from '@nestjs/common';
import { AlreadyExistsError, ConflictError, InvalidArgumentError, NotFoundError, NotSupportedError, Reverter } from '@lodge/common';
import {
  affectsLimits,
  diffLiveUpdate,
  expandConfig,
  findRootDisk,
  lookupConfigKey,
  toRuntimeLimits,
  validateDevices,
  validateInstanceConfig,
} from '@lodge/config';
import type { DeviceChange, Devices, Expanded } from '@lodge/config';
import { ImageStore, TemplateBundle, TemplateTrigger } from '@lodge/image';
import { Container, ContainerExit, ContainerRecord, IdMapEntry, IdRange, releaseConsoleLog, RuntimeService, SpawnOptions } from '@lodge/runtime';
import { onlineCpus } from '@lodge/runtime/cpus/cpu-allocator';
import { IdmapRepository, ImageEntity, ImagesRepository, INSTANCE_EXISTS, InstanceEntity, InstancesRepository, ProfileEntity, ProfilesRepository } from '@lodge/state';
import type { SubidRange } from '@lodge/state';
import { NicDevices, PreparedNics, ProxyDevices } from '@lodge/network';
import { RootfsSource, StorageDriver } from '@lodge/storage';
import { prepareDevices, removeDeviceNodes } from './instance-devices';
import { InterfaceState, readInstanceNetwork } from './instance-network';
import { validateInstanceName } from './instance-name';
import { shiftHostWrites } from './host-write-ownership';

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

/** A create request checked and resolved by prepareCreate(), ready for createPlanned(). */
export interface CreatePlan {
  readonly request: CreateInstanceRequest;
  readonly config: Record<string, string>;
  readonly devices: Devices;
  readonly profileNames: string[];
  readonly expanded: Expanded;
  readonly pool: StorageDriver;
  readonly poolName: string;
  readonly fingerprint?: string;
  readonly architecture: string;
}

/** What the template step needs to know of the volume being started (computed once by start()). */
interface TemplateVolume {
  source: RootfsSource;
  privileged: boolean;
  uidMap: IdMapEntry[];
  gidMap: IdMapEntry[];
}

export type InstanceStatusName = 'Running' | 'Stopped' | 'Frozen';

/** The writable fields of an instance (what PUT replaces). */
export interface InstanceUpdate {
  /** the instance's own config; daemon-owned keys left out keep their stored values */
  config: Record<string, string>;
  devices: Devices;
  profiles: string[];
  ephemeral: boolean;
  description: string;
}

export interface StopRequest {
  force?: boolean;
  /** how long init may take to halt before it is killed */
  timeoutMs?: number;
}

/** What runs now, as LXD's instance state reports it. */
export interface InstanceRuntimeState {
  status: InstanceStatusName;
  /** init's host pid; 0 when stopped */
  pid: number;
  processes: number;
  cpuTimeNs: number;
  memory: { usage: number; peak: number; swap: number };
  /** interfaces of the instance's network namespace; null when it is stopped */
  network: Record<string, InterfaceState> | null;
  /** bytes the root volume uses of its own; undefined unless asked for (it walks the tree) */
  rootUsage?: number;
}

/** An instance with its profiles applied, read in one go for every instance of a list. */
export interface ExpandedInstance {
  row: InstanceEntity;
  expanded: Expanded;
  status: InstanceStatusName;
}

@Injectable()
export class InstancesService implements OnApplicationShutdown {
  constructor(
    private readonly instances: InstancesRepository,
    private readonly profiles: ProfilesRepository,
    private readonly images: ImagesRepository,
    private readonly idmaps: IdmapRepository,
    private readonly imageStore: ImageStore,
    private readonly runtime: RuntimeService,
    @Inject(STORAGE_POOLS) private readonly pools: StoragePools,
    @Inject(INSTANCE_ENGINE_OPTIONS) private readonly options: InstanceEngineOptions,
    private readonly proxies: ProxyDevices,
    private readonly nics: NicDevices,
  ) {}

  /** Per instance whose init runs: settles once the bookkeeping after its end is done. */
  private readonly afterExit = new Map<string, Promise<void>>();
  /** Instances being restarted: an ephemeral one must not vanish between its stop and start. */
  private readonly restarting = new Set<string>();

  /**
   * Creates an instance (stopped). Everything is validated before the first side effect; a later
   * failure undoes what was made. From an image, the image's "create" templates are applied at
   * the first start (volatile.apply_template), as LXD does.
   */
  async create(req: CreateInstanceRequest): Promise<InstanceEntity> {
    return this.createPlanned(await this.prepareCreate(req));
  }

  /**
   * Everything create() checks and looks up before its first side effect, for callers that answer
   * bad input before they start the work (the REST API answers 4xx before it returns an
   * operation) and then hand the plan to createPlanned(), so nothing is looked up twice.
   */
  async prepareCreate(req: CreateInstanceRequest): Promise<CreatePlan> {
    validateInstanceName(req.name);
    const config = { ...(req.config ?? {}) };
    const devices = { ...(req.devices ?? {}) };
    validateInstanceConfig(config);
    validateDevices(devices);
    if (req.source.type !== 'image' && req.source.type !== 'none') {
      throw new InvalidArgumentError(`Unsupported source type "${(req.source as { type: string }).type}"`);
    }
    const profileNames = req.profiles ?? ['default'];
    // independent lookups, in parallel (each is a round trip to the database); their errors are
    // still reported in a fixed order: profiles, root disk and limits, name, image
    const [profilesLookup, takenLookup, imageLookup, networksLookup] = await Promise.allSettled([
      this.loadProfiles(profileNames),
      this.exists(req.name),
      req.source.type === 'image' ? this.sourceImage(req.source) : Promise.resolve(undefined),
      this.nics.catalog(),
    ]);
    const profiles = settled(profilesLookup);
    const expanded = expandConfig(profiles, { config, devices, profiles: profileNames });
    const root = findRootDisk(expanded.expanded_devices);
    if (!root) throw new InvalidArgumentError('Failed to find a root disk device: add one to the instance or a profile');
    const poolName = String(root.device.pool ?? '');
    const pool = this.pools.get(poolName);
    // the limits must make sense on this host (e.g. not more CPUs than it has) before anything is made
    toRuntimeLimits(expanded.expanded_config, this.host());
    if (settled(takenLookup)) throw new AlreadyExistsError(INSTANCE_EXISTS);
    // NICs: their network or parent must exist; each gets its MAC now (LXD's volatile.<dev>.hwaddr)
    if (this.nics.hasNics(expanded.expanded_devices)) {
      await this.nics.validate(expanded.expanded_devices, settled(networksLookup));
      Object.assign(config, this.nics.macsFor(expanded.expanded_devices, config));
    }
    const image = settled(imageLookup);

    let architecture = process.arch === 'x64' ? 'x86_64' : process.arch;
    if (image) {
      architecture = image.architecture;
      // LXD keeps the image's properties as image.* keys
      for (const [k, v] of Object.entries(image.properties ?? {})) config[`image.${k}`] = String(v);
      config['volatile.base_image'] = image.fingerprint;
      config['volatile.apply_template'] = 'create';
    }
    config['volatile.uuid'] = randomUUID();
    return { request: req, config, devices, profileNames, expanded, pool, poolName, fingerprint: image?.fingerprint, architecture };
  }

  /** create() of a plan from prepareCreate(). A name taken since then is refused by the database. */
  async createPlanned(plan: CreatePlan): Promise<InstanceEntity> {
    const { request: req, config, devices, profileNames, expanded, pool, poolName, fingerprint, architecture } = plan;
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

  private async sourceImage(source: Extract<InstanceSource, { type: 'image' }>): Promise<ImageEntity> {
    if (source.alias) return this.images.get((await this.images.getAlias(source.alias)).fingerprint);
    if (source.fingerprint) return this.images.getByPrefix(source.fingerprint);
    throw new InvalidArgumentError('The image source needs an alias or a fingerprint');
  }

  async get(name: string): Promise<InstanceEntity> {
    return this.instances.get(name);
  }

  /** One instance with its profiles applied and its real status. */
  async getExpanded(name: string): Promise<ExpandedInstance> {
    const row = await this.instances.get(name);
    return { row, expanded: await this.expand(row), status: this.status(name) };
  }

  /** Every instance with profiles applied: two queries in all, whatever the number of instances. */
  async listExpanded(): Promise<ExpandedInstance[]> {
    const rows = await this.instances.list();
    const byName = new Map((await this.profiles.list()).map((p) => [p.name, p]));
    return rows.map((row) => ({
      row,
      expanded: expandConfig(
        row.profiles.map((p) => byName.get(p)).filter((p): p is ProfileEntity => !!p),
        { config: row.config, devices: row.devices as Devices, profiles: row.profiles },
      ),
      status: this.status(row.name),
    }));
  }

  async listNames(): Promise<string[]> {
    return this.instances.listNames();
  }

  async start(name: string): Promise<Container> {
    const row = await this.instances.get(name);
    if (this.runtime.get(name)) throw new ConflictError('The instance is already running');
    const pool = this.pools.get(row.storagePool ?? 'default');
    // independent of each other: profiles, the id map and the volume, looked up together
    const [expanded, idmap, source] = await Promise.all([this.expand(row), this.idmapOf(row), pool.rootfsSource(name)]);
    const cfg = expanded.expanded_config;
    const logDir = join(this.options.logDir, name);
    mkdirSync(logDir, { recursive: true, mode: 0o700 });
    const privileged = cfg['security.privileged'] === 'true';
    const defaults = this.runtime.defaultIdMaps();
    const maps = { uidMap: idmap.uidMap ?? defaults.uidMap, gidMap: idmap.gidMap ?? defaults.gidMap };
    // the NICs' addresses are taken while the templates are rendered
    const [nicsTaken, rendered] = await Promise.allSettled([
      this.nics.prepare(row, expanded.expanded_devices),
      this.applyTemplates(row, expanded, pool, { source, privileged, ...maps }),
    ]);
    if (nicsTaken.status === 'rejected' || rendered.status === 'rejected') {
      if (nicsTaken.status === 'fulfilled') await nicsTaken.value.undo();
      const err: unknown = nicsTaken.status === 'rejected' ? nicsTaken.reason : (rendered as PromiseRejectedResult).reason;
      this.lifecycleLog(name, `start failed: ${err instanceof Error ? err.message : String(err)}`);
      throw err;
    }
    const nics: PreparedNics = nicsTaken.value;
    const env = Object.entries(cfg)
      .filter(([k]) => k.startsWith('environment.'))
      .map(([k, v]) => `${k.slice('environment.'.length)}=${v}`);
    const nodesDir = this.deviceNodesDir(name);
    let container: Container;
    try {
      const { binds, devices } = await prepareDevices(expanded.expanded_devices, { nodesDir, privileged, ...maps });
      container = await this.runtime.spawn({
        name,
        ...rootfsOptions(source),
        ...idmap,
        hostname: name,
        privileged,
        env,
        binds,
        devices,
        limits: toRuntimeLimits(cfg, this.host()),
        consoleLog: join(logDir, 'console.log'),
        // the NICs are in init's namespace before its first instruction
        beforeInit: nics.plans.length > 0 ? (init) => this.nics.attach(nics, init.pid) : undefined,
      });
    } catch (err) {
      await nics.undo();
      removeDeviceNodes(nodesDir);
      this.lifecycleLog(name, `start failed: ${err instanceof Error ? err.message : String(err)}`);
      throw err;
    }
    try {
      await this.proxies.startAll(name, expanded.expanded_devices, container.pid);
      // the pending template trigger is used up with the start's own write (a start that fails
      // before it renders the trigger's templates again next time: they are whole-file writes)
      const usedUp = row.config['volatile.apply_template'] ? ['volatile.apply_template'] : [];
      await this.instances.markRunning(name, container.describe() as unknown as Record<string, unknown>, nics.volatile, usedUp);
    } catch (err) {
      this.proxies.stopAll(name);
      await container.stop({ force: true });
      await nics.undo();
      removeDeviceNodes(nodesDir);
      throw err;
    }
    this.lifecycleLog(name, `started, init pid ${container.pid}`);
    this.watchExit(row, container);
    return container;
  }

  async stop(name: string, o: StopRequest = {}): Promise<ContainerExit> {
    await this.instances.get(name);
    const container = this.runtime.get(name);
    if (!container) throw new ConflictError('The instance is already stopped');
    const exit = await container.stop({ force: o.force, timeoutMs: o.timeoutMs });
    // The exit watch does the bookkeeping (row, ephemeral removal); wait for it to be done.
    await this.afterExit.get(name);
    return exit;
  }

  /** Stop then start; an ephemeral instance survives its restart (as in LXD). */
  async restart(name: string, o: StopRequest = {}): Promise<Container> {
    await this.instances.get(name);
    if (!this.runtime.get(name)) throw new ConflictError('The instance is not running');
    this.restarting.add(name);
    try {
      await this.stop(name, o);
    } finally {
      this.restarting.delete(name);
    }
    return this.start(name);
  }

  async freeze(name: string): Promise<void> {
    await this.instances.get(name);
    const c = this.runtime.get(name);
    if (!c) throw new ConflictError("The instance isn't running");
    if (c.state === 'frozen') throw new ConflictError('The instance is already frozen');
    await c.freeze();
    this.lifecycleLog(name, 'frozen');
  }

  async unfreeze(name: string): Promise<void> {
    await this.instances.get(name);
    const c = this.runtime.get(name);
    if (!c) throw new ConflictError("The instance isn't running");
    if (c.state !== 'frozen') throw new ConflictError("The instance isn't frozen");
    await c.thaw();
    this.lifecycleLog(name, 'thawed');
  }

  /**
   * Replaces the writable fields. Validated first (config keys against the table, daemon-owned
   * keys refused unless unchanged, devices, profiles, root disk); on a running instance the
   * limits are applied live before anything is stored, so a limit the kernel refuses changes
   * nothing. Other changes take effect at the next start.
   */
  async update(name: string, u: InstanceUpdate): Promise<InstanceEntity> {
    const row = await this.instances.get(name);
    validateInstanceConfig(u.config, { previous: row.config });
    validateDevices(u.devices);
    const config = { ...u.config };
    // daemon-owned keys are kept when a client leaves them out (LXD never lets a client drop them)
    for (const [k, v] of Object.entries(row.config)) {
      if (config[k] === undefined && lookupConfigKey(k)?.daemonOwned && !lookupConfigKey(k)?.userSettable) config[k] = v;
    }
    for (const [k, v] of Object.entries(config)) if (v === '') delete config[k];
    const profiles = await this.loadProfiles(u.profiles);
    const before = await this.expand(row);
    const after = expandConfig(profiles, { config, devices: u.devices, profiles: u.profiles });
    const root = findRootDisk(after.expanded_devices);
    if (!root) throw new InvalidArgumentError('Failed to find a root disk device: add one to the instance or a profile');
    if (String(root.device.pool ?? '') !== (row.storagePool ?? 'default')) {
      throw new NotSupportedError('Moving the root disk to another storage pool is not supported');
    }
    const diff = diffLiveUpdate(before, after);
    const changed = diff.config.map((c) => c.key);
    const nicChanges = diff.devices.filter((c) => c.new?.type === 'nic');
    if (nicChanges.length > 0) await this.nics.validate(Object.fromEntries(nicChanges.map((c) => [c.name, c.new!])));
    // a removed device's volatile keys go with it; a new NIC gets its MAC now
    for (const c of diff.devices.filter((d) => d.change === 'removed')) {
      for (const k of Object.keys(config)) if (k.startsWith(`volatile.${c.name}.`)) delete config[k];
    }
    Object.assign(config, this.nics.macsFor(after.expanded_devices, config));
    const limits = toRuntimeLimits(after.expanded_config, this.host()); // validates limits against this host
    const container = this.runtime.get(name);
    const r = new Reverter();
    try {
      if (container && affectsLimits(changed)) {
        await container.setLimits(limits);
        // if the row cannot change, the running container goes back to the stored limits
        r.push('limits', () => container.setLimits(toRuntimeLimits(before.expanded_config, this.host())));
      }
      if (container) await this.hotplugDevices({ id: row.id, name, config }, container.pid, diff.devices, { before: before.expanded_devices, after: after.expanded_devices }, r);
      const updated = await this.instances.update(name, {
        config,
        devices: u.devices,
        profiles: u.profiles,
        ephemeral: u.ephemeral,
        description: u.description,
      });
      r.commit();
      return updated;
    } finally {
      await r.revert();
    }
  }

  /**
   * Device changes on a running instance that take effect at once (NICs, proxies); the others
   * wait for the next start. Each step pushes its undo onto `r`. `owner.config` is the config
   * being stored: the volatile keys of plugged NICs are added to it.
   */
  private async hotplugDevices(
    owner: { id: number; name: string; config: Record<string, string> },
    pid: number,
    changes: DeviceChange[],
    devices: { before: Devices; after: Devices },
    r: Reverter,
  ): Promise<void> {
    const name = owner.name;
    for (const c of changes) {
      if (c.old?.type === 'nic') {
        const old = c.old;
        await this.nics.unplug(owner, c.name, devices.before, pid);
        r.push(`nic ${c.name} back`, () => this.nics.plug(owner, c.name, old, devices.before, pid).then(() => undefined));
      }
      if (c.new?.type === 'nic') {
        Object.assign(owner.config, await this.nics.plug(owner, c.name, c.new, devices.after, pid));
        r.push(`nic ${c.name} removed again`, () => this.nics.unplug(owner, c.name, devices.after, pid));
      }
      if (c.old?.type === 'proxy') {
        const old = c.old;
        this.proxies.stop(name, c.name);
        r.push(`proxy ${c.name} back`, () => this.proxies.start(name, c.name, old, pid));
      }
      if (c.new?.type === 'proxy') {
        await this.proxies.start(name, c.name, c.new, pid);
        r.push(`proxy ${c.name} removed again`, () => this.proxies.stop(name, c.name));
      }
    }
  }

  /**
   * After a profile changed: every running instance using it gets the limits of its new expanded
   * config at once, as LXD applies profile updates live. All are tried; the ones that could not
   * take them (e.g. a memory limit below what the container uses) are reported together.
   */
  async applyProfileChange(profile: string): Promise<void> {
    const failed: string[] = [];
    for (const { row, expanded } of await this.listExpanded()) {
      const container = row.profiles.includes(profile) ? this.runtime.get(row.name) : undefined;
      if (!container) continue;
      try {
        await container.setLimits(toRuntimeLimits(expanded.expanded_config, this.host()));
      } catch (err) {
        failed.push(`${row.name}: ${err instanceof Error ? err.message : String(err)}`);
      }
    }
    if (failed.length > 0) throw new InvalidArgumentError(`Failed to apply the profile to running instances: ${failed.join('; ')}`);
  }

  /** What rename() checks before it changes anything: the new name, a stopped instance, a free name. */
  async validateRename(name: string, newName: string): Promise<InstanceEntity> {
    validateInstanceName(newName);
    const row = await this.instances.get(name);
    if (this.runtime.get(name)) throw new ConflictError('Renaming of running instance not allowed');
    if (newName !== name && (await this.exists(newName))) throw new AlreadyExistsError(`Name "${newName}" already in use`);
    return row;
  }

  /** Renames a stopped instance: its row, its volume and its logs. */
  async rename(name: string, newName: string): Promise<InstanceEntity> {
    const row = await this.validateRename(name, newName);
    if (newName === name) return row;
    const pool = this.pools.get(row.storagePool ?? 'default');
    const r = new Reverter();
    try {
      await pool.unmountInstance(name);
      await pool.renameInstanceVolume(name, newName);
      r.push('volume rename', () => pool.renameInstanceVolume(newName, name));
      let renamed = await this.instances.rename(name, newName);
      r.push('row rename', () => this.instances.rename(newName, name).then(() => undefined));
      // the image's "rename" templates run at the next start (unless "create" has yet to run)
      if (!renamed.config['volatile.apply_template']) {
        renamed = await this.instances.patchConfig(newName, { 'volatile.apply_template': 'rename' });
      }
      r.commit();
      const oldLogs = join(this.options.logDir, name);
      if (existsSync(oldLogs)) renameSync(oldLogs, join(this.options.logDir, newName));
      this.lifecycleLog(newName, `renamed from ${name}`);
      return renamed;
    } finally {
      await r.revert();
    }
  }

  async delete(name: string): Promise<void> {
    const row = await this.instances.get(name);
    if (this.runtime.get(name)) throw new ConflictError('Instance is running');
    const pool = this.pools.get(row.storagePool ?? 'default');
    await pool.unmountInstance(name).catch((err) => {
      if (!(err instanceof NotFoundError)) throw err;
    });
    // its addresses go with its row; dnsmasq forgets their leases after the reply
    const held = await this.nics.heldBy(row.id);
    // the row goes first: a daemon killed half-way leaves a row-less volume, which its next start removes
    await this.instances.delete(name);
    this.nics.forget(row, held);
    await pool.deleteInstanceVolume(name).catch((err) => {
      if (!(err instanceof NotFoundError)) throw err;
    });
    // the console log is append-only while it exists: lift that before removing it
    releaseConsoleLog(join(this.options.logDir, name, 'console.log'));
    rmSync(join(this.options.logDir, name), { recursive: true, force: true });
    removeDeviceNodes(this.deviceNodesDir(name));
  }

  /** Where the instance's unix-char/unix-block nodes live while it runs: <state dir>/devices/<instance>. */
  private deviceNodesDir(name: string): string {
    return join(dirname(this.options.logDir), 'devices', name);
  }

  /** Status as LXD reports it: from the runtime (what really runs), not the stored wish. */
  status(name: string): InstanceStatusName {
    const c = this.runtime.get(name);
    if (!c || c.state === 'stopped') return 'Stopped';
    return c.state === 'frozen' ? 'Frozen' : 'Running';
  }

  /**
   * What runs now: cgroup counters and the network namespace's interfaces, read from the kernel
   * (a few small files, no process spawned). `withDiskUsage` also walks the root volume.
   */
  async runtimeState(name: string, o: { withDiskUsage?: boolean; row?: InstanceEntity } = {}): Promise<InstanceRuntimeState> {
    const c = this.runtime.get(name);
    const status = this.status(name);
    let rootUsage: number | undefined;
    if (o.withDiskUsage) {
      const row = o.row ?? (await this.instances.get(name));
      rootUsage = await this.pools
        .get(row.storagePool ?? 'default')
        .usage(name)
        .catch(() => undefined);
    }
    const stopped: InstanceRuntimeState = { status: 'Stopped', pid: 0, processes: 0, cpuTimeNs: 0, memory: { usage: 0, peak: 0, swap: 0 }, network: null, rootUsage };
    if (!c || status === 'Stopped') return stopped;
    const network = readInstanceNetwork(c.pid, c.stateFiles);
    const stats = await c.stats().catch(() => undefined);
    if (!stats) return stopped; // it ended while we looked
    return {
      status,
      pid: c.pid,
      processes: stats.pids,
      cpuTimeNs: stats.cpuTimeNs,
      memory: { usage: stats.memoryCurrent, peak: stats.memoryPeak, swap: stats.swapCurrent },
      network,
      rootUsage,
    };
  }

  /** The instance's log files (lxc.log: lifecycle; console.log: init's output and /dev/console). */
  async listLogs(name: string): Promise<string[]> {
    await this.instances.get(name);
    const dir = join(this.options.logDir, name);
    if (!existsSync(dir)) return [];
    return readdirSync(dir, { withFileTypes: true })
      .filter((e) => e.isFile())
      .map((e) => e.name)
      .sort();
  }

  async readLog(name: string, file: string): Promise<Buffer> {
    await this.instances.get(name);
    const path = join(this.options.logDir, name, checkLogName(file));
    if (!existsSync(path)) throw new NotFoundError('Log file not found');
    return readFileSync(path);
  }

  /** The live logs (lxc.log, the console log being written) stay; older ones may go. */
  async deleteLog(name: string, file: string): Promise<void> {
    await this.instances.get(name);
    checkLogName(file);
    if (file === 'lxc.log' || file === 'console.log') throw new InvalidArgumentError('Only log files excluding lxc.log and console.log may be deleted');
    const path = join(this.options.logDir, name, file);
    if (!existsSync(path)) throw new NotFoundError('Log file not found');
    releaseConsoleLog(path);
    rmSync(path);
  }

  /** The console log (what `lxc console --show-log` prints); empty before the first start. */
  async consoleLog(name: string): Promise<Buffer> {
    await this.instances.get(name);
    const path = join(this.options.logDir, name, 'console.log');
    return existsSync(path) ? readFileSync(path) : Buffer.alloc(0);
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
    const rows = await this.instances.list();
    for (const row of rows) {
      const record = row.runtime as unknown as ContainerRecord | null;
      const container = row.status === 'Running' && record ? await this.runtime.adopt(record) : undefined;
      if (container) {
        adopted.push(row.name);
        this.watchExit(row, container);
        // the forwarders died with the previous daemon: its devices listen again
        const devices = (await this.expand(row)).expanded_devices;
        await this.proxies.startAll(row.name, devices, container.pid).catch((err) => {
          this.lifecycleLog(row.name, `proxy devices not restored: ${err instanceof Error ? err.message : String(err)}`);
        });
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
    // addresses a killed daemon did not give back (its instances stopped meanwhile)
    const running = new Set(rows.filter((r) => this.runtime.get(r.name)).map((r) => r.id));
    await this.nics.sweep(running);
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

  private async expand(row: InstanceEntity): Promise<Expanded> {
    const profiles = await this.profilesPresent(row.profiles);
    return expandConfig(profiles, { config: row.config, devices: row.devices as Devices, profiles: row.profiles });
  }

  /** Profiles a request names, in its order; a missing one is the caller's mistake (400, LXD's wording). */
  private async loadProfiles(names: string[]): Promise<ProfileEntity[]> {
    if (!Array.isArray(names) || names.some((n) => typeof n !== 'string')) throw new InvalidArgumentError('Invalid profiles: expected a list of names');
    if (new Set(names).size !== names.length) throw new InvalidArgumentError('Duplicate profile found in request');
    const found = await this.profilesPresent(names);
    const missing = names.find((n) => !found.some((p) => p.name === n));
    if (missing !== undefined) throw new InvalidArgumentError(`Requested profile "${missing}" doesn't exist`);
    return found;
  }

  /** The profiles of `names` that exist, in the order of `names` (one query). */
  private async profilesPresent(names: string[]): Promise<ProfileEntity[]> {
    if (names.length === 0) return [];
    const byName = new Map((await this.profiles.list()).map((p) => [p.name, p]));
    return names.map((n) => byName.get(n)).filter((p): p is ProfileEntity => !!p);
  }

  /** Whether an instance of that name exists (other errors propagate). */
  async exists(name: string): Promise<boolean> {
    try {
      await this.instances.get(name);
      return true;
    } catch (err) {
      if (err instanceof NotFoundError) return false;
      throw err;
    }
  }

  private host() {
    return { memoryBytes: totalmem(), onlineCpus: onlineCpus() };
  }

  /**
   * Renders the image's templates before init runs: the pending trigger (volatile.apply_template:
   * "create", "copy", "rename") then "start", on the volume mounted on the host, as LXD does. The
   * templates come from the image the instance was made from; without it there is nothing to render.
   * The trigger is cleared by the start's markRunning.
   */
  private async applyTemplates(row: InstanceEntity, expanded: Expanded, pool: StorageDriver, volume: TemplateVolume): Promise<void> {
    const fp = row.config['volatile.base_image'];
    const pending = row.config['volatile.apply_template'] as TemplateTrigger | undefined;
    let bundle: TemplateBundle | undefined;
    if (fp) bundle = await this.imageStore.templateBundle(fp).catch(() => undefined);
    const triggers = [...(pending ? [pending] : []), 'start' as TemplateTrigger];
    const rules = Object.values(bundle?.metadata.templates ?? {});
    if (bundle && rules.some((rule) => rule.when.some((w) => triggers.includes(w)))) {
      const written: string[] = [];
      const rootfs = await pool.mountInstance(row.name);
      try {
        const instance = {
          name: row.name,
          architecture: row.architecture,
          ephemeral: row.ephemeral,
          privileged: volume.privileged,
          config: expanded.expanded_config,
          devices: expanded.expanded_devices,
        };
        for (const trigger of triggers) written.push(...(await this.imageStore.renderTemplates(bundle, rootfs, trigger, instance)));
      } finally {
        await pool.unmountInstance(row.name);
      }
      // Written through a host mount of the overlay: what that copied up or created in the upper
      // layer gets the container's ids (see shiftHostWrites). A plain-directory volume is idmapped
      // as a whole and a privileged container is unmapped: nothing to do for them.
      if (!volume.privileged && volume.source.kind === 'overlay') shiftHostWrites(volume.source.upper, written, volume.uidMap, volume.gidMap);
    }
  }

  /** One line in the instance's lxc.log (what `lxc info --show-log` shows): lifecycle, not output. */
  private lifecycleLog(name: string, message: string): void {
    try {
      const dir = join(this.options.logDir, name);
      mkdirSync(dir, { recursive: true, mode: 0o700 });
      appendFileSync(join(dir, 'lxc.log'), `${new Date().toISOString()} ${message}\n`, { mode: 0o600 });
    } catch {
      // the log is informational: a full disk must not fail a lifecycle step
    }
  }

  /**
   * Bookkeeping once init is gone, however it ended (stopped here, halted or rebooted from inside,
   * killed): the one place it happens. stop() waits for it through afterExit.
   */
  /**
   * The daemon is going away while its containers keep running. From now on this process does no
   * bookkeeping for them (rows, logs, ephemeral removal): a container that ends meanwhile is found
   * gone by the next daemon's reconcile, which does it then.
   */
  onApplicationShutdown(): void {
    this.shutDown = true;
  }

  private shutDown = false;

  private watchExit(row: InstanceEntity, container: Container): void {
    const done = container.exited.then(async (exit) => {
      if (this.runtime.get(row.name)) return; // a new start already tracks it
      this.proxies.stopAll(row.name);
      if (this.shutDown) return; // the next daemon finds it gone and reconciles
      try {
        await this.afterStop(row, exit);
      } finally {
        if (this.afterExit.get(row.name) === done) this.afterExit.delete(row.name);
      }
    });
    done.catch(() => undefined); // nobody may be waiting: stop() reports the error when it waits
    this.afterExit.set(row.name, done);
  }

  private async afterStop(row: InstanceEntity, exit?: ContainerExit): Promise<void> {
    removeDeviceNodes(this.deviceNodesDir(row.name));
    // the veths went with init's namespace; the addresses go back in the background
    this.nics.releaseAfterStop(row);
    if (exit) this.lifecycleLog(row.name, `stopped (${exit.reason}${exit.exitCode !== undefined ? ` ${exit.exitCode}` : ''}${exit.signal !== undefined ? ` signal ${exit.signal}` : ''})`);
    await this.instances.update(row.name, { status: 'Stopped', runtime: null }).catch((err) => {
      if (!(err instanceof NotFoundError)) throw err;
    });
    // the stored flag counts (it may have changed since the start), not the one seen at start
    const current = await this.instances.get(row.name).catch(() => undefined);
    if (current?.ephemeral && !this.restarting.has(row.name)) await this.delete(row.name).catch(() => undefined);
  }
}

/** The value of a settled lookup, or its error thrown. */
function settled<T>(result: PromiseSettledResult<T>): T {
  if (result.status === 'rejected') throw result.reason;
  return result.value;
}

/** A log file name: one plain name inside the instance's log directory. */
function checkLogName(file: string): string {
  if (!/^[A-Za-z0-9._-]+$/.test(file) || file === '.' || file === '..') throw new InvalidArgumentError(`Invalid log file name "${file}"`);
  return file;
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
