import { execFile } from 'node:child_process';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Inject, Injectable, Logger } from '@nestjs/common';
import { ConflictError, DomainError, KeyedLock, NotFoundError } from '@lodge/common';
import { InstancesService, STORAGE_POOLS, StoragePools } from '@lodge/instance';
import { ConductorClient } from '../conductor/conductor.client';
import { NovaException } from '../errors/nova-exceptions';
import { RemoteCallError } from '../errors/remote-failure';
import { OBJECT_VERSIONS } from '../objects/manifests';
import { InvalidNovaObjectError, listObjects, novaDateTime, NovaObject } from '../objects/nova-object';
import { isObject } from '../oslo/envelope';
import type { RequestContext } from '../oslo/request-context';
import { NOVA_PLACEMENT, PlacementReporter } from '../placement/placement-reporter';
import { CONFIG_DRIVE_PATH, writeConfigDrive } from './config-drive';
import { containerName, instanceConfig, memoryLimitMb, NOVA_UUID_KEY, rootDevice } from './instance-mapping';
import { ComputeImages } from './compute-images';
import { PowerState, powerStateName, powerStateOf, PowerStateCode } from './power-state';

export interface NovaComputeOptions {
  /** nova's CONF.host: the `compute.<host>` queue and the Service row. */
  host: string;
  /** The hypervisor node name (ComputeNode.hypervisor_hostname); default: host. */
  node: string;
  /** Lodge's state directory; config drives live under <stateDir>/nova/config-drives. */
  stateDir: string;
  /** The storage pool instances are made in. */
  pool: string;
  /** Seconds a clean stop may take before the container is killed (nova's shutdown_timeout). */
  shutdownTimeout: number;
}

export const NOVA_COMPUTE_OPTIONS = Symbol('NOVA_COMPUTE_OPTIONS');
export const NOVA_CONDUCTOR = Symbol('NOVA_CONDUCTOR');

/** nova's get_console_output: the driver returns at most the last 100 KiB. */
const MAX_CONSOLE_BYTES = 100 * 1024;

/** The build arguments nova's compute RPC API 6.0 sends (keys of `args`). */
export interface BuildArgs {
  instance: unknown;
  image: unknown;
  request_spec?: unknown;
  filter_properties?: unknown;
  admin_password?: unknown;
  injected_files?: unknown;
  requested_networks?: unknown;
  security_groups?: unknown;
  block_device_mapping?: unknown;
  node?: unknown;
  limits?: unknown;
  host_list?: unknown;
  accel_uuids?: unknown;
}

/**
 * What nova-compute's ComputeManager does for each RPC method, on Lodge containers: the same
 * vm_state / task_state / power_state walk through the conductor (with the same
 * expected_task_state on every save), instance action events around each operation, and an
 * instance fault (plus vm_state error, or a reschedule) when it fails. Operations on one
 * instance run one after the other, in arrival order.
 */
@Injectable()
export class ComputeManager {
  private readonly logger = new Logger('ComputeManager');
  private readonly locks = new KeyedLock();

  constructor(
    private readonly instances: InstancesService,
    @Inject(NOVA_CONDUCTOR) private readonly conductor: ConductorClient,
    @Inject(NOVA_COMPUTE_OPTIONS) private readonly options: NovaComputeOptions,
    @Inject(STORAGE_POOLS) private readonly pools: StoragePools,
    private readonly images: ComputeImages,
    /** null when no placement endpoint is configured */
    @Inject(NOVA_PLACEMENT) private readonly placement: PlacementReporter | null,
  ) {}

  // ---------------------------------------------------------------- build

