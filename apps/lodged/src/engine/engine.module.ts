/**
 * The engine under the REST API: state (repositories on the daemon's DataSource), the container
 * runtime, the storage pools, the image store and the instance use cases, wired once. Global, so
 * every API module injects what it needs. On start it creates the default pool if it is new and
 * reconciles the database with what really runs (re-adopting containers, autostart).
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { DynamicModule, Inject, Injectable, Logger, Module, OnApplicationBootstrap } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { NotFoundError } from '@lodge/common';
import { IMAGE_STORE_DIR, IMAGE_STORE_POOL, ImageStore } from '@lodge/image';
import { INSTANCE_ENGINE_OPTIONS, InstancesService, STORAGE_POOLS, StoragePools } from '@lodge/instance';
import {
  BridgeDriver,
  DEFAULT_NETWORK,
  DefaultNetworkOptions,
  DnsmasqSupervisor,
  ensureDefaultNetwork,
  HOST_LINKS,
  HostLinks,
  NetlinkLinks,
  NetworkFirewall,
  NetworkReservations,
  NetworksService,
  NicDevices,
  ProxyDevices,
} from '@lodge/network';
import { probeCgroups, RUNTIME_OPTIONS, RuntimeService } from '@lodge/runtime';
import { InstancesRepository, NetworkAllocationsRepository, NetworksRepository, ProfilesRepository, STATE_REPOSITORIES } from '@lodge/state';
import { StorageDriver, StorageDriverRegistry } from '@lodge/storage';

export interface EngineOptions {
  /** the daemon's state directory: storage-pools/, images/, logs/ live below it */
  dir: string;
  dataSource: DataSource;
  /** cgroup parent of every container (default "lodge"; tests use one of their own) */
  cgroupParent?: string;
  /** start instances at daemon start as boot.autostart says (default true) */
  reconcile?: boolean;
  /**
   * The managed bridge made on the first start, with an eth0 NIC on it in the default profile
   * (default: lodgebr0 on 10.131.77.1/24); false: none.
   */
  defaultNetwork?: DefaultNetworkOptions | false;
  /** private blocks `ipv4.address=auto` carves /24 subnets from (default 10.0.0.0/8) */
  autoSubnetPool?: string[];
}

/** Where managed networks keep their dnsmasq files. */
export const networksDir = (dir: string) => join(dir, 'networks');

export const ENGINE_OPTIONS = Symbol('ENGINE_OPTIONS');

/** The pools the daemon knows: for now the `default` dir pool under <dir>/storage-pools/default. */
export class DaemonStoragePools implements StoragePools {
  private readonly pools = new Map<string, StorageDriver>();

  constructor(dir: string, registry = StorageDriverRegistry.withBuiltins()) {
    this.pools.set('default', registry.open('dir', join(dir, 'storage-pools', 'default')));
  }

  get(name: string): StorageDriver {
    const pool = this.pools.get(name);
    if (!pool) throw new NotFoundError(`Storage pool not found: ${name}`);
    return pool;
  }

  names(): string[] {
    return [...this.pools.keys()];
  }
}

/** Creates new pools, then reconciles instances, before the daemon starts answering. */
@Injectable()
export class EngineLifecycle implements OnApplicationBootstrap {
  private readonly log = new Logger('engine');

  constructor(
    @Inject(STORAGE_POOLS) private readonly pools: DaemonStoragePools,
    private readonly instances: InstancesService,
    private readonly rows: InstancesRepository,
    private readonly images: ImageStore,
    private readonly networks: NetworksService,
    private readonly profiles: ProfilesRepository,
    @Inject(ENGINE_OPTIONS) private readonly options: EngineOptions,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    for (const name of this.pools.names()) {
      const pool = this.pools.get(name);
      if (!existsSync(join(pool.path, 'containers'))) await pool.createPool();
    }
    await this.removeInterruptedWork();
    await this.images.cleanupLeftovers(); // uploads a killed daemon did not finish
    // networks before instances: re-adopted containers' NICs sit on these bridges
    const nets = await this.networks.restoreAll();
    for (const f of nets.failed) this.log.error(`network ${f.name} could not be set up: ${f.error}`);
    if (this.options.defaultNetwork !== false) {
      await ensureDefaultNetwork(this.networks, this.profiles, networksDir(this.options.dir), this.options.defaultNetwork ?? DEFAULT_NETWORK, (m) =>
        this.log.log(m),
      );
    }
    if (this.options.reconcile === false) return;
    const r = await this.instances.reconcile();
    if (r.adopted.length + r.started.length + r.stopped.length > 0) {
      this.log.log(`reconciled: ${r.adopted.length} re-adopted, ${r.started.length} started, ${r.stopped.length} marked stopped`);
    }
  }

