import { Inject, Injectable, Logger } from '@nestjs/common';
import { InstancesService, STORAGE_POOLS, StoragePools } from '@lodge/instance';
import { ConductorClient } from '../conductor/conductor.client';
import { OBJECT_VERSIONS } from '../objects/manifests';
import { listObjects, NovaObject } from '../objects/nova-object';
import { adminContext } from '../oslo/request-context';
import { NOVA_PLACEMENT, PlacementReporter } from '../placement/placement-reporter';
import { NOVA_COMPUTE_OPTIONS, NOVA_CONDUCTOR, NovaComputeOptions } from './compute-manager';
import { readHostResources } from './host-resources';
import { containerName, memoryLimitMb, NOVA_UUID_KEY } from './instance-mapping';
import { PowerState, powerStateOf } from './power-state';

/** nova 26's SERVICE_VERSION: what the Service row must say for controllers to send RPC 6.x. */
export const NOVA_SERVICE_VERSION = 64;
/** Lodge 0.1.0 in nova's int form (major * 1e6 + minor * 1e3 + patch). */
const HYPERVISOR_VERSION = 1000;

export interface ComputeHostTimers {
  /** Service heartbeat, seconds (nova's report_interval). */
  reportInterval: number;
  /** ComputeNode refresh, seconds (update_available_resource). */
  resourceInterval: number;
  /** Power-state sync, seconds (_sync_power_states). */
  powerSyncInterval: number;
}

export const COMPUTE_HOST_TIMERS = Symbol('COMPUTE_HOST_TIMERS');

/**
 * The host-level duties of nova-compute that are not RPC: wait for the conductor, get or create
 * the Service row and heartbeat it, create and keep the ComputeNode up to date, and sync power
 * states (a container that stopped by itself is reported stopped).
 */
@Injectable()
export class ComputeHostService {
  private readonly logger = new Logger('ComputeHost');
  private service: NovaObject | null = null;
  private node: NovaObject | null = null;
  private readonly timers: NodeJS.Timeout[] = [];
  private stopped = false;

  constructor(
    @Inject(NOVA_CONDUCTOR) private readonly conductor: ConductorClient,
    @Inject(NOVA_COMPUTE_OPTIONS) private readonly options: NovaComputeOptions,
    @Inject(COMPUTE_HOST_TIMERS) private readonly intervals: ComputeHostTimers,
    @Inject(STORAGE_POOLS) private readonly pools: StoragePools,
    private readonly instances: InstancesService,
    /** null when no placement endpoint is configured */
    @Inject(NOVA_PLACEMENT) private readonly placement: PlacementReporter | null,
  ) {}

  /** Startup: conductor ping, Service row, ComputeNode; then the periodic tasks. */
  async start(): Promise<void> {
    await this.conductor.waitUntilReady(adminContext(), Infinity, () => this.stopped);
    await this.registerService();
    await this.updateComputeNode();
    this.every(this.intervals.reportInterval, () => this.heartbeat());
    this.every(this.intervals.resourceInterval, () => this.updateComputeNode());
    this.every(this.intervals.powerSyncInterval, () => this.syncPowerStates());
  }

  stop(): void {
    this.stopped = true;
    for (const t of this.timers.splice(0)) clearInterval(t);
  }

  private every(seconds: number, task: () => Promise<void>): void {
    let running = false;
    const t = setInterval(() => {
      if (running || this.stopped) return;
      running = true;
      task()
        .catch((err) => this.logger.warn(`${task.name || 'periodic task'} failed: ${(err as Error).message}`))
        .finally(() => (running = false));
    }, seconds * 1000);
    t.unref();
    this.timers.push(t);
  }

  private async registerService(): Promise<void> {
    const ctx = adminContext();
    const found = await this.conductor.objectClassAction(ctx, 'Service', 'get_by_host_and_binary', [this.options.host, 'nova-compute'], {}, true);
    if (found instanceof NovaObject) {
      this.service = found;
      if (found.get('version') !== NOVA_SERVICE_VERSION) {
        found.set('version', NOVA_SERVICE_VERSION);
        await this.conductor.objectAction(ctx, found, 'save');
      }
      return;
    }
    const service = new NovaObject('Service', OBJECT_VERSIONS.Service);
    service.set('host', this.options.host).set('binary', 'nova-compute').set('topic', 'compute').set('report_count', 0).set('version', NOVA_SERVICE_VERSION);
    await this.conductor.objectAction(ctx, service, 'create');
    this.service = service;
    this.logger.log(`registered nova-compute service for host ${this.options.host}`);
  }

  /** The servicegroup db driver's heartbeat: report_count += 1, save. */
  async heartbeat(): Promise<void> {
    const service = this.service;
    if (!service) return;
    service.set('report_count', service.int('report_count', 0) + 1);
    await this.conductor.objectAction(adminContext(), service, 'save');
  }