  async buildAndRunInstance(ctx: RequestContext, args: BuildArgs): Promise<void> {
    const instance = readInstance(args.instance);
    const uuid = instance.str('uuid');
    await this.locks.run(uuid, () =>
      this.withEvent(ctx, uuid, 'compute__do_build_and_run_instance', async () => {
        try {
          instance.set('vm_state', 'building').set('task_state', null);
          await this.save(ctx, instance, { expected_task_state: ['scheduling', null] });
        } catch (err) {
          // nova: "Instance disappeared before build" / another task took it: nothing to do.
          if (isRemote(err, 'InstanceNotFound', 'UnexpectedTaskStateError', 'UnexpectedDeletingTaskStateError')) {
            this.logger.warn(`build of ${uuid} abandoned: ${(err as Error).message}`);
            await this.releaseAllocations(uuid);
            return;
          }
          throw err;
        }
        try {
          await this.buildInstance(ctx, instance, args);
        } catch (err) {
          await this.buildFailed(ctx, instance, args, err);
        }
      }),
    );
  }

  private async buildInstance(ctx: RequestContext, instance: NovaObject, args: BuildArgs): Promise<void> {
    const name = containerName(instance);
    const uuid = instance.str('uuid');
    // The container is made while the conductor records the claim and the block device and
    // spawning states: the saves are the same ones nova-compute makes, in the same order, but
    // the build no longer waits for three conductor round trips before it starts. The first
    // save above already proved the instance is still ours to build.
    const spawned = this.spawn(ctx, instance, name, args).then(
      () => undefined,
      (err: unknown) => err,
    );
    let saveFailure: unknown;
    try {
      // the resource claim: from here on nova routes every action on this instance to this host
      instance.set('host', this.options.host).set('node', this.nodeFor(args)).set('launched_on', this.options.host);
      await this.save(ctx, instance);
      instance.set('vm_state', 'building').set('task_state', 'block_device_mapping');
      await this.save(ctx, instance);
      instance.set('task_state', 'spawning');
      await this.save(ctx, instance, { expected_task_state: 'block_device_mapping' });
    } catch (err) {
      saveFailure = err;
    }
    const spawnFailure = await spawned;
    if (saveFailure !== undefined) {
      // deleted or taken over meanwhile: the container must not outlive its claim
      if (spawnFailure === undefined) await this.destroyContainer(name, uuid);
      throw saveFailure;
    }
    if (spawnFailure !== undefined) throw spawnFailure;

    instance
      .set('power_state', powerStateOf(this.instances.status(name), 'active'))
      .set('vm_state', 'active')
      .set('task_state', null)
      .set('launched_at', novaDateTime());
    try {
      await this.save(ctx, instance, { expected_task_state: 'spawning' });
    } catch (err) {
      // deleted while spawning: the container must not outlive its nova instance
      if (isRemote(err, 'InstanceNotFound', 'UnexpectedDeletingTaskStateError')) await this.destroyContainer(name, uuid);
      throw err;
    }
    this.logger.log(`built ${name} (${uuid})`);
  }

  /** The driver's spawn: image, container, config drive, start. Undone completely on failure. */
  private async spawn(ctx: RequestContext, instance: NovaObject, name: string, args: BuildArgs): Promise<void> {
    const uuid = instance.str('uuid');
    if (await this.instances.exists(name)) throw new NovaException('InstanceExists', { name });
    const config = instanceConfig(instance);
    const image = await this.images.resolve(ctx, instance.str('image_ref'));
    const pool = this.pools.get(this.options.pool);
    const devices: Record<string, Record<string, string>> = rootDevice(instance, this.options.pool, pool.capabilities.quotas);
    const driveDir = this.configDriveDir(name);
    writeConfigDrive(driveDir, { instance, injectedFiles: args.injected_files, adminPassword: typeof args.admin_password === 'string' ? args.admin_password : null });
    devices['config-drive'] = { type: 'disk', source: driveDir, path: CONFIG_DRIVE_PATH, readonly: 'true' };
    try {
      await this.instances.create({
        name,
        source: { type: 'image', fingerprint: image },
        config,
        devices,
        profiles: [],
        description: `nova instance ${uuid}`,
      });
      await this.instances.start(name);
    } catch (err) {
      await this.destroyContainer(name, uuid);
      throw err;
    }
  }