  /**
   * A daemon killed mid-create leaves a volume without a row (the row is written last) and
   * temporary directories; mid-delete, a row-less volume too. Nothing runs yet, so anything
   * without a row is unfinished work: removed, so every instance is either complete or absent.
   */
  private async removeInterruptedWork(): Promise<void> {
    const known = new Map<string, Set<string>>();
    for (const row of await this.rows.list()) {
      const pool = row.storagePool ?? 'default';
      if (!known.has(pool)) known.set(pool, new Set());
      known.get(pool)!.add(row.name);
    }
    for (const name of this.pools.names()) {
      const pool = this.pools.get(name);
      const removed = await pool.removeLeftovers();
      for (const volume of await pool.instanceVolumes()) {
        if (known.get(name)?.has(volume)) continue;
        await pool.unmountInstance(volume);
        await pool.deleteInstanceVolume(volume);
        removed.push(`${name}/${volume}`);
      }
      if (removed.length > 0) this.log.warn(`removed what interrupted operations left in pool ${name}: ${removed.join(', ')}`);
    }
  }
}

@Module({})
export class EngineModule {
  static forRoot(options: EngineOptions): DynamicModule {
    return {
      module: EngineModule,
      global: true,
      providers: [
        { provide: ENGINE_OPTIONS, useValue: options },
        { provide: DataSource, useValue: options.dataSource },
        ...STATE_REPOSITORIES,
        { provide: RUNTIME_OPTIONS, useValue: { cgroups: probeCgroups({ parent: options.cgroupParent }) } },
        RuntimeService,
        { provide: STORAGE_POOLS, useValue: new DaemonStoragePools(options.dir) },
        { provide: IMAGE_STORE_DIR, useValue: join(options.dir, 'images') },
        { provide: IMAGE_STORE_POOL, inject: [STORAGE_POOLS], useFactory: (pools: StoragePools) => pools.get('default') },
        ImageStore,
        { provide: INSTANCE_ENGINE_OPTIONS, useValue: { logDir: join(options.dir, 'logs') } },
        ProxyDevices,
        { provide: HOST_LINKS, useFactory: () => new NetlinkLinks() },
        {
          provide: BridgeDriver,
          inject: [HOST_LINKS],
          useFactory: (links: HostLinks) =>
            new BridgeDriver(links, new NetworkFirewall(), new DnsmasqSupervisor(), {
              dir: networksDir(options.dir),
              autoSubnetPool: options.autoSubnetPool ?? ['10.0.0.0/8'],
            }),
        },
        {
          provide: NetworkReservations,
          inject: [NetworkAllocationsRepository, BridgeDriver],
          useFactory: (allocations: NetworkAllocationsRepository, bridge: BridgeDriver) => new NetworkReservations(allocations, bridge),
        },
        {
          provide: NetworksService,
          inject: [NetworksRepository, NetworkAllocationsRepository, InstancesRepository, ProfilesRepository, HOST_LINKS, BridgeDriver, NetworkReservations],
          useFactory: (...deps: ConstructorParameters<typeof NetworksService>) => new NetworksService(...deps),
        },
        {
          provide: NicDevices,
          inject: [NetworksRepository, NetworkAllocationsRepository, HOST_LINKS, NetworkReservations, InstancesRepository],
          useFactory: (
            networks: NetworksRepository,
            allocations: NetworkAllocationsRepository,
            links: HostLinks,
            reservations: NetworkReservations,
            instances: InstancesRepository,
          ) =>
            new NicDevices(networks, allocations, links, reservations, {
              log: (m) => new Logger('nics').warn(m),
              // an instance deleted meanwhile has nothing to remember
              remember: (instance, volatile) => instances.patchConfig(instance, volatile).then(() => undefined, () => undefined),
            }),
        },
        InstancesService,
        EngineLifecycle,
      ],
      exports: [ENGINE_OPTIONS, DataSource, ...STATE_REPOSITORIES, RuntimeService, STORAGE_POOLS, ImageStore, InstancesService, NetworksService],
    };
  }
}
