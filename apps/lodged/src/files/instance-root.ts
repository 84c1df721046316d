/**
 * Where an instance's files are reached from, running or stopped, with the id shift that goes
 * with that view:
 * - running: /proc/<init pid>/root, the root of the container's own mount namespace (its overlay
 *   and every mount inside it, owners as the kernel stores them: shifted);
 * - stopped: the volume mounted on the host for the duration of the call (the image layer
 *   unshifted, the instance's own layer shifted; see IdShift).
 */
import { Inject, Injectable } from '@nestjs/common';
import { ConflictError } from '@lodge/common';
import { InstancesService, STORAGE_POOLS, StoragePools } from '@lodge/instance';
import { Container, RuntimeService } from '@lodge/runtime';
import { IdmapRepository } from '@lodge/state';
import { ConfinedRoot } from './confined-root';
import { IdShift } from './id-shift';

export interface InstanceRoot {
  root: ConfinedRoot;
  ids: IdShift;
  /**
   * The volume is mounted on the host (the instance is stopped): a write there copies the
   * entry's directories up from the image layer with their unshifted owners, which the running
   * instance would see as nobody's, so they are shifted after each write.
   */
  hostView: boolean;
}

@Injectable()
export class InstanceRoots {
  /** Calls holding a stopped instance's volume mounted, per instance: the last one unmounts. */
  private readonly holders = new Map<string, number>();

  constructor(
    private readonly instances: InstancesService,
    private readonly runtime: RuntimeService,
    private readonly idmaps: IdmapRepository,
    @Inject(STORAGE_POOLS) private readonly pools: StoragePools,
  ) {}

  /** Runs `use` with the instance's root; everything opened or mounted for it is released after. */
  async with<T>(name: string, use: (r: InstanceRoot) => Promise<T>): Promise<T> {
    const { row, expanded } = await this.instances.getExpanded(name);
    const running = this.runtime.get(name);
    if (running && isRunning(running)) {
      const root = ConfinedRoot.open(`/proc/${running.pid}/root`);
      try {
        // the pid was checked before the open: make sure it still is this container's init
        if (!isRunning(running)) throw new ConflictError('The instance stopped during the file operation');
        return await use({ root, ids: IdShift.ofProcess(running.pid), hostView: false });
      } finally {
        root.close();
      }
    }
    const pool = this.pools.get(row.storagePool ?? 'default');
    const ids = await this.stoppedIdShift(row.id, row.config, expanded.expanded_config);
    const path = await this.hold(name, () => pool.mountInstance(name));
    try {
      const root = ConfinedRoot.open(path);
      try {
        return await use({ root, ids, hostView: true });
      } finally {
        root.close();
      }
    } finally {
      await this.release(name, () => pool.unmountInstance(name));
    }
  }

  /** The map the instance runs with (as InstancesService starts it): none, its isolated range, or the default. */
  private async stoppedIdShift(id: number, own: Record<string, string>, cfg: Record<string, string>): Promise<IdShift> {
    if (cfg['security.privileged'] === 'true') return IdShift.identity();
    if (own['volatile.idmap.base']) {
      const alloc = await this.idmaps.get(id);
      return new IdShift([{ inside: 0, outside: alloc.hostUidBase, count: alloc.size }], [{ inside: 0, outside: alloc.hostGidBase, count: alloc.size }], 'as-is');
    }
    const { uidMap, gidMap } = this.runtime.defaultIdMaps();
    return new IdShift(uidMap, gidMap, 'as-is');
  }

  private async hold(name: string, mount: () => Promise<string>): Promise<string> {
    this.holders.set(name, (this.holders.get(name) ?? 0) + 1);
    try {
      return await mount();
    } catch (err) {
      await this.release(name, async () => undefined);
      throw err;
    }
  }

  private async release(name: string, unmount: () => Promise<void>): Promise<void> {
    const left = (this.holders.get(name) ?? 1) - 1;
    if (left > 0) {
      this.holders.set(name, left);
      return;
    }
    this.holders.delete(name);
    await unmount();
  }
}

/** Read afresh at each call: a container stops at any await. */
function isRunning(c: Container): boolean {
  return c.state !== 'stopped';
}