  /**
   * nova's build failure handling: a reschedule request to the conductor when the request
   * carries retry info and the failure is not an abort; otherwise a fault and vm_state error.
   * Host and node are cleared either way.
   */
  private async buildFailed(ctx: RequestContext, instance: NovaObject, args: BuildArgs, err: unknown): Promise<void> {
    const uuid = instance.str('uuid');
    const abort = err instanceof NovaException && ['ImageNotFound', 'ImageUnacceptable', 'BuildAbortException'].includes(err.novaClass);
    const invalid = err instanceof InvalidNovaObjectError || (err instanceof DomainError && err.kind === 'invalid');
    const reason = err instanceof Error ? err.message : String(err);
    const retry = isObject(args.filter_properties) ? args.filter_properties.retry : undefined;
    this.logger.warn(`build of ${uuid} failed: ${reason}`);
    if (retry && isObject(retry) && !abort && !invalid) {
      instance.set('host', null).set('node', null).set('task_state', 'scheduling');
      await this.save(ctx, instance);
      // nova: unclaim this host's resources before the retry claims another host's
      await this.releaseAllocations(uuid);
      await this.conductor.rescheduleBuild(ctx, {
        instances: [instance.toPrimitive()],
        image: args.image ?? null,
        filter_properties: { ...args.filter_properties as Record<string, unknown>, retry: { ...retry, exc_reason: reason } },
        admin_password: args.admin_password ?? null,
        injected_files: args.injected_files ?? [],
        requested_networks: args.requested_networks ?? null,
        security_groups: args.security_groups ?? [],
        request_spec: args.request_spec ?? null,
        host_lists: [args.host_list ?? []],
      });
      return;
    }
    // A malformed object from the wire is the caller's error: InvalidInput (400) with what is
    // wrong, rather than a fault that only says "Error".
    const fault = abort
      ? err
      : err instanceof InvalidNovaObjectError
        ? new NovaException('InvalidInput', { reason }, { cause: err })
        : invalid
          ? err
          : new NovaException('BuildAbortException', { instance_uuid: uuid, reason });
    await this.recordFault(ctx, uuid, fault);
    instance.set('host', null).set('node', null).set('vm_state', 'error').set('task_state', null);
    await this.save(ctx, instance);
    await this.releaseAllocations(uuid);
  }

  // ---------------------------------------------------------------- power operations

  async stopInstance(ctx: RequestContext, args: { instance: unknown; clean_shutdown?: unknown }): Promise<void> {
    const instance = readInstance(args.instance);
    await this.operation(ctx, instance, 'stop_instance', async (name) => {
      const expected: Array<string | null> = ['powering-off'];
      if ([PowerState.NOSTATE, PowerState.SHUTDOWN, PowerState.CRASHED].includes(instance.get('power_state') as 0)) expected.push(null);
      await this.powerOff(name, args.clean_shutdown !== false);
      instance.set('power_state', this.powerState(name, 'stopped')).set('vm_state', 'stopped').set('task_state', null);
      await this.save(ctx, instance, { expected_task_state: expected });
    });
  }

  async startInstance(ctx: RequestContext, args: { instance: unknown }): Promise<void> {
    const instance = readInstance(args.instance);
    await this.operation(ctx, instance, 'start_instance', async (name) => {
      if (this.instances.status(name) === 'Stopped') await this.instances.start(name);
      instance.set('power_state', this.powerState(name, 'active')).set('vm_state', 'active').set('task_state', null);
      await this.save(ctx, instance, { expected_task_state: 'powering-on' });
    });
  }

