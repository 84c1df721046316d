/**
 * The host system as api.ResourcesSystem: identity from DMI (/sys/class/dmi/id; empty strings on
 * machines without DMI, e.g. some VMs and arm boards), and whether this is a physical machine, a
 * virtual machine or a container. The nested objects are always present: clients dereference them.
 */
import { join } from 'node:path';
import type { ResourcesSystem } from './resources.types';
import { readText } from './sysfs';

/** SMBIOS chassis types (DMI "chassis_type" numbers) by name, as the specification lists them. */
const CHASSIS_TYPES: readonly string[] = [
  '', 'Other', 'Unknown', 'Desktop', 'Low Profile Desktop', 'Pizza Box', 'Mini Tower', 'Tower', 'Portable', 'Laptop',
  'Notebook', 'Hand Held', 'Docking Station', 'All in One', 'Sub Notebook', 'Space-saving', 'Lunch Box',
  'Main Server Chassis', 'Expansion Chassis', 'SubChassis', 'Bus Expansion Chassis', 'Peripheral Chassis', 'RAID Chassis',
  'Rack Mount Chassis', 'Sealed-case PC', 'Multi-system chassis', 'Compact PCI', 'Advanced TCA', 'Blade', 'Blade Enclosure',
  'Tablet', 'Convertible', 'Detachable', 'IoT Gateway', 'Embedded PC', 'Mini PC', 'Stick PC',
];

export function chassisTypeName(value: string): string {
  return /^\d+$/.test(value) ? (CHASSIS_TYPES[Number(value)] ?? 'Unknown') : value;
}

/**
 * container: init's environment or systemd says so; virtual-machine: the CPU reports the
 * hypervisor flag; physical otherwise; unknown when /proc/cpuinfo cannot be read.
 */
export function systemType(o: { initEnviron?: string; systemdContainer?: string; cpuinfo?: string }): string {
  if (o.systemdContainer || (o.initEnviron ?? '').split('\0').some((e) => /^container=./.test(e))) return 'container';
  if (o.cpuinfo === undefined) return 'unknown';
  if (/^(flags|Features)\s*:.*\bhypervisor\b/m.test(o.cpuinfo)) return 'virtual-machine';
  return 'physical';
}

export async function readSystemResources(root = '/'): Promise<ResourcesSystem> {
  const dmiDir = join(root, 'sys/class/dmi/id');
  const dmi = async (file: string) => (await readText(join(dmiDir, file))) ?? '';
  return {
    uuid: await dmi('product_uuid'),
    vendor: await dmi('sys_vendor'),
    product: await dmi('product_name'),
    family: await dmi('product_family'),
    version: await dmi('product_version'),
    sku: await dmi('product_sku'),
    serial: await dmi('product_serial'),
    type: systemType({
      initEnviron: await readText(join(root, 'proc/1/environ')),
      systemdContainer: await readText(join(root, 'run/systemd/container')),
      cpuinfo: await readText(join(root, 'proc/cpuinfo')),
    }),
    firmware: { vendor: await dmi('bios_vendor'), date: await dmi('bios_date'), version: await dmi('bios_version') },
    chassis: {
      vendor: await dmi('chassis_vendor'),
      type: chassisTypeName(await dmi('chassis_type')),
      serial: await dmi('chassis_serial'),
      version: await dmi('chassis_version'),
    },
    motherboard: {
      vendor: await dmi('board_vendor'),
      product: await dmi('board_name'),
      serial: await dmi('board_serial'),
      version: await dmi('board_version'),
    },
  };
}