  /** update_available_resource: the ComputeNode with this host's capacity and what nova instances use. */
  async updateComputeNode(): Promise<void> {
    const ctx = adminContext();
    const res = readHostResources(this.pools.get(this.options.pool).path);
    const used = await this.novaUsage();
    const fields: Record<string, unknown> = {
      vcpus: res.vcpus,
      memory_mb: res.memoryMb,
      local_gb: res.localGb,
      vcpus_used: used.vcpus,
      memory_mb_used: used.memoryMb,
      local_gb_used: Math.max(0, res.localGb - res.freeDiskGb),
      free_ram_mb: res.memoryMb - used.memoryMb,
      free_disk_gb: res.freeDiskGb,
      disk_available_least: res.freeDiskGb,
      running_vms: used.instances,
      current_workload: 0,
      hypervisor_type: 'lxd',
      hypervisor_version: HYPERVISOR_VERSION,
      hypervisor_hostname: this.options.node,
      cpu_info: res.cpuInfo,
      numa_topology: null,
      supported_hv_specs: ['lxd', 'lxc'].map((hv) => new NovaObject('HVSpec', OBJECT_VERSIONS.HVSpec, { arch: res.arch, hv_type: hv, vm_mode: 'exe' }, ['arch', 'hv_type', 'vm_mode'])),
      stats: {},
    };
    if (!this.node) {
      const found = await this.conductor.objectClassAction(ctx, 'ComputeNode', 'get_by_host_and_nodename', [this.options.host, this.options.node], {}, true).catch((err) => {
        if ((err as { remoteClass?: string }).remoteClass === 'ComputeHostNotFound') return null;
        throw err;
      });
      if (found instanceof NovaObject) this.node = found;
    }
    if (this.node) {
      const node = this.node;
      for (const [k, v] of Object.entries(fields)) node.set(k, v);
      await this.conductor.objectAction(ctx, node, 'save');
      await this.reportToPlacement(node);
      return;
    }
    const node = new NovaObject('ComputeNode', OBJECT_VERSIONS.ComputeNode);
    for (const [k, v] of Object.entries(fields)) node.set(k, v);
    node
      .set('host', this.options.host)
      .set('service_id', this.service?.get('id') ?? null)
      .set('cpu_allocation_ratio', 16.0)
      .set('ram_allocation_ratio', 1.5)
      .set('disk_allocation_ratio', 1.0)
      .set('host_ip', '127.0.0.1')
      .set('metrics', '[]')
      .set('pci_device_pools', null);
    await this.conductor.objectAction(ctx, node, 'create');
    this.node = node;
    // not awaited: at start-up a placement that hangs must not hold back the heartbeats
    void this.reportToPlacement(node);
  }

  /**
   * The resource tracker's _update_to_placement: the node's provider and inventory. Placement
   * being down or refusing must not stop the host: the failure is logged and the next resource
   * report tries again.
   */
  private async reportToPlacement(node: NovaObject): Promise<void> {
    if (!this.placement) return;
    try {
      await this.placement.report({
        uuid: node.str('uuid'),
        name: node.str('hypervisor_hostname'),
        vcpus: node.int('vcpus', 0),
        memoryMb: node.int('memory_mb', 0),
        localGb: node.int('local_gb', 0),
        cpuAllocationRatio: Number(node.get('cpu_allocation_ratio') ?? 16.0),
        ramAllocationRatio: Number(node.get('ram_allocation_ratio') ?? 1.5),
        diskAllocationRatio: Number(node.get('disk_allocation_ratio') ?? 1.0),
      });
    } catch (err) {
      this.logger.warn(`placement report failed, next try in ${this.intervals.resourceInterval} s: ${(err as Error).message}`);
    }
  }

  /**
   * _sync_power_states: for every instance nova has on this host and no task running, compare
   * the container's power state with nova's. A power_state that changed is saved; an active
   * instance whose container stopped by itself is saved as stopped (nova calls its stop API).
   */
  async syncPowerStates(): Promise<void> {
    const ctx = adminContext();
    const list = await this.conductor.objectClassAction(ctx, 'InstanceList', 'get_by_host', [this.options.host], { expected_attrs: [] });
    const instances = list instanceof NovaObject ? listObjects(list) : [];
    const present = new Set(await this.instances.listNames());
    for (const instance of instances) {
      if (instance.get('task_state') !== null && instance.get('task_state') !== undefined) continue;
      const name = containerName(instance);
      const exists = present.has(name);
      const vmState = instance.get('vm_state') as string | null;
      const power = exists ? powerStateOf(this.instances.status(name), vmState) : PowerState.NOSTATE;
      const dbPower = instance.get('power_state');
      if (power === dbPower) continue;
      instance.set('power_state', power);
      if (vmState === 'active' && (power === PowerState.SHUTDOWN || power === PowerState.NOSTATE)) {
        this.logger.log(`${name} stopped by itself: reporting it stopped`);
        instance.set('vm_state', 'stopped');
      }
      await this.conductor.objectAction(ctx, instance, 'save', [], { expected_task_state: [null] }).catch((err) => this.logger.warn(`power sync of ${name}: ${(err as Error).message}`));
    }
  }

  private async novaUsage(): Promise<{ vcpus: number; memoryMb: number; instances: number }> {
    let vcpus = 0;
    let memoryMb = 0;
    let instances = 0;
    for (const { row } of await this.instances.listExpanded()) {
      if (!row.config[NOVA_UUID_KEY]) continue;
      instances++;
      vcpus += Number(row.config['limits.cpu'] ?? 0) || 0;
      memoryMb += memoryLimitMb(row.config) ?? 0;
    }
    return { vcpus, memoryMb, instances };
  }
}