  async rebootInstance(ctx: RequestContext, args: { instance: unknown; reboot_type?: unknown; block_device_info?: unknown }): Promise<void> {
    const instance = readInstance(args.instance);
    const hard = args.reboot_type === 'HARD';
    if (args.reboot_type !== undefined && args.reboot_type !== 'HARD' && args.reboot_type !== 'SOFT') {
      throw new NovaException('InvalidInput', { reason: `reboot_type must be SOFT or HARD, not ${JSON.stringify(args.reboot_type)}` });
    }
    await this.operation(ctx, instance, 'reboot_instance', async (name) => {
      const states = hard ? ['rebooting_hard', 'reboot_pending_hard', 'reboot_started_hard'] : ['rebooting', 'reboot_pending', 'reboot_started'];
      instance.set('power_state', this.powerState(name, instance.get('vm_state') as string)).set('task_state', states[1]);
      await this.save(ctx, instance, { expected_task_state: states });
      instance.set('task_state', states[2]);
      await this.save(ctx, instance, { expected_task_state: states[1] });
      try {
        await this.reboot(name, hard);
      } catch (err) {
        throw new NovaException('InstanceRebootFailure', { reason: (err as Error).message }, { cause: err });
      }
      instance.set('power_state', this.powerState(name, 'active')).set('vm_state', 'active').set('task_state', null);
      await this.save(ctx, instance);
    });
  }

  async pauseInstance(ctx: RequestContext, args: { instance: unknown }): Promise<void> {
    await this.freezeAs(ctx, readInstance(args.instance), 'pause_instance', 'paused', 'pausing');
  }

  async unpauseInstance(ctx: RequestContext, args: { instance: unknown }): Promise<void> {
    await this.thawAs(ctx, readInstance(args.instance), 'unpause_instance', 'unpausing');
  }

  async suspendInstance(ctx: RequestContext, args: { instance: unknown }): Promise<void> {
    await this.freezeAs(ctx, readInstance(args.instance), 'suspend_instance', 'suspended', 'suspending');
  }

  async resumeInstance(ctx: RequestContext, args: { instance: unknown }): Promise<void> {
    await this.thawAs(ctx, readInstance(args.instance), 'resume_instance', 'resuming');
  }

  /** Pause and suspend both freeze the container's cgroup (no memory image is written). */
  private async freezeAs(ctx: RequestContext, instance: NovaObject, fn: string, vmState: string, taskState: string): Promise<void> {
    await this.operation(ctx, instance, fn, async (name) => {
      if (this.instances.status(name) !== 'Frozen') await this.instances.freeze(name);
      instance.set('power_state', this.powerState(name, vmState)).set('vm_state', vmState).set('task_state', null);
      await this.save(ctx, instance, { expected_task_state: taskState });
    });
  }

  private async thawAs(ctx: RequestContext, instance: NovaObject, fn: string, taskState: string): Promise<void> {
    await this.operation(ctx, instance, fn, async (name) => {
      if (this.instances.status(name) === 'Frozen') await this.instances.unfreeze(name);
      instance.set('power_state', this.powerState(name, 'active')).set('vm_state', 'active').set('task_state', null);
      await this.save(ctx, instance, { expected_task_state: taskState });
    });
  }

  // ---------------------------------------------------------------- terminate

  async terminateInstance(ctx: RequestContext, args: { instance: unknown; bdms?: unknown }): Promise<void> {
    const instance = readInstance(args.instance);
    const bdms = args.bdms === null || args.bdms === undefined ? [] : listObjects(readObject(args.bdms, 'BlockDeviceMappingList'));
    await this.operation(ctx, instance, 'terminate_instance', async (name) => {
      await this.destroyContainer(name, instance.str('uuid'));
      instance.set('vm_state', 'deleted').set('task_state', null).set('power_state', PowerState.NOSTATE).set('terminated_at', novaDateTime());
      await this.save(ctx, instance);
      for (const bdm of bdms) await this.conductor.objectAction(ctx, bdm, 'destroy');
      await this.conductor.objectAction(ctx, instance, 'destroy');
      await this.releaseAllocations(instance.str('uuid'));
    });
  }

