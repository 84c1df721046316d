/**
 * The host's disks as api.ResourcesStorage, from /sys/class/block: whole disks backed by a device
 * (loop, zram, device-mapper and other virtual block devices have none and are left out, as in
 * LXD), each with its partitions. Sizes in sysfs count 512-byte sectors whatever the block size.
 */
import { realpath } from 'node:fs/promises';
import { join } from 'node:path';
import type { ResourcesStorageDisk, ResourcesStorageDiskPartition } from './resources.types';
import { listDir, readLink, readText, readUint } from './sysfs';

const SECTOR = 512;

/** The PCI address nearest the disk on its sysfs device path ("/sys/devices/pci0000:00/0000:00:02.0/virtio1"). */
export function pciAddressOf(devicePath: string | undefined): string | undefined {
  const all = (devicePath ?? '').match(/[0-9a-f]{4}:[0-9a-f]{2}:[0-9a-f]{2}\.[0-9a-f]/g);
  return all ? all[all.length - 1] : undefined;
}

/** The disk's bus as LXD names it: nvme, virtio, scsi, mmc, usb... (from the device's subsystem). */
export function diskType(name: string, subsystem: string | undefined, devicePath: string | undefined): string | undefined {
  if (name.startsWith('nvme')) return 'nvme';
  if (devicePath?.includes('/usb')) return 'usb';
  const bus = subsystem?.split('/').pop();
  return bus || undefined;
}

export async function readDiskResources(root = '/'): Promise<{ disks: ResourcesStorageDisk[]; total: number }> {
  const classDir = join(root, 'sys/class/block');
  const disks: ResourcesStorageDisk[] = [];
  for (const name of (await listDir(classDir)).sort()) {
    const dir = join(classDir, name);
    // partitions are listed under their disk; devices without a backing device are virtual
    if ((await readText(join(dir, 'partition'))) !== undefined) continue;
    if ((await readLink(join(dir, 'device'))) === undefined) continue;
    disks.push(await readDisk(dir, name));
  }
  return { disks, total: disks.length };
}

async function readDisk(dir: string, name: string): Promise<ResourcesStorageDisk> {
  const device = join(dir, 'device');
  const devicePath = await realDevicePath(dir);
  const numa = await readUint(join(device, 'numa_node'));
  const disk: ResourcesStorageDisk = {
    id: name,
    device: (await readText(join(dir, 'dev'))) ?? '',
    read_only: (await readText(join(dir, 'ro'))) === '1',
    size: ((await readUint(join(dir, 'size'))) ?? 0) * SECTOR,
    removable: (await readText(join(dir, 'removable'))) === '1',
    numa_node: numa ?? 0,
    block_size: (await readUint(join(dir, 'queue', 'logical_block_size'))) ?? 0,
    // only udev knows the rotation rate; 0 is LXD's "unknown or solid state"
    rpm: 0,
    device_id: '',
    partitions: await readPartitions(dir, name),
  };
  const optional: Array<[keyof ResourcesStorageDisk, string | undefined]> = [
    ['model', await readText(join(device, 'model'))],
    ['type', diskType(name, await readLink(join(device, 'subsystem')), devicePath)],
    ['wwn', (await readText(join(dir, 'wwid'))) ?? (await readText(join(device, 'wwid')))],
    ['firmware_version', (await readText(join(device, 'firmware_rev'))) ?? (await readText(join(device, 'rev')))],
    ['serial', (await readText(join(device, 'serial'))) ?? (await readText(join(dir, 'serial')))],
    ['pci_address', pciAddressOf(devicePath)],
  ];
  for (const [key, value] of optional) if (value) (disk as unknown as Record<string, unknown>)[key] = value;
  return disk;
}

async function readPartitions(dir: string, disk: string): Promise<ResourcesStorageDiskPartition[]> {
  const parts: ResourcesStorageDiskPartition[] = [];
  for (const entry of await listDir(dir)) {
    if (!entry.startsWith(disk)) continue;
    const number = await readUint(join(dir, entry, 'partition'));
    if (number === undefined) continue;
    parts.push({
      id: entry,
      device: (await readText(join(dir, entry, 'dev'))) ?? '',
      read_only: (await readText(join(dir, entry, 'ro'))) === '1',
      size: ((await readUint(join(dir, entry, 'size'))) ?? 0) * SECTOR,
      partition: number,
    });
  }
  return parts.sort((a, b) => a.partition - b.partition);
}

/** The resolved /sys/devices path of the disk's device (its bus path holds the PCI address). */
async function realDevicePath(dir: string): Promise<string | undefined> {
  try {
    return await realpath(join(dir, 'device'));
  } catch {
    return undefined;
  }
}
