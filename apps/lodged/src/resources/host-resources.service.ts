/**
 * What the host offers (GET /1.0/resources) and what a storage pool has left
 * (GET /1.0/storage-pools/{name}/resources), read fresh on every request: both change over time.
 */
import { statfs } from 'node:fs/promises';
import { Inject, Injectable } from '@nestjs/common';
import { STORAGE_POOLS, StoragePools } from '@lodge/instance';
import { readCpuResources } from './cpu';
import { readDiskResources } from './disks';
import { readMemoryResources } from './memory';
import type { Resources, StoragePoolResources } from './resources.types';
import { readSystemResources } from './system';

@Injectable()
export class HostResourcesService {
  constructor(@Inject(STORAGE_POOLS) private readonly pools: StoragePools) {}

  async host(): Promise<Resources> {
    const [cpu, memory, storage, system] = await Promise.all([
      readCpuResources(),
      readMemoryResources(),
      readDiskResources(),
      readSystemResources(),
    ]);
    return {
      cpu,
      memory,
      gpu: { cards: [], total: 0 },
      network: { cards: [], total: 0 },
      storage,
      usb: { devices: [], total: 0 },
      pci: { devices: [], total: 0 },
      system,
    };
  }

  /** Space and inodes of the filesystem holding the pool (NotFoundError for an unknown pool). */
  async pool(name: string): Promise<StoragePoolResources> {
    const s = await statfs(this.pools.get(name).path);
    return {
      space: { used: (s.blocks - s.bfree) * s.bsize, total: s.blocks * s.bsize },
      inodes: { used: s.files - s.ffree, total: s.files },
    };
  }
}