  /**
   * nova's delete_allocation_for_instance(force=True) after a delete or a failed build. The
   * instance is gone (or failed) either way, so a placement failure is only logged.
   */
  private async releaseAllocations(uuid: string): Promise<void> {
    if (!this.placement) return;
    await this.placement.deleteAllocations(uuid).catch((err) => this.logger.warn(`allocations of ${uuid} not deleted from placement: ${(err as Error).message}`));
  }

  // ---------------------------------------------------------------- calls

  async getConsoleOutput(_ctx: RequestContext, args: { instance: unknown; tail_length?: unknown }): Promise<string> {
    const instance = readInstance(args.instance);
    const tail = args.tail_length;
    if (tail !== null && tail !== undefined && (typeof tail !== 'number' || !Number.isInteger(tail) || tail < 0)) {
      throw new NovaException('InvalidInput', { reason: 'tail_length must be a non-negative integer or null' });
    }
    const name = containerName(instance);
    await this.requireContainer(instance, name);
    const log = await this.instances.consoleLog(name);
    const bytes = log.length > MAX_CONSOLE_BYTES ? log.subarray(log.length - MAX_CONSOLE_BYTES) : log;
    // nova-compute: decode latin-1, re-encode ASCII with replacement, then keep the last lines
    const text = bytes.toString('latin1').replace(/[^\x00-\x7f]/g, '?');
    if (typeof tail !== 'number') return text;
    const lines = text.split(/(?<=\n)/);
    return tail === 0 ? '' : lines.slice(-tail).join('');
  }

  async getHostUptime(): Promise<string> {
    const { stdout } = await promisify(execFile)('uptime', [], { env: { ...process.env, LANG: 'C', LC_ALL: 'C' } });
    return stdout.replace(/\n$/, '');
  }

  async getInstanceDiagnostics(_ctx: RequestContext, args: { instance: unknown }): Promise<Record<string, unknown>> {
    const instance = readInstance(args.instance);
    const name = containerName(instance);
    await this.requireContainer(instance, name);
    const state = await this.instances.runtimeState(name);
    const row = await this.instances.get(name);
    const vcpus = Number(row.config['limits.cpu'] ?? 0) || 0;
    const limitMb = memoryLimitMb(row.config);
    const nics = Object.entries(state.network ?? {}).filter(([n]) => n !== 'lo');
    const diag = new NovaObject('Diagnostics', OBJECT_VERSIONS.Diagnostics, {
      // Diagnostics.driver is an enum without a container value; libvirt with hypervisor lxc is
      // what nova's own container driver (libvirt-lxc) reports.
      driver: 'libvirt',
      hypervisor: 'lxc',
      hypervisor_os: 'linux',
      state: powerStateName(powerStateOf(state.status, instance.get('vm_state') as string | null)),
      uptime: null,
      config_drive: true,
      num_cpus: vcpus,
      num_nics: nics.length,
      num_disks: 1,
      cpu_details: [],
      nic_details: nics.map(
        ([, nic]) =>
          new NovaObject('NicDiagnostics', OBJECT_VERSIONS.NicDiagnostics, {
            mac_address: nic.hwaddr || null,
            rx_octets: nic.counters.bytes_received,
            rx_packets: nic.counters.packets_received,
            tx_octets: nic.counters.bytes_sent,
            tx_packets: nic.counters.packets_sent,
          }),
      ),
      disk_details: [],
      memory_details: new NovaObject('MemoryDiagnostics', OBJECT_VERSIONS.MemoryDiagnostics, {
        maximum: limitMb,
        used: Math.round(state.memory.usage / (1024 * 1024)),
      }),
    });
    return diag.toPrimitive();
  }

  /** neutron and cinder events: Lodge has no VIF or volume wait to release, so they are acknowledged. */
  externalInstanceEvent(_ctx: RequestContext, args: { instances: unknown; events: unknown }): void {
    if (!Array.isArray(args.instances) || !Array.isArray(args.events)) throw new NovaException('InvalidInput', { reason: 'instances and events must be lists' });
    for (const e of args.events) {
      const event = NovaObject.fromPrimitive(e, 'InstanceExternalEvent');
      this.logger.log(`external event ${String(event.get('name'))} (${String(event.get('status'))}) for ${String(event.get('instance_uuid'))}`);
    }
  }

  // ---------------------------------------------------------------- helpers

  /**
   * An operation on an existing instance, as nova wraps it: the instance lock, the action event,
   * and on failure task_state reset (reverts_task_state) and an instance fault.
   */
  private async operation(ctx: RequestContext, instance: NovaObject, fn: string, work: (name: string) => Promise<void>): Promise<void> {
    const uuid = instance.str('uuid');
    const name = containerName(instance);
    await this.locks.run(uuid, () =>
      this.withEvent(ctx, uuid, `compute_${fn}`, async () => {
        try {
          await this.requireContainer(instance, name, fn === 'terminate_instance');
          await work(name);
        } catch (err) {
          if (!isRemote(err, 'UnexpectedTaskStateError', 'InstanceNotFound', 'UnexpectedDeletingTaskStateError') && fn !== 'terminate_instance') {
            // nova's wrap_instance_fault records no fault for InstanceNotFound (here: the call
            // named an instance this host has no container for); the task state is still reverted
            if (!(err instanceof NovaException && err.novaClass === 'InstanceNotFound')) {
              await this.recordFault(ctx, uuid, err).catch((e) => this.logger.warn(`fault for ${uuid} not recorded: ${(e as Error).message}`));
            }
            instance.set('task_state', null);
            await this.save(ctx, instance).catch((e) => this.logger.warn(`task_state of ${uuid} not reverted: ${(e as Error).message}`));
          }
          throw err;
        }
      }),
    );
  }

  /**
   * wrap_instance_event: InstanceActionEvent.event_start / event_finish_with_failure. The start
   * is recorded while the work begins (it is bookkeeping the work does not depend on); the
   * finish is sent only after the start was answered, so the two are never reordered.
   */
  private async withEvent(ctx: RequestContext, uuid: string, event: string, work: () => Promise<void>): Promise<void> {
    const started = this.conductor
      .objectClassAction(ctx, 'InstanceActionEvent', 'event_start', [uuid, event], { want_result: false, host: this.options.host })
      .then(
        () => true,
        (e: unknown) => {
          this.logger.warn(`event ${event} of ${uuid} not started: ${(e as Error).message}`);
          return false;
        },
      );
    let failure: unknown;
    try {
      await work();
    } catch (err) {
      failure = err;
    }
    if (await started) {
      await this.conductor
        .objectClassAction(ctx, 'InstanceActionEvent', 'event_finish_with_failure', [uuid, event], {
          exc_val: failure === undefined ? null : failure instanceof Error ? failure.message : String(failure),
          exc_tb: failure === undefined ? null : failure instanceof Error ? (failure.stack ?? null) : null,
          want_result: false,
        })
        .catch((e) => this.logger.warn(`event ${event} of ${uuid} not finished: ${(e as Error).message}`));
    }
    if (failure !== undefined) throw failure;
  }

  /** InstanceFault.create with what nova's exception_to_dict takes from the error. */
  private async recordFault(ctx: RequestContext, uuid: string, err: unknown): Promise<void> {
    const nova = err instanceof NovaException;
    const code = nova ? Number((err as NovaException).kwargs.code ?? 500) : err instanceof RemoteCallError ? Number(err.failure.kwargs?.code ?? 500) : 500;
    const message = (nova || err instanceof DomainError ? (err as Error).message : err instanceof Error ? err.name : String(err)).slice(0, 255);
    const fault = new NovaObject('InstanceFault', OBJECT_VERSIONS.InstanceFault, {});
    fault
      .set('host', this.options.host)
      .set('instance_uuid', uuid)
      .set('code', code)
      .set('message', message)
      .set('details', code === 500 && err instanceof Error ? (err.stack ?? err.message) : '');
    await this.conductor.objectAction(ctx, fault, 'create');
  }

  private save(ctx: RequestContext, instance: NovaObject, kwargs: Record<string, unknown> = {}): Promise<unknown> {
    return this.conductor.objectAction(ctx, instance, 'save', [], kwargs);
  }

  private async requireContainer(instance: NovaObject, name: string, allowMissing = false): Promise<void> {
    if (allowMissing || (await this.instances.exists(name))) return;
    throw new NovaException('InstanceNotFound', { instance_id: instance.str('uuid') });
  }

  private async powerOff(name: string, clean: boolean): Promise<void> {
    const status = this.instances.status(name);
    if (status === 'Stopped') return;
    if (status === 'Frozen') await this.instances.unfreeze(name);
    try {
      await this.instances.stop(name, clean ? { timeoutMs: this.options.shutdownTimeout * 1000 } : { force: true });
    } catch (err) {
      if (err instanceof ConflictError && this.instances.status(name) === 'Stopped') return;
      throw new NovaException('InstancePowerOffFailure', { reason: (err as Error).message }, { cause: err });
    }
  }

  private async reboot(name: string, hard: boolean): Promise<void> {
    const status = this.instances.status(name);
    if (status === 'Frozen') await this.instances.unfreeze(name);
    if (status === 'Stopped') {
      await this.instances.start(name);
      return;
    }
    await this.instances.restart(name, hard ? { force: true } : { timeoutMs: this.options.shutdownTimeout * 1000 });
  }

  /**
   * Stops (hard) and deletes the container made for this nova instance, and its config drive. A
   * missing container is fine; one of the same name that is not tagged with this uuid is not
   * ours and stays.
   */
  private async destroyContainer(name: string, uuid: string): Promise<void> {
    const row = await this.instances.get(name).catch((err) => {
      if (err instanceof NotFoundError) return null;
      throw err;
    });
    if (row) {
      if (row.config[NOVA_UUID_KEY] !== uuid) {
        this.logger.warn(`${name} is not the container of nova instance ${uuid}: left alone`);
        return;
      }
      if (this.instances.status(name) === 'Frozen') await this.instances.unfreeze(name).catch(() => undefined);
      if (this.instances.status(name) !== 'Stopped') {
        await this.instances.stop(name, { force: true }).catch((err) => {
          if (!(err instanceof ConflictError)) throw err;
        });
      }
      await this.instances.delete(name);
    }
    rmSync(this.configDriveDir(name), { recursive: true, force: true });
  }

  private powerState(name: string, vmState: string | null): PowerStateCode {
    return powerStateOf(this.instances.status(name), vmState);
  }

  private configDriveDir(name: string): string {
    return join(this.options.stateDir, 'nova', 'config-drives', name);
  }

  private nodeFor(args: BuildArgs): string {
    return typeof args.node === 'string' && args.node ? args.node : this.options.node;
  }
}

function readInstance(v: unknown): NovaObject {
  try {
    const instance = NovaObject.fromPrimitive(v, 'Instance');
    instance.str('uuid');
    return instance;
  } catch (err) {
    throw new NovaException('InvalidInput', { reason: (err as Error).message });
  }
}

function readObject(v: unknown, name: string): NovaObject {
  try {
    return NovaObject.fromPrimitive(v, name);
  } catch (err) {
    throw new NovaException('InvalidInput', { reason: (err as Error).message });
  }
}

function isRemote(err: unknown, ...classes: string[]): boolean {
  return err instanceof RemoteCallError && classes.includes(err.remoteClass ?? '');
}

